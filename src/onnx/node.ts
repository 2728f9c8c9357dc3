// One node of a graph, read through typed accessors, and the attribute
// values the builder accepts when it creates nodes.
import { OperatorError } from '../errors.ts';
import {
  AttributeType,
  DAMAGED_MODEL_HINT,
  int64FromNumber,
  int64ToNumber,
  type AttributeProto,
  type GraphProto,
  type NodeProto,
  type TensorProto,
} from './proto.ts';

/** An attribute value with its ONNX type stated, for values whose JS type is ambiguous. */
export type TypedAttribute =
  | { kind: 'float'; value: number }
  | { kind: 'floats'; value: readonly number[] }
  | { kind: 'int'; value: number | bigint }
  | { kind: 'ints'; value: readonly (number | bigint)[] }
  | { kind: 'string'; value: string }
  | { kind: 'strings'; value: readonly string[] }
  | { kind: 'tensor'; value: TensorProto }
  | { kind: 'graph'; value: GraphProto | { toProto(): GraphProto } };

/**
 * What `addNode` takes as an attribute: integers become INT(S), other numbers
 * FLOAT(S), strings STRING(S). A float attribute whose value happens to be
 * whole (alpha = 1) must be written `Attr.float(1)`.
 */
export type AttributeInput = number | bigint | string | readonly number[] | readonly string[] | TypedAttribute;

/** Explicitly typed attribute values. */
export const Attr = {
  float: (value: number): TypedAttribute => ({ kind: 'float', value }),
  floats: (value: readonly number[]): TypedAttribute => ({ kind: 'floats', value }),
  int: (value: number | bigint): TypedAttribute => ({ kind: 'int', value }),
  ints: (value: readonly (number | bigint)[]): TypedAttribute => ({ kind: 'ints', value }),
  string: (value: string): TypedAttribute => ({ kind: 'string', value }),
  strings: (value: readonly string[]): TypedAttribute => ({ kind: 'strings', value }),
  tensor: (value: TensorProto): TypedAttribute => ({ kind: 'tensor', value }),
  graph: (value: GraphProto | { toProto(): GraphProto }): TypedAttribute => ({ kind: 'graph', value }),
};

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function isTyped(value: AttributeInput): value is TypedAttribute {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && 'kind' in value;
}

/** Builds an AttributeProto from a name and an `AttributeInput`. */
export function makeAttribute(name: string, input: AttributeInput): AttributeProto {
  const typed: TypedAttribute = isTyped(input)
    ? input
    : typeof input === 'bigint'
      ? { kind: 'int', value: input }
      : typeof input === 'number'
        ? Number.isInteger(input)
          ? { kind: 'int', value: input }
          : { kind: 'float', value: input }
        : typeof input === 'string'
          ? { kind: 'string', value: input }
          : input.length > 0 && typeof input[0] === 'string'
            ? { kind: 'strings', value: input as readonly string[] }
            : (input as readonly number[]).every((v) => Number.isInteger(v))
              ? { kind: 'ints', value: input as readonly number[] }
              : { kind: 'floats', value: input as readonly number[] };
  switch (typed.kind) {
    case 'float':
      return { name, type: AttributeType.FLOAT, f: typed.value };
    case 'floats':
      return { name, type: AttributeType.FLOATS, floats: [...typed.value] };
    case 'int':
      return { name, type: AttributeType.INT, i: int64FromNumber(typed.value) };
    case 'ints':
      return { name, type: AttributeType.INTS, ints: typed.value.map((v) => int64FromNumber(v)) };
    case 'string':
      return { name, type: AttributeType.STRING, s: encoder.encode(typed.value) };
    case 'strings':
      return { name, type: AttributeType.STRINGS, strings: typed.value.map((s) => encoder.encode(s)) };
    case 'tensor':
      return { name, type: AttributeType.TENSOR, t: typed.value };
    case 'graph': {
      const g = typed.value;
      return {
        name,
        type: AttributeType.GRAPH,
        g: 'toProto' in g && typeof g.toProto === 'function' ? g.toProto() : (g as GraphProto),
      };
    }
  }
}

/**
 * A node as the graph holds it. Reads go straight to the underlying
 * NodeProto, so a node loaded from a file is written back unchanged.
 */
export class OnnxNode {
  constructor(readonly proto: NodeProto) {}

  get name(): string {
    return this.proto.name ?? '';
  }
  get opType(): string {
    return this.proto.opType ?? '';
  }
  /** Operator domain; '' (and 'ai.onnx') is the standard domain. */
  get domain(): string {
    return this.proto.domain ?? '';
  }
  /** Input value names; '' marks an omitted optional input. */
  get inputs(): readonly string[] {
    return this.proto.input ?? [];
  }
  get outputs(): readonly string[] {
    return this.proto.output ?? [];
  }
  get attributeNames(): string[] {
    return (this.proto.attribute ?? []).map((a) => a.name ?? '');
  }
  attribute(name: string): AttributeProto | undefined {
    return (this.proto.attribute ?? []).find((a) => a.name === name);
  }
  hasAttribute(name: string): boolean {
    return this.attribute(name) !== undefined;
  }

  private required<T>(name: string, value: T | undefined, fallback: T | undefined, kind: string): T {
    if (value !== undefined) return value;
    if (fallback !== undefined) return fallback;
    // The operator's definition requires it: the file, not the code that reads it, is at fault.
    throw new OperatorError(`Node "${this.name}" (${this.opType}) has no ${kind} attribute "${name}".`, {
      hint: DAMAGED_MODEL_HINT,
    });
  }

  /** An INT attribute (int64 extremes come back as +-9.22e18). */
  int(name: string, fallback?: number): number {
    const a = this.attribute(name);
    return this.required(name, a ? int64ToNumber(a.i) : undefined, fallback, 'int');
  }
  ints(name: string, fallback?: number[]): number[] {
    const a = this.attribute(name);
    return this.required(name, a ? (a.ints ?? []).map((v) => int64ToNumber(v)) : undefined, fallback, 'ints');
  }
  float(name: string, fallback?: number): number {
    const a = this.attribute(name);
    return this.required(name, a ? (a.f ?? 0) : undefined, fallback, 'float');
  }
  floats(name: string, fallback?: number[]): number[] {
    const a = this.attribute(name);
    return this.required(name, a ? [...(a.floats ?? [])] : undefined, fallback, 'floats');
  }
  string(name: string, fallback?: string): string {
    const a = this.attribute(name);
    return this.required(name, a?.s ? decoder.decode(a.s) : a ? '' : undefined, fallback, 'string');
  }
  strings(name: string, fallback?: string[]): string[] {
    const a = this.attribute(name);
    return this.required(name, a ? (a.strings ?? []).map((s) => decoder.decode(s)) : undefined, fallback, 'strings');
  }
  tensor(name: string): TensorProto | undefined {
    return this.attribute(name)?.t ?? undefined;
  }
  /** The GraphProto of every GRAPH/GRAPHS attribute (If branches, Loop and Scan bodies). */
  graphAttributes(): { name: string; graph: GraphProto }[] {
    const out: { name: string; graph: GraphProto }[] = [];
    for (const a of this.proto.attribute ?? []) {
      if (a.type === AttributeType.GRAPH && a.g) out.push({ name: a.name ?? '', graph: a.g });
      if (a.type === AttributeType.GRAPHS) for (const g of a.graphs ?? []) out.push({ name: a.name ?? '', graph: g });
    }
    return out;
  }
}
