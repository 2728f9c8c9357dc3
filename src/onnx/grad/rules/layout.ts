// Gradients of operators that move elements without changing them: reshapes,
// transposes, expansion, concatenation and splitting, slicing, gathering and
// triangular masks. Sizes come from Shape ops where the graph leaves them open.
import { InternalError } from '../../../errors.ts';
import { Attr } from '../../node.ts';
import { dataTypeOf, makeFloatTensor } from '../../tensor.ts';
import { GradientError, type GradEmitter } from '../emitter.ts';
import { normalize } from '../facts.ts';
import type { GradContext, GradRule } from '../rule.ts';

function g(ctx: GradContext): string {
  const grad = ctx.grad(0);
  if (!grad) throw new InternalError(`${ctx.label}: no gradient reached its output.`);
  return grad;
}

/** Reshape, Flatten, Squeeze and Unsqueeze keep the element order: reshape back. */
const reshapeBack: GradRule = (ctx) => [
  ctx.wants(0) ? ctx.emit.reshapeLike(g(ctx), ctx.input(0)) : undefined,
  undefined,
];

const transpose: GradRule = (ctx) => {
  if (!ctx.wants(0)) return [undefined];
  const e = ctx.emit;
  const rank = e.rank(ctx.input(0), ctx.label);
  const perm = ctx.node.ints(
    'perm',
    Array.from({ length: rank }, (_, i) => rank - 1 - i),
  );
  const inverse = new Array<number>(perm.length);
  perm.forEach((p, i) => (inverse[p] = i));
  return [e.transpose(g(ctx), inverse)];
};

const expand: GradRule = (ctx) => [
  ctx.wants(0) ? ctx.emit.unbroadcast(g(ctx), ctx.input(0), ctx.output(0)) : undefined,
  undefined,
];

/** A length-1 int64 vector holding dim `axis` of `value` (static when known). */
function dimOf(e: GradEmitter, value: string, axis: number): string {
  const d = e.of(value).shape?.[axis];
  if (typeof d === 'number') return e.ints([d]);
  return e.op('Gather', [e.shape(value), e.ints([axis])], { axis: 0 });
}

const concat: GradRule = (ctx) => {
  const e = ctx.emit;
  const inputs = ctx.node.inputs;
  const rank = e.rank(ctx.output(0), ctx.label);
  const axis = normalize(ctx.node.int('axis'), rank);
  const grad = g(ctx);
  const sizes = inputs.map((x) => e.of(x).shape?.[axis]);
  const out: (string | undefined)[] = inputs.map(() => undefined);
  if (sizes.every((d) => typeof d === 'number')) {
    let start = 0;
    inputs.forEach((_, i) => {
      const end = start + sizes[i];
      if (ctx.wants(i)) out[i] = e.op('Slice', [grad, e.ints([start]), e.ints([end]), e.ints([axis])]);
      start = end;
    });
    return out;
  }
  const lengths = e.op(
    'Concat',
    inputs.map((x) => dimOf(e, x, axis)),
    { axis: 0 },
  );
  const ends = e.op('CumSum', [lengths, e.ints([0], [])]);
  const starts = e.op('Sub', [ends, lengths]);
  inputs.forEach((_, i) => {
    if (!ctx.wants(i)) return;
    const at = e.ints([i]);
    const start = e.op('Gather', [starts, at], { axis: 0 });
    const end = e.op('Gather', [ends, at], { axis: 0 });
    out[i] = e.op('Slice', [grad, start, end, e.ints([axis])]);
  });
  return out;
};

const split: GradRule = (ctx) => {
  if (!ctx.wants(0)) return [undefined, undefined];
  const e = ctx.emit;
  const rank = e.rank(ctx.input(0), ctx.label);
  const axis = normalize(ctx.node.int('axis', 0), rank);
  const pieces = ctx.node.outputs.map((_, i) => ctx.gradOrZeros(i));
  return [e.op('Concat', pieces, { axis }), undefined];
};

/** An int64 1-D view of a slice parameter, element k (casting int32 parameters). */
function sliceParam(e: GradEmitter, value: string, k: number): string {
  const constant = e.facts.constantInts(value);
  if (constant) return e.ints([constant[k]]);
  const asInt64 = e.of(value).type === 'int64' ? value : e.op('Cast', [value], { to: dataTypeOf('int64') });
  return e.op('Gather', [asInt64, e.ints([k])], { axis: 0 });
}

/**
 * Slice: scatter the gradient into zeros, one sliced axis at a time (slices
 * along different axes commute). The indices an axis kept are found by
 * applying the same slice to 0..dim-1, so clamping, negative indices and
 * steps behave exactly as in the forward Slice.
 */
const slice: GradRule = (ctx) => {
  if (!ctx.wants(0)) return [undefined];
  const e = ctx.emit;
  const x = ctx.input(0);
  const rank = e.rank(x, ctx.label);
  const starts = ctx.input(1);
  const ends = ctx.input(2);
  const axesInput = ctx.input(3);
  const stepsInput = ctx.input(4);
  let axes: number[] | undefined;
  if (axesInput) axes = e.facts.constantInts(axesInput);
  else {
    const count = e.facts.constantInts(starts)?.length ?? e.of(starts).shape?.[0];
    if (typeof count === 'number') axes = Array.from({ length: count }, (_, i) => i);
  }
  if (!axes)
    throw new GradientError(
      `${ctx.label}: its axes are computed at runtime; only constant slice axes can be differentiated.`,
    );
  const type = e.floatType(x);
  const zero = makeFloatTensor('value', type, [0], [1]);
  let current = g(ctx);
  axes.forEach((rawAxis, k) => {
    const axis = normalize(rawAxis, rank);
    const dim = dimOf(e, x, axis);
    const everything = e.op('Range', [e.ints([0], []), e.squeeze(dim, [0]), e.ints([1], [])]);
    const kept = e.op('Slice', [
      everything,
      sliceParam(e, starts, k),
      sliceParam(e, ends, k),
      e.ints([0]),
      stepsInput ? sliceParam(e, stepsInput, k) : undefined,
    ]);
    const along = e.op('Reshape', [kept, e.ints(Array.from({ length: rank }, (_, i) => (i === axis ? -1 : 1)))]);
    const currentShape = e.shape(current);
    const indices = e.op('Expand', [along, currentShape]);
    const isAxis = e.graph.constant(
      Uint8Array.from({ length: rank }, (_, i) => (i === axis ? 1 : 0)),
      [rank],
      { name: '/grad/axis_mask', elementType: 'bool' },
    );
    const target = e.op('Where', [isAxis, dim, currentShape]);
    const zeros = e.op('ConstantOfShape', [target], { value: Attr.tensor(zero) });
    current = e.op('ScatterElements', [zeros, indices, current], { axis });
  });
  e.facts.set(current, e.of(x));
  return [current];
};

/**
 * Gather: a one-hot matrix product sums the gradient rows of repeated
 * indices (an embedding table gathered twice gets both contributions),
 * in standard ops at every opset.
 */
const gather: GradRule = (ctx) => {
  if (!ctx.wants(0)) return [undefined, undefined];
  const e = ctx.emit;
  const data = ctx.input(0);
  let indices = ctx.input(1);
  const type = e.floatType(data);
  const rank = e.rank(data, ctx.label);
  const indexRank = e.rank(indices, ctx.label);
  const axis = normalize(ctx.node.int('axis', 0), rank);
  const grad = g(ctx);
  if (e.of(indices).type !== 'int64') indices = e.op('Cast', [indices], { to: dataTypeOf('int64') });
  const size = dimOf(e, data, axis); // [1]
  const sizeScalar = e.squeeze(size, [0]);
  const zero = e.ints([0], []);
  const wrapped = e.op('Where', [e.op('Less', [indices, zero]), e.op('Add', [indices, sizeScalar]), indices]);
  const flatIndices = e.op('Reshape', [wrapped, e.ints([-1, 1])]); // [N, 1]
  const oneHot = e.op('Cast', [e.op('Equal', [flatIndices, e.op('Range', [zero, sizeScalar, e.ints([1], [])])])], {
    to: dataTypeOf(type),
  }); // [N, D]
  // Gradient laid out as [index dims..., dims before axis..., dims after axis...], flattened to [N, rest].
  const gradRank = rank - 1 + indexRank;
  const indexDims = Array.from({ length: indexRank }, (_, i) => axis + i);
  const before = Array.from({ length: axis }, (_, i) => i);
  const after = Array.from({ length: gradRank - axis - indexRank }, (_, i) => axis + indexRank + i);
  const gradPerm = [...indexDims, ...before, ...after];
  const moved = gradPerm.every((p, i) => p === i) ? grad : e.transpose(grad, gradPerm);
  const count = indexRank === 0 ? e.ints([1]) : e.op('Reshape', [e.op('Size', [indices]), e.ints([1])]);
  const rows = e.op('Reshape', [moved, e.op('Concat', [count, e.ints([-1])], { axis: 0 })]);
  const table = e.op('MatMul', [e.transpose(oneHot, [1, 0]), rows]); // [D, rest]
  // Back to data's layout: [D, before..., after...] then move D to `axis`.
  const dataPerm = [
    axis,
    ...Array.from({ length: axis }, (_, i) => i),
    ...Array.from({ length: rank - axis - 1 }, (_, i) => axis + 1 + i),
  ];
  const frontShape = e.op('Gather', [e.shape(data), e.ints(dataPerm)], { axis: 0 });
  const front = e.op('Reshape', [table, frontShape]);
  const inverse = new Array<number>(rank);
  dataPerm.forEach((p, i) => (inverse[p] = i));
  const out = inverse.every((p, i) => p === i) ? front : e.transpose(front, inverse);
  e.facts.set(out, e.of(data));
  return [out, undefined];
};

const gatherElements: GradRule = (ctx) => {
  if (!ctx.wants(0)) return [undefined, undefined];
  const e = ctx.emit;
  if (e.opset < 16)
    throw new GradientError(
      `${ctx.label}: GatherElements can be differentiated from opset 16 (ScatterElements with add); the model has ${e.opset}.`,
    );
  const zeros = e.zerosLike(ctx.input(0));
  const out = e.op('ScatterElements', [zeros, ctx.input(1), g(ctx)], {
    axis: ctx.node.int('axis', 0),
    reduction: 'add',
  });
  e.facts.set(out, e.of(ctx.input(0)));
  return [out, undefined];
};

const trilu: GradRule = (ctx) => {
  if (!ctx.wants(0)) return [undefined, undefined];
  return [ctx.emit.op('Trilu', [g(ctx), ctx.input(1) || undefined], { upper: ctx.node.int('upper', 1) }), undefined];
};

/** Rules of the layout operators. */
export const LAYOUT_RULES: Readonly<Record<string, GradRule>> = {
  Reshape: reshapeBack,
  Flatten: reshapeBack,
  Squeeze: reshapeBack,
  Unsqueeze: reshapeBack,
  Transpose: transpose,
  Expand: expand,
  Concat: concat,
  Split: split,
  Slice: slice,
  Gather: gather,
  GatherElements: gatherElements,
  Trilu: trilu,
};
