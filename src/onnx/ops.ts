// Typed helpers for the standard operators, emitting the form the model's
// opset expects (Unsqueeze axes as an input from opset 13, Reduce* axes as
// an input from opset 18, ...). Each returns the name of its output value.
import { Attr } from './node.ts';
import type { OnnxGraph } from './graph.ts';
import { dataTypeOf, floatValues, int64Values, type ElementType, type FloatElementType } from './tensor.ts';

/** Per-call options: the node's name (default `<scope>/<OpType>`) and its output's name. */
export interface OpOptions {
  name?: string;
  output?: string;
}

/** Values passed as inputs: a value name, or numbers that become an int64 constant. */
export type IntsInput = string | readonly number[];

/** Op helpers bound to one graph. */
export class Ops {
  constructor(readonly graph: OnnxGraph) {}

  private get opset(): number {
    return this.graph.opsetVersion('') ?? 17;
  }

  /** Emits one node with one output. */
  node(
    opType: string,
    inputs: readonly (string | null | undefined)[],
    attributes: Parameters<OnnxGraph['addNode']>[0]['attributes'] = {},
    options: OpOptions = {},
  ): string {
    const node = this.graph.addNode({
      opType,
      inputs,
      attributes,
      name: options.name,
      outputs: options.output ? [options.output] : 1,
    });
    return node.outputs[0];
  }

  // ---- constants ---------------------------------------------------------

  /** An int64 constant (shapes, axes, indices). */
  int64s(values: readonly (number | bigint)[], dims: readonly number[] = [values.length]): string {
    return this.graph.constant(int64Values(values), dims);
  }
  /** An int64 scalar. */
  int64(value: number): string {
    return this.int64s([value], []);
  }
  /** A floating constant of the given element type. */
  floats(values: ArrayLike<number>, dims: readonly number[], type: FloatElementType): string {
    return this.graph.constant(floatValues(type, values), dims, { elementType: type });
  }
  /** A floating scalar. */
  scalar(value: number, type: FloatElementType): string {
    return this.floats([value], [], type);
  }
  private ints(input: IntsInput): string {
    return typeof input === 'string' ? input : this.int64s(input);
  }

  // ---- element-wise ------------------------------------------------------

  add(a: string, b: string, o?: OpOptions): string {
    return this.node('Add', [a, b], {}, o);
  }
  sub(a: string, b: string, o?: OpOptions): string {
    return this.node('Sub', [a, b], {}, o);
  }
  mul(a: string, b: string, o?: OpOptions): string {
    return this.node('Mul', [a, b], {}, o);
  }
  div(a: string, b: string, o?: OpOptions): string {
    return this.node('Div', [a, b], {}, o);
  }
  pow(a: string, b: string, o?: OpOptions): string {
    return this.node('Pow', [a, b], {}, o);
  }
  neg(x: string, o?: OpOptions): string {
    return this.node('Neg', [x], {}, o);
  }
  sqrt(x: string, o?: OpOptions): string {
    return this.node('Sqrt', [x], {}, o);
  }
  reciprocal(x: string, o?: OpOptions): string {
    return this.node('Reciprocal', [x], {}, o);
  }
  exp(x: string, o?: OpOptions): string {
    return this.node('Exp', [x], {}, o);
  }
  log(x: string, o?: OpOptions): string {
    return this.node('Log', [x], {}, o);
  }
  tanh(x: string, o?: OpOptions): string {
    return this.node('Tanh', [x], {}, o);
  }
  sigmoid(x: string, o?: OpOptions): string {
    return this.node('Sigmoid', [x], {}, o);
  }
  sin(x: string, o?: OpOptions): string {
    return this.node('Sin', [x], {}, o);
  }
  cos(x: string, o?: OpOptions): string {
    return this.node('Cos', [x], {}, o);
  }
  erf(x: string, o?: OpOptions): string {
    return this.node('Erf', [x], {}, o);
  }
  relu(x: string, o?: OpOptions): string {
    return this.node('Relu', [x], {}, o);
  }
  identity(x: string, o?: OpOptions): string {
    return this.node('Identity', [x], {}, o);
  }
  equal(a: string, b: string, o?: OpOptions): string {
    return this.node('Equal', [a, b], {}, o);
  }
  less(a: string, b: string, o?: OpOptions): string {
    return this.node('Less', [a, b], {}, o);
  }
  lessOrEqual(a: string, b: string, o?: OpOptions): string {
    return this.node('LessOrEqual', [a, b], {}, o);
  }
  and(a: string, b: string, o?: OpOptions): string {
    return this.node('And', [a, b], {}, o);
  }
  where(condition: string, a: string, b: string, o?: OpOptions): string {
    return this.node('Where', [condition, a, b], {}, o);
  }
  cast(x: string, to: ElementType, o?: OpOptions): string {
    return this.node('Cast', [x], { to: dataTypeOf(to) }, o);
  }

  // ---- linear algebra and normalization ------------------------------------

  matMul(a: string, b: string, o?: OpOptions): string {
    return this.node('MatMul', [a, b], {}, o);
  }
  /** Softmax over one axis (opset 13+: that axis alone). */
  softmax(x: string, axis = -1, o?: OpOptions): string {
    return this.node('Softmax', [x], { axis }, o);
  }
  /** LayerNormalization (opset 17) over the last `-axis` dimensions. */
  layerNormalization(x: string, scale: string, bias: string, epsilon: number, axis = -1, o?: OpOptions): string {
    return this.node('LayerNormalization', [x, scale, bias], { axis, epsilon: Attr.float(epsilon) }, o);
  }
  reduceMean(x: string, axes: readonly number[], keepdims = true, o?: OpOptions): string {
    if (this.opset >= 18) return this.node('ReduceMean', [x, this.int64s(axes)], { keepdims: keepdims ? 1 : 0 }, o);
    return this.node('ReduceMean', [x], { axes: Attr.ints(axes), keepdims: keepdims ? 1 : 0 }, o);
  }
  reduceSum(x: string, axes: readonly number[], keepdims = true, o?: OpOptions): string {
    if (this.opset >= 13) return this.node('ReduceSum', [x, this.int64s(axes)], { keepdims: keepdims ? 1 : 0 }, o);
    return this.node('ReduceSum', [x], { axes: Attr.ints(axes), keepdims: keepdims ? 1 : 0 }, o);
  }

  // ---- shapes ------------------------------------------------------------

  reshape(x: string, shape: IntsInput, o?: OpOptions): string {
    return this.node('Reshape', [x, this.ints(shape)], {}, o);
  }
  transpose(x: string, perm: readonly number[], o?: OpOptions): string {
    return this.node('Transpose', [x], { perm: Attr.ints(perm) }, o);
  }
  concat(inputs: readonly string[], axis: number, o?: OpOptions): string {
    return this.node('Concat', inputs, { axis }, o);
  }
  expand(x: string, shape: IntsInput, o?: OpOptions): string {
    return this.node('Expand', [x, this.ints(shape)], {}, o);
  }
  gather(x: string, indices: string, axis = 0, o?: OpOptions): string {
    return this.node('Gather', [x, indices], { axis }, o);
  }
  range(start: string, limit: string, delta: string, o?: OpOptions): string {
    return this.node('Range', [start, limit, delta], {}, o);
  }
  /** Shape of `x`, optionally only dims [start, end) (a Shape attribute from opset 15, a Slice before). */
  shape(x: string, start?: number, end?: number, o?: OpOptions): string {
    if (this.opset >= 15 || (start === undefined && end === undefined))
      return this.node('Shape', [x], { start, end }, o);
    return this.slice(this.node('Shape', [x]), [start ?? 0], [end ?? Number.MAX_SAFE_INTEGER], [0], o);
  }
  unsqueeze(x: string, axes: readonly number[], o?: OpOptions): string {
    if (this.opset >= 13) return this.node('Unsqueeze', [x, this.int64s(axes)], {}, o);
    return this.node('Unsqueeze', [x], { axes: Attr.ints(axes) }, o);
  }
  squeeze(x: string, axes: readonly number[], o?: OpOptions): string {
    if (this.opset >= 13) return this.node('Squeeze', [x, this.int64s(axes)], {}, o);
    return this.node('Squeeze', [x], { axes: Attr.ints(axes) }, o);
  }
  slice(x: string, starts: IntsInput, ends: IntsInput, axes: readonly number[], o?: OpOptions): string {
    return this.node('Slice', [x, this.ints(starts), this.ints(ends), this.int64s(axes)], {}, o);
  }
  /** Splits `x` along `axis` into pieces of the given sizes; returns one name per piece. */
  split(x: string, sizes: readonly number[], axis: number, o: Omit<OpOptions, 'output'> = {}): string[] {
    const inputs = this.opset >= 13 ? [x, this.int64s(sizes)] : [x];
    const attributes = this.opset >= 13 ? { axis } : { axis, split: Attr.ints(sizes) };
    return [
      ...this.graph.addNode({ opType: 'Split', inputs, attributes, name: o.name, outputs: sizes.length }).outputs,
    ];
  }
}
