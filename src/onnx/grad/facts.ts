// What is statically known about each value of a graph: its element type and
// its shape as numbers, symbolic names or unknowns. Gradient rules need the
// element type (to make constants and zeros of the right kind) and the rank
// (to transpose, normalize axes and reduce broadcast axes without runtime
// shape arithmetic where the shapes already tell).
import type { OnnxGraph } from '../graph.ts';
import type { OnnxNode } from '../node.ts';
import { tensorDims, tensorToNumbers, elementTypeName, type ElementType } from '../tensor.ts';
import type { Dim } from '../types.ts';

/** One value's static type and shape; `shape` undefined means the rank is unknown. */
export interface ValueFacts {
  type: ElementType | undefined;
  shape: Dim[] | undefined;
}

const UNKNOWN: ValueFacts = { type: undefined, shape: undefined };

const SAME_AS_FIRST = new Set([
  'Neg',
  'Sqrt',
  'Exp',
  'Log',
  'Tanh',
  'Sigmoid',
  'Erf',
  'Reciprocal',
  'Abs',
  'Relu',
  'Sin',
  'Cos',
  'Identity',
  'Softmax',
  'LogSoftmax',
  'Trilu',
  'CumSum',
  'Floor',
  'Ceil',
  'Round',
  'Sign',
  'Clip',
  'LeakyRelu',
  'Gelu',
  'Dropout',
  'LayerNormalization',
  'SimplifiedLayerNormalization',
  'Softplus',
  'HardSigmoid',
  'Elu',
  'Selu',
]);
const BROADCAST_SAME_TYPE = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Mod', 'Sum', 'Mean']);
const BROADCAST_BOOL = new Set(['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or', 'Xor']);
const REDUCTIONS = new Set([
  'ReduceSum',
  'ReduceMean',
  'ReduceMax',
  'ReduceMin',
  'ReduceProd',
  'ReduceL2',
  'ReduceL1',
  'ReduceSumSquare',
  'ReduceLogSumExp',
]);
/** Reductions whose axes moved from an attribute to an input, with the opset of the move. */
const AXES_INPUT_SINCE: Readonly<Record<string, number>> = { ReduceSum: 13 };
const AXES_INPUT_SINCE_OTHER_REDUCE = 18;

/** Opset at which a reduction reads its axes from the second input. */
export function reduceAxesInputSince(opType: string): number {
  return AXES_INPUT_SINCE[opType] ?? AXES_INPUT_SINCE_OTHER_REDUCE;
}

/** Two dims that are certainly the same size. */
export function sameDim(a: Dim, b: Dim): boolean {
  return a !== null && a === b;
}

/** NumPy broadcasting of static shapes; unknown where it cannot be told. */
export function broadcastShapes(shapes: (Dim[] | undefined)[]): Dim[] | undefined {
  if (shapes.some((s) => s === undefined)) return undefined;
  const known = shapes as Dim[][];
  const rank = Math.max(0, ...known.map((s) => s.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const dims = known.map((s) => s[s.length - rank + i]).filter((d): d is Dim => d !== undefined);
    const notOne = dims.filter((d) => d !== 1);
    if (notOne.length === 0) out.push(1);
    else if (notOne.every((d) => sameDim(d, notOne[0]))) out.push(notOne[0]);
    else out.push(notOne.find((d) => typeof d === 'number') ?? null);
  }
  return out;
}

/**
 * Static facts about a graph's values, computed once in topological order and
 * extended as the gradient builder adds values.
 */
export class GraphFacts {
  private readonly facts = new Map<string, ValueFacts>();

  constructor(private readonly graph: OnnxGraph) {
    for (const info of [...graph.inputs, ...graph.outputs]) {
      this.facts.set(info.name, {
        type: asElementType(info.elementType),
        shape: info.shape ? [...info.shape] : undefined,
      });
    }
    for (const t of graph.initializers) {
      this.facts.set(t.name ?? '', { type: asElementType(elementTypeName(t.dataType)), shape: tensorDims(t) });
    }
    for (const v of graph.proto.valueInfo ?? []) {
      const info = graph.valueInfo(v.name ?? '');
      if (info)
        this.facts.set(info.name, {
          type: asElementType(info.elementType),
          shape: info.shape ? [...info.shape] : undefined,
        });
    }
    for (const node of graph.topologicalOrder()) this.inferNode(node);
  }

  /** Facts of a value (unknown when nothing is known). */
  of(name: string): ValueFacts {
    return this.facts.get(name) ?? UNKNOWN;
  }
  /** Rank of a value, or undefined. */
  rank(name: string): number | undefined {
    return this.of(name).shape?.length;
  }
  /** Records what the builder knows about a value it created. */
  set(name: string, facts: ValueFacts): void {
    this.facts.set(name, { type: facts.type, shape: facts.shape ? [...facts.shape] : undefined });
  }

  /** Integer values of an initializer or Constant output (small tensors such as axes and shapes). */
  constantInts(name: string | undefined): number[] | undefined {
    if (!name) return undefined;
    const init = this.graph.initializer(name);
    if (init) {
      try {
        return tensorToNumbers(init, undefined);
      } catch {
        return undefined;
      }
    }
    const producer = this.graph.producer(name);
    if (producer?.opType === 'Constant') {
      const t = producer.tensor('value');
      if (t) return tensorToNumbers(t);
      if (producer.hasAttribute('value_int')) return [producer.int('value_int')];
      if (producer.hasAttribute('value_ints')) return producer.ints('value_ints');
    }
    return undefined;
  }

  private put(name: string | undefined, facts: ValueFacts): void {
    if (name && !this.facts.has(name)) this.facts.set(name, facts);
  }

  /** Infers the outputs of a node added after construction (the gradient builder's own nodes). */
  learn(node: OnnxNode): void {
    this.inferNode(node);
  }

  private inferNode(node: OnnxNode): void {
    const out = node.outputs;
    const facts = this.inferOutputs(node);
    out.forEach((name, i) => this.put(name, facts[i] ?? UNKNOWN));
  }

  private inferOutputs(node: OnnxNode): ValueFacts[] {
    const input = (i: number) => this.of(node.inputs[i] ?? '');
    const x = input(0);
    const op = node.opType;
    if (SAME_AS_FIRST.has(op)) {
      if (op === 'LayerNormalization' || op === 'SimplifiedLayerNormalization') {
        const axis = node.int('axis', -1);
        const stats = x.shape ? x.shape.map((d, i) => (i >= normalize(axis, x.shape!.length) ? 1 : d)) : undefined;
        const statType: ElementType | undefined =
          node.hasAttribute('stash_type') && node.int('stash_type') === 1 ? 'float32' : x.type;
        return [x, { type: statType, shape: stats }, { type: statType, shape: stats }];
      }
      return [x, { type: 'bool', shape: x.shape }];
    }
    if (BROADCAST_SAME_TYPE.has(op))
      return [{ type: x.type, shape: broadcastShapes(node.inputs.map((_, i) => input(i).shape)) }];
    if (BROADCAST_BOOL.has(op))
      return [{ type: 'bool', shape: broadcastShapes(node.inputs.map((_, i) => input(i).shape)) }];
    if (REDUCTIONS.has(op)) return [{ type: x.type, shape: this.reducedShape(node, x.shape) }];
    switch (op) {
      case 'Not':
      case 'IsNaN':
      case 'IsInf':
        return [{ type: 'bool', shape: x.shape }];
      case 'Cast':
        return [{ type: asElementType(elementTypeName(node.int('to'))), shape: x.shape }];
      case 'CastLike':
        return [{ type: input(1).type, shape: x.shape }];
      case 'Where':
        return [{ type: input(1).type, shape: broadcastShapes([x.shape, input(1).shape, input(2).shape]) }];
      case 'Shape': {
        if (!x.shape) return [{ type: 'int64', shape: [null] }];
        const r = x.shape.length;
        const start = clampIndex(node.int('start', 0), r);
        const end = clampIndex(node.int('end', r), r);
        return [{ type: 'int64', shape: [Math.max(0, end - start)] }];
      }
      case 'Size':
        return [{ type: 'int64', shape: [] }];
      case 'MatMul':
        return [{ type: x.type, shape: matMulShape(x.shape, input(1).shape) }];
      // Integer arithmetic of quantized exports: int32 accumulators, uint8 codes with a float32 scale.
      case 'MatMulInteger':
        return [{ type: 'int32', shape: matMulShape(x.shape, input(1).shape) }];
      case 'ConvInteger':
        return [{ type: 'int32', shape: undefined }];
      case 'DynamicQuantizeLinear':
        return [
          { type: 'uint8', shape: x.shape },
          { type: 'float32', shape: [] },
          { type: 'uint8', shape: [] },
        ];
      case 'QuantizeLinear':
        return [{ type: input(2).type ?? 'uint8', shape: x.shape }];
      case 'DequantizeLinear':
        return [{ type: input(1).type, shape: x.shape }];
      case 'Gemm': {
        const a = x.shape;
        const b = input(1).shape;
        if (!a || !b || a.length !== 2 || b.length !== 2) return [{ type: x.type, shape: [null, null] }];
        return [{ type: x.type, shape: [node.int('transA', 0) ? a[1] : a[0], node.int('transB', 0) ? b[0] : b[1]] }];
      }
      case 'Transpose': {
        if (!x.shape) return [{ type: x.type, shape: undefined }];
        const perm = node.ints(
          'perm',
          x.shape.map((_, i) => x.shape!.length - 1 - i),
        );
        return [{ type: x.type, shape: perm.map((p) => x.shape![p]) }];
      }
      case 'Reshape':
        return [{ type: x.type, shape: this.reshapeShape(node, x.shape) }];
      case 'Flatten': {
        if (!x.shape) return [{ type: x.type, shape: [null, null] }];
        const axis = normalize(node.int('axis', 1), x.shape.length);
        return [{ type: x.type, shape: [product(x.shape.slice(0, axis)), product(x.shape.slice(axis))] }];
      }
      case 'Unsqueeze': {
        const axes = this.axesOf(node);
        if (!x.shape || !axes) return [{ type: x.type, shape: undefined }];
        const rank = x.shape.length + axes.length;
        const at = new Set(axes.map((a) => normalize(a, rank)));
        const rest = [...x.shape];
        return [
          { type: x.type, shape: Array.from({ length: rank }, (_, i) => (at.has(i) ? 1 : (rest.shift() as Dim))) },
        ];
      }
      case 'Squeeze': {
        const axes = this.axesOf(node);
        if (!x.shape) return [{ type: x.type, shape: undefined }];
        if (!axes)
          return [
            {
              type: x.type,
              shape: x.shape.every((d) => d !== null && typeof d !== 'string')
                ? x.shape.filter((d) => d !== 1)
                : undefined,
            },
          ];
        const at = new Set(axes.map((a) => normalize(a, x.shape!.length)));
        return [{ type: x.type, shape: x.shape.filter((_, i) => !at.has(i)) }];
      }
      case 'Concat': {
        const shapes = node.inputs.map((_, i) => input(i).shape);
        const first = shapes.find((s) => s !== undefined);
        if (!first) return [{ type: x.type, shape: undefined }];
        const axis = normalize(node.int('axis'), first.length);
        const sizes = shapes.map((s) => s?.[axis]);
        const total = sizes.every((d) => typeof d === 'number') ? sizes.reduce((a, b) => a + b, 0) : null;
        return [{ type: x.type, shape: first.map((d, i) => (i === axis ? total : d)) }];
      }
      case 'Split': {
        if (!x.shape) return node.outputs.map(() => ({ type: x.type, shape: undefined }));
        const axis = normalize(node.int('axis', 0), x.shape.length);
        const sizes = node.hasAttribute('split') ? node.ints('split') : this.constantInts(node.inputs[1]);
        return node.outputs.map((_, i) => ({
          type: x.type,
          shape: x.shape!.map((d, k) => (k === axis ? (sizes?.[i] ?? null) : d)),
        }));
      }
      case 'Slice': {
        if (!x.shape) return [{ type: x.type, shape: undefined }];
        const axes = this.constantInts(node.inputs[3]) ?? this.constantInts(node.inputs[1])?.map((_, i) => i);
        if (!axes) return [{ type: x.type, shape: x.shape.map(() => null) }];
        const at = new Set(axes.map((a) => normalize(a, x.shape!.length)));
        return [{ type: x.type, shape: x.shape.map((d, i) => (at.has(i) ? null : d)) }];
      }
      case 'Expand': {
        const target = this.constantInts(node.inputs[1]);
        if (target) return [{ type: x.type, shape: broadcastShapes([x.shape, target]) }];
        const length = input(1).shape?.[0];
        if (x.shape && typeof length === 'number')
          return [{ type: x.type, shape: Array.from({ length: Math.max(length, x.shape.length) }, () => null) }];
        return [{ type: x.type, shape: undefined }];
      }
      case 'Gather': {
        const indices = input(1).shape;
        if (!x.shape || !indices) return [{ type: x.type, shape: undefined }];
        const axis = normalize(node.int('axis', 0), x.shape.length);
        return [{ type: x.type, shape: [...x.shape.slice(0, axis), ...indices, ...x.shape.slice(axis + 1)] }];
      }
      case 'GatherElements':
        return [{ type: x.type, shape: input(1).shape }];
      case 'ScatterElements':
      case 'ScatterND':
        return [x];
      case 'ConstantOfShape': {
        const value = node.tensor('value');
        const type: ElementType = value ? (asElementType(elementTypeName(value.dataType)) ?? 'float32') : 'float32';
        const dims = this.constantInts(node.inputs[0]);
        const length = x.shape?.[0];
        return [{ type, shape: dims ?? (typeof length === 'number' ? Array.from({ length }, () => null) : undefined) }];
      }
      case 'Constant': {
        const t = node.tensor('value');
        if (t) return [{ type: asElementType(elementTypeName(t.dataType)), shape: tensorDims(t) }];
        if (node.hasAttribute('value_float')) return [{ type: 'float32', shape: [] }];
        if (node.hasAttribute('value_floats'))
          return [{ type: 'float32', shape: [node.floats('value_floats').length] }];
        if (node.hasAttribute('value_int')) return [{ type: 'int64', shape: [] }];
        if (node.hasAttribute('value_ints')) return [{ type: 'int64', shape: [node.ints('value_ints').length] }];
        return [UNKNOWN];
      }
      case 'Range':
        return [{ type: x.type, shape: [null] }];
      case 'NonZero':
        return [{ type: 'int64', shape: x.shape ? [x.shape.length, null] : [null, null] }];
      case 'ArgMax':
      case 'ArgMin': {
        const shape = this.reducedShapeFromAxes(x.shape, [node.int('axis', 0)], node.int('keepdims', 1) === 1);
        return [{ type: 'int64', shape }];
      }
      case 'OneHot':
        return [{ type: input(2).type, shape: undefined }];
      case 'Einsum':
        return [{ type: x.type, shape: undefined }];
      default:
        return node.outputs.map(() => UNKNOWN);
    }
  }

  private axesOf(node: OnnxNode): number[] | undefined {
    if (node.hasAttribute('axes')) return node.ints('axes');
    return this.constantInts(node.inputs[1]);
  }

  private reducedShape(node: OnnxNode, shape: Dim[] | undefined): Dim[] | undefined {
    const keep = node.int('keepdims', 1) === 1;
    const fromInput = node.inputs.length > 1 && node.inputs[1] !== '';
    const axes = fromInput ? this.constantInts(node.inputs[1]) : node.hasAttribute('axes') ? node.ints('axes') : [];
    if (fromInput && !axes) return shape && keep ? shape.map(() => null) : undefined;
    if (axes && axes.length === 0 && node.int('noop_with_empty_axes', 0) === 1) return shape;
    return this.reducedShapeFromAxes(shape, axes ?? [], keep);
  }

  private reducedShapeFromAxes(shape: Dim[] | undefined, axes: number[], keep: boolean): Dim[] | undefined {
    if (!shape) return undefined;
    const at = new Set(axes.length === 0 ? shape.map((_, i) => i) : axes.map((a) => normalize(a, shape.length)));
    return keep ? shape.map((d, i) => (at.has(i) ? 1 : d)) : shape.filter((_, i) => !at.has(i));
  }

  private reshapeShape(node: OnnxNode, input: Dim[] | undefined): Dim[] | undefined {
    const target = this.constantInts(node.inputs[1]);
    if (!target) {
      const length = this.of(node.inputs[1] ?? '').shape?.[0];
      return typeof length === 'number' ? Array.from({ length }, () => null) : undefined;
    }
    const allowZero = node.int('allowzero', 0) === 1;
    const out: Dim[] = target.map((d, i) => (d === 0 && !allowZero ? (input?.[i] ?? null) : d === -1 ? null : d));
    const inferred = out.indexOf(null);
    if (inferred >= 0 && target[inferred] === -1 && input) {
      const total = product(input);
      const rest = product(out.filter((_, i) => i !== inferred));
      if (typeof total === 'number' && typeof rest === 'number' && rest > 0) out[inferred] = total / rest;
    }
    return out;
  }
}

/** An axis made non-negative for a given rank. */
export function normalize(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

function clampIndex(i: number, rank: number): number {
  const n = i < 0 ? i + rank : i;
  return Math.min(Math.max(n, 0), rank);
}

function product(dims: Dim[]): Dim {
  let n = 1;
  for (const d of dims) {
    if (typeof d !== 'number') return null;
    n *= d;
  }
  return n;
}

function asElementType(name: string | undefined): ElementType | undefined {
  if (!name || name === 'undefined' || name.startsWith('unknown')) return undefined;
  return name as ElementType;
}

function matMulShape(a: Dim[] | undefined, b: Dim[] | undefined): Dim[] | undefined {
  if (!a || !b) return undefined;
  if (a.length === 1 && b.length === 1) return [];
  if (a.length === 1) return [...b.slice(0, -2), b[b.length - 1]];
  if (b.length === 1) return a.slice(0, -1);
  const batch = broadcastShapes([a.slice(0, -2), b.slice(0, -2)]) ?? [];
  return [...batch, a[a.length - 2], b[b.length - 1]];
}
