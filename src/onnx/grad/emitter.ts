// The vocabulary gradient rules are written in: ops emitted in the form the
// model's opset expects, constants of the right element type, zeros shaped
// like a value, and the reduction that undoes broadcasting. Everything it
// emits is standard ONNX, so the gradient graph runs wherever the model does.
import { OperatorError } from '../../errors.ts';
import type { OnnxGraph } from '../graph.ts';
import { Attr, type AttributeInput } from '../node.ts';
import { dataTypeOf, floatValues, int64Values, makeFloatTensor, makeTensor, type ElementType } from '../tensor.ts';
import { normalize, sameDim, type GraphFacts, type ValueFacts } from './facts.ts';

/** Floating element types a gradient can flow in. */
export type FloatType = 'float32' | 'float64' | 'float16' | 'bfloat16';

const FLOAT_TYPES = new Set<string>(['float32', 'float64', 'float16', 'bfloat16']);

/** True for element types gradients flow through. */
export function isFloatType(type: ElementType | undefined): type is FloatType {
  return type !== undefined && FLOAT_TYPES.has(type);
}

/**
 * Raised when an export's graph cannot be differentiated; the message names
 * the node and the reason. The export is what the code cannot handle, so it is
 * the operator's to change: the same model in another precision or from
 * another exporter usually has a graph teaching understands.
 */
export class GradientError extends OperatorError {
  override readonly name = 'GradientError';
  constructor(message: string) {
    super(message, {
      hint: 'Teach on another export of the model: another precision (MYVLM_VLM_DTYPE, fp32 is the safest) or another model (MYVLM_VLM).',
    });
  }
}

/** Emits backward-pass nodes into a graph, opset-aware and typed. */
export class GradEmitter {
  private readonly shapes = new Map<string, string>();
  private readonly constants = new Map<string, string>();

  constructor(
    readonly graph: OnnxGraph,
    readonly facts: GraphFacts,
  ) {}

  /** Standard-domain opset of the model being differentiated. */
  get opset(): number {
    return this.graph.opsetVersion('') ?? 17;
  }

  /** One node with one output; its facts are inferred on the spot. */
  op(
    opType: string,
    inputs: readonly (string | undefined)[],
    attributes: Record<string, AttributeInput | undefined> = {},
  ): string {
    return this.opMulti(opType, inputs, 1, attributes)[0];
  }

  /** One node with several outputs. */
  opMulti(
    opType: string,
    inputs: readonly (string | undefined)[],
    outputs: number,
    attributes: Record<string, AttributeInput | undefined> = {},
  ): string[] {
    const node = this.graph.addNode({ opType, inputs, attributes, outputs });
    this.facts.learn(node);
    return [...node.outputs];
  }

  /** Facts of a value. */
  of(name: string): ValueFacts {
    return this.facts.of(name);
  }

  /** Static rank of a value; throws (naming `why`) when unknown. */
  rank(name: string, why: string): number {
    const r = this.facts.rank(name);
    if (r === undefined)
      throw new GradientError(`Cannot differentiate ${why}: the rank of "${name}" is not known from the graph.`);
    return r;
  }

  /** Floating element type of a value that carries a gradient. */
  floatType(name: string): FloatType {
    const t = this.facts.of(name).type;
    if (!isFloatType(t))
      throw new GradientError(
        `Value "${name}" carries a gradient but its element type (${t ?? 'unknown'}) is not floating point.`,
      );
    return t;
  }

  // ---- constants ---------------------------------------------------------

  /** A scalar of a floating type (cached per type and value). */
  scalar(value: number, type: FloatType): string {
    const key = `${type}:${value}`;
    let name = this.constants.get(key);
    if (!name) {
      name = this.graph.constant(floatValues(type, [value]), [], { name: `/grad/const_${type}`, elementType: type });
      this.facts.set(name, { type, shape: [] });
      this.constants.set(key, name);
    }
    return name;
  }

  /** An int64 vector (or scalar with `dims` []) constant, cached. */
  ints(values: readonly (number | bigint)[], dims: readonly number[] = [values.length]): string {
    const key = `i64:${dims.join('x')}:${values.join(',')}`;
    let name = this.constants.get(key);
    if (!name) {
      name = this.graph.constant(int64Values(values), dims, { name: '/grad/const_int64' });
      this.facts.set(name, { type: 'int64', shape: [...dims] });
      this.constants.set(key, name);
    }
    return name;
  }

  /** The runtime shape of a value (one Shape node per value). */
  shape(value: string): string {
    let name = this.shapes.get(value);
    if (!name) {
      name = this.op('Shape', [value]);
      this.shapes.set(value, name);
    }
    return name;
  }

  /** Zeros with the shape and floating type of `like`. */
  zerosLike(like: string): string {
    const type = this.floatType(like);
    const value = makeFloatTensor('value', type, [0], [1]);
    const out = this.op('ConstantOfShape', [this.shape(like)], { value: Attr.tensor(value) });
    this.facts.set(out, this.of(like));
    return out;
  }

  /** `x` cast to the element type of `like` (a no-op when they already match). */
  castTo(x: string, type: ElementType): string {
    if (this.of(x).type === type) return x;
    return this.op('Cast', [x], { to: dataTypeOf(type) });
  }

  // ---- opset-aware forms -------------------------------------------------

  reduceSum(x: string, axes: readonly number[] | string, keepdims: boolean): string {
    const keep = keepdims ? 1 : 0;
    if (this.opset >= 13)
      return this.op('ReduceSum', [x, typeof axes === 'string' ? axes : this.ints(axes)], { keepdims: keep });
    if (typeof axes === 'string')
      throw new GradientError(
        `Reducing over axes computed at runtime needs opset 13 or later (the model has ${this.opset}).`,
      );
    return this.op('ReduceSum', [x], { axes: Attr.ints(axes), keepdims: keep });
  }

  reduceMean(x: string, axes: readonly number[], keepdims: boolean): string {
    const keep = keepdims ? 1 : 0;
    if (this.opset >= 18) return this.op('ReduceMean', [x, this.ints(axes)], { keepdims: keep });
    return this.op('ReduceMean', [x], { axes: Attr.ints(axes), keepdims: keep });
  }

  unsqueeze(x: string, axes: readonly number[] | string): string {
    if (this.opset >= 13) return this.op('Unsqueeze', [x, typeof axes === 'string' ? axes : this.ints(axes)]);
    if (typeof axes === 'string')
      throw new GradientError(`Unsqueeze over runtime axes needs opset 13 or later (the model has ${this.opset}).`);
    return this.op('Unsqueeze', [x], { axes: Attr.ints(axes) });
  }

  squeeze(x: string, axes: readonly number[]): string {
    if (this.opset >= 13) return this.op('Squeeze', [x, this.ints(axes)]);
    return this.op('Squeeze', [x], { axes: Attr.ints(axes) });
  }

  reshapeLike(x: string, like: string): string {
    const out = this.op('Reshape', [x, this.shape(like)]);
    this.facts.set(out, { type: this.of(x).type, shape: this.of(like).shape });
    return out;
  }

  transpose(x: string, perm: readonly number[]): string {
    return this.op('Transpose', [x], { perm: Attr.ints(perm) });
  }

  /** Swaps the last two axes of a value of rank >= 2. */
  transposeLastTwo(x: string, why: string): string {
    const r = this.rank(x, why);
    const perm = Array.from({ length: r }, (_, i) => i);
    [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
    return this.transpose(x, perm);
  }

  /** Adds gradient contributions (one Sum node for several). */
  sum(parts: readonly string[]): string {
    if (parts.length === 1) return parts[0];
    return this.op('Sum', parts);
  }

  // ---- broadcasting ------------------------------------------------------

  /**
   * Reduces `grad` (shaped like the broadcast result `result`) back to the
   * shape of `input`: sums over the axes that broadcasting stretched. Static
   * shapes decide the axes where they can; otherwise they are computed at
   * runtime from Shape ops.
   */
  unbroadcast(grad: string, input: string, result: string): string {
    const gs = this.of(result).shape;
    const xs = this.of(input).shape;
    if (gs && xs && xs.length <= gs.length) {
      const lead = gs.length - xs.length;
      const axes: number[] = Array.from({ length: lead }, (_, i) => i);
      let decided = true;
      for (let i = 0; i < xs.length; i++) {
        const xd = xs[i];
        const gd = gs[lead + i];
        if (sameDim(xd, gd)) continue;
        if (xd === 1) axes.push(lead + i);
        else if (typeof xd === 'number' || gd === 1) continue;
        else decided = false;
      }
      if (decided) {
        if (axes.length === 0) return grad;
        let out = this.reduceSum(grad, axes, true);
        if (lead > 0)
          out = this.squeeze(
            out,
            Array.from({ length: lead }, (_, i) => i),
          );
        this.facts.set(out, { type: this.of(grad).type, shape: xs });
        return out;
      }
    }
    return this.unbroadcastAtRuntime(grad, input, result);
  }

  private unbroadcastAtRuntime(grad: string, input: string, result: string): string {
    if (this.opset < 13)
      throw new GradientError(
        `Broadcasting whose axes are only known at runtime needs opset 13 or later to differentiate (the model has ${this.opset}).`,
      );
    const inputShape = this.shape(input);
    const resultShape = this.shape(result);
    const xr = this.facts.rank(input);
    const gr = this.facts.rank(result);
    let padded = inputShape;
    if (xr !== undefined && gr !== undefined) {
      if (gr > xr)
        padded = this.op('Concat', [this.ints(Array.from({ length: gr - xr }, () => 1)), inputShape], { axis: 0 });
    } else {
      const missing = this.op('Sub', [this.op('Size', [resultShape]), this.op('Size', [inputShape])]);
      const ones = this.op('ConstantOfShape', [this.unsqueeze(missing, [0])], {
        value: Attr.tensor(makeTensor('value', BigInt64Array.of(1n), [1])),
      });
      padded = this.op('Concat', [ones, inputShape], { axis: 0 });
    }
    const stretched = this.op('Not', [this.op('Equal', [padded, resultShape])]);
    const axes = this.op('Reshape', [this.op('NonZero', [stretched]), this.ints([-1])]);
    const summed = this.op('ReduceSum', [grad, axes], { keepdims: 1, noop_with_empty_axes: 1 });
    return this.reshapeLike(summed, input);
  }

  /** Axis normalized against a value's static rank. */
  axis(value: string, axis: number, why: string): number {
    return axis < 0 ? normalize(axis, this.rank(value, why)) : axis;
  }
}
