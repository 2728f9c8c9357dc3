// Gradients of reductions and normalizations: ReduceSum/ReduceMean (axes as
// attribute or input, by opset), Softmax/LogSoftmax (whole-tail axes before
// opset 13), LayerNormalization and CumSum.
import { InternalError } from '../../../errors.ts';
import { dataTypeOf } from '../../tensor.ts';
import { GradientError, type FloatType, type GradEmitter } from '../emitter.ts';
import { normalize, reduceAxesInputSince } from '../facts.ts';
import type { GradContext, GradRule } from '../rule.ts';

function g(ctx: GradContext): string {
  const grad = ctx.grad(0);
  if (!grad) throw new InternalError(`${ctx.label}: no gradient reached its output.`);
  return grad;
}

/** Reduction axes as constants, 'all', or a runtime value name. */
type Axes = { kind: 'list'; axes: number[] } | { kind: 'all' } | { kind: 'none' } | { kind: 'runtime'; value: string };

function reductionAxes(ctx: GradContext): Axes {
  const node = ctx.node;
  const fromInput = ctx.emit.opset >= reduceAxesInputSince(node.opType);
  const noop = node.int('noop_with_empty_axes', 0) === 1;
  let axes: number[] | undefined;
  if (fromInput) {
    const name = ctx.input(1);
    if (!name) return noop ? { kind: 'none' } : { kind: 'all' };
    axes = ctx.emit.facts.constantInts(name);
    if (!axes) return { kind: 'runtime', value: name };
  } else {
    axes = node.hasAttribute('axes') ? node.ints('axes') : [];
  }
  if (axes.length === 0) return noop ? { kind: 'none' } : { kind: 'all' };
  return { kind: 'list', axes };
}

/** Spreads the reduced gradient back over the input's shape. */
function spread(ctx: GradContext, grad: string, axes: Axes): string {
  const e = ctx.emit;
  const x = ctx.input(0);
  if (axes.kind === 'none') return grad;
  let shaped = grad;
  if (ctx.node.int('keepdims', 1) === 0 && axes.kind !== 'all') {
    // Unsqueeze reads negative axes against the output rank, which is the input's rank here.
    shaped = e.unsqueeze(grad, axes.kind === 'list' ? axes.axes : axes.value);
  }
  const out = e.op('Expand', [shaped, e.shape(x)]);
  e.facts.set(out, e.of(x));
  return out;
}

const reduceSum: GradRule = (ctx) => [ctx.wants(0) ? spread(ctx, g(ctx), reductionAxes(ctx)) : undefined, undefined];

const reduceMean: GradRule = (ctx) => {
  if (!ctx.wants(0)) return [undefined, undefined];
  const e = ctx.emit;
  const x = ctx.input(0);
  const type = e.floatType(x);
  const axes = reductionAxes(ctx);
  const spreadGrad = spread(ctx, g(ctx), axes);
  if (axes.kind === 'none') return [spreadGrad, undefined];
  const count = reducedCount(e, x, axes, ctx.output(0), type);
  return [e.op('Div', [spreadGrad, count]), undefined];
};

/** How many elements each output of a reduction averaged, static when the shape tells. */
function reducedCount(e: GradEmitter, x: string, axes: Axes, y: string, type: FloatType): string {
  const shape = e.of(x).shape;
  if (shape && axes.kind !== 'runtime') {
    const picked =
      axes.kind === 'all' ? shape : axes.kind === 'list' ? axes.axes.map((a) => shape[normalize(a, shape.length)]) : [];
    if (picked.every((d) => typeof d === 'number'))
      return e.scalar(
        picked.reduce((p, q) => p * q, 1),
        type,
      );
  }
  const total = e.op('Cast', [e.op('Size', [x])], { to: dataTypeOf(type) });
  const kept = e.op('Cast', [e.op('Size', [y])], { to: dataTypeOf(type) });
  return e.op('Div', [total, kept]);
}

/** Axes a Softmax-like node normalizes over: its axis alone from opset 13, the whole tail before. */
function softmaxAxes(ctx: GradContext): number[] {
  const e = ctx.emit;
  if (e.opset >= 13) return [ctx.node.int('axis', -1)];
  const rank = e.rank(ctx.input(0), ctx.label);
  const axis = normalize(ctx.node.int('axis', 1), rank);
  return Array.from({ length: rank - axis }, (_, i) => axis + i);
}

const softmax: GradRule = (ctx) => {
  if (!ctx.wants(0)) return [undefined];
  const e = ctx.emit;
  const y = ctx.output(0);
  const grad = g(ctx);
  const dot = e.reduceSum(e.op('Mul', [grad, y]), softmaxAxes(ctx), true);
  return [e.op('Mul', [y, e.op('Sub', [grad, dot])])];
};

const logSoftmax: GradRule = (ctx) => {
  if (!ctx.wants(0)) return [undefined];
  const e = ctx.emit;
  const grad = g(ctx);
  const total = e.reduceSum(grad, softmaxAxes(ctx), true);
  return [e.op('Sub', [grad, e.op('Mul', [e.op('Exp', [ctx.output(0)]), total])])];
};

const layerNormalization: GradRule = (ctx) => {
  const e = ctx.emit;
  const node = ctx.node;
  if (ctx.grad(1) || ctx.grad(2))
    throw new GradientError(`${ctx.label}: gradients through its Mean or InvStdDev outputs are not supported.`);
  const x = ctx.input(0);
  const scale = ctx.input(1);
  const type = e.floatType(x);
  const rank = e.rank(x, ctx.label);
  const first = normalize(node.int('axis', -1), rank);
  const axes = Array.from({ length: rank - first }, (_, i) => first + i);
  const eps = node.float('epsilon', 1e-5);
  const grad = g(ctx);
  // Recompute the normalized input rather than keep the forward statistics.
  const centered = e.op('Sub', [x, e.reduceMean(x, axes, true)]);
  const variance = e.reduceMean(e.op('Mul', [centered, centered]), axes, true);
  const inverse = e.op('Reciprocal', [e.op('Sqrt', [e.op('Add', [variance, e.scalar(eps, type)])])]);
  const normalized = e.op('Mul', [centered, inverse]);
  const out: (string | undefined)[] = [undefined, undefined, undefined];
  if (ctx.wants(0)) {
    const gn = e.op('Mul', [grad, scale]);
    const meanG = e.reduceMean(gn, axes, true);
    const meanGN = e.reduceMean(e.op('Mul', [gn, normalized]), axes, true);
    out[0] = e.op('Mul', [inverse, e.op('Sub', [e.op('Sub', [gn, meanG]), e.op('Mul', [normalized, meanGN])])]);
  }
  if (ctx.wants(1)) out[1] = e.unbroadcast(e.op('Mul', [grad, normalized]), scale, ctx.output(0));
  if (ctx.wants(2)) out[2] = e.unbroadcast(grad, ctx.input(2), ctx.output(0));
  return out;
};

const cumSum: GradRule = (ctx) => {
  if (!ctx.wants(0)) return [undefined, undefined];
  const reverse = ctx.node.int('reverse', 0) === 1 ? 0 : 1;
  const exclusive = ctx.node.int('exclusive', 0);
  return [ctx.emit.op('CumSum', [g(ctx), ctx.input(1)], { reverse, exclusive }), undefined];
};

/** Rules of the reductions and normalizations. */
export const REDUCE_RULES: Readonly<Record<string, GradRule>> = {
  ReduceSum: reduceSum,
  ReduceMean: reduceMean,
  Softmax: softmax,
  LogSoftmax: logSoftmax,
  LayerNormalization: layerNormalization,
  CumSum: cumSum,
};
