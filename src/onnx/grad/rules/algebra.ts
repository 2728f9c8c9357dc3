// Gradients of matrix products: MatMul with NumPy batch broadcasting and the
// vector forms, and Gemm with its transposes, alpha and beta. A product with
// a frozen 2-D weight never transposes the weight (see frozen-weights.ts).
import { InternalError } from '../../../errors.ts';
import { Attr } from '../../node.ts';
import type { GradContext, GradRule } from '../rule.ts';
import { gradientThroughFrozenWeight, isFrozen } from './frozen-weights.ts';

function g(ctx: GradContext): string {
  const grad = ctx.grad(0);
  if (!grad) throw new InternalError(`${ctx.label}: no gradient reached its output.`);
  return grad;
}

const matMul: GradRule = (ctx) => {
  const e = ctx.emit;
  const a = ctx.input(0);
  const b = ctx.input(1);
  const ra = e.rank(a, ctx.label);
  const rb = e.rank(b, ctx.label);
  const grad = g(ctx);
  const out: (string | undefined)[] = [undefined, undefined];
  if (ra === 1 && rb === 1) {
    if (ctx.wants(0)) out[0] = e.op('Mul', [grad, b]);
    if (ctx.wants(1)) out[1] = e.op('Mul', [grad, a]);
    return out;
  }
  if (ra === 1) {
    // a [K] . b [..., K, N] -> [..., N]: treat a as a row [1, K].
    const row = e.unsqueeze(grad, [-2]); // [..., 1, N]
    if (ctx.wants(0) && rb === 2 && isFrozen(e, b)) out[0] = gradientThroughFrozenWeight(e, grad, b, a, ctx.label);
    else if (ctx.wants(0)) {
      const full = e.op('MatMul', [row, e.transposeLastTwo(b, ctx.label)]); // [..., 1, K]
      out[0] = e.reduceSum(
        full,
        Array.from({ length: rb - 1 }, (_, i) => i),
        false,
      );
    }
    if (ctx.wants(1)) {
      const full = e.op('MatMul', [e.unsqueeze(a, [1]), row]); // [..., K, N]
      out[1] = e.unbroadcast(full, b, full);
    }
    return out;
  }
  if (rb === 1) {
    // a [..., M, K] . b [K] -> [..., M]: treat b as a column [K, 1].
    const column = e.unsqueeze(grad, [-1]); // [..., M, 1]
    if (ctx.wants(0)) {
      const full = e.op('MatMul', [column, e.unsqueeze(b, [0])]); // [..., M, K]
      out[0] = e.unbroadcast(full, a, full);
    }
    if (ctx.wants(1)) {
      const full = e.op('MatMul', [e.transposeLastTwo(a, ctx.label), column]); // [..., K, 1]
      const axes = [...Array.from({ length: ra - 2 }, (_, i) => i), ra - 1];
      out[1] = e.reduceSum(full, axes, false);
    }
    return out;
  }
  if (ctx.wants(0)) {
    if (rb === 2 && isFrozen(e, b)) {
      // A weight: Transpose(W) would be folded into a transposed copy of every weight at session creation.
      out[0] = gradientThroughFrozenWeight(e, grad, b, a, ctx.label);
    } else {
      const full = e.op('MatMul', [grad, e.transposeLastTwo(b, ctx.label)]);
      out[0] = e.unbroadcast(full, a, full);
    }
  }
  if (ctx.wants(1)) {
    const full = e.op('MatMul', [e.transposeLastTwo(a, ctx.label), grad]);
    out[1] = e.unbroadcast(full, b, full);
  }
  return out;
};

const gemm: GradRule = (ctx) => {
  const e = ctx.emit;
  const node = ctx.node;
  const transA = node.int('transA', 0) === 1;
  const transB = node.int('transB', 0) === 1;
  const alpha = Attr.float(node.float('alpha', 1));
  const beta = node.float('beta', 1);
  const a = ctx.input(0);
  const b = ctx.input(1);
  const grad = g(ctx);
  const out: (string | undefined)[] = [undefined, undefined, undefined];
  // With A' = op(A), B' = op(B): dA' = alpha g B'^T and dB' = alpha A'^T g,
  // transposed back where the forward transposed.
  if (ctx.wants(0)) {
    if (transA) out[0] = e.op('Gemm', [b, grad], { transA: transB ? 1 : 0, transB: 1, alpha });
    else if (isFrozen(e, b)) {
      // dA = (B' gᵀ)ᵀ keeps a frozen B as the first operand, which ORT neither folds nor prepacks into a copy.
      out[0] = e.transpose(e.op('Gemm', [b, grad], { transA: transB ? 1 : 0, transB: 1, alpha }), [1, 0]);
    } else out[0] = e.op('Gemm', [grad, b], { transA: 0, transB: transB ? 0 : 1, alpha });
  }
  if (ctx.wants(1)) {
    out[1] = transB
      ? e.op('Gemm', [grad, a], { transA: 1, transB: transA ? 1 : 0, alpha })
      : e.op('Gemm', [a, grad], { transA: transA ? 0 : 1, transB: 0, alpha });
  }
  if (ctx.wants(2)) {
    const scaled = beta === 1 ? grad : e.op('Mul', [grad, e.scalar(beta, e.floatType(ctx.output(0)))]);
    out[2] = e.unbroadcast(scaled, ctx.input(2), ctx.output(0));
  }
  return out;
};

/** Rules of the matrix-product operators. */
export const ALGEBRA_RULES: Readonly<Record<string, GradRule>> = {
  MatMul: matMul,
  Gemm: gemm,
};
