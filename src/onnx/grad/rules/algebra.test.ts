import { describe, expect, it } from 'vitest';
import { gradientCheckOp, worst, type OpCase } from '../../../../test/teach/op-harness.ts';
import { Attr } from '../../node.ts';

const TOLERANCE = 1e-6;

function matMul(a: number[], b: number[], declared?: [string[], string[]]): OpCase {
  return {
    inputs: [
      { name: 'a', shape: a, declared: declared?.[0] },
      { name: 'b', shape: b, declared: declared?.[1] },
    ],
    build: (g) => [g.addNode({ opType: 'MatMul', inputs: ['a', 'b'] }).outputs[0]],
  };
}

function gemm(transA: number, transB: number, alpha: number, beta: number, c: number[] | null): OpCase {
  const [m, k, n] = [2, 3, 4];
  return {
    inputs: [
      { name: 'a', shape: transA ? [k, m] : [m, k] },
      { name: 'b', shape: transB ? [n, k] : [k, n] },
      ...(c ? [{ name: 'c', shape: c }] : []),
    ],
    build: (g) => [
      g.addNode({ opType: 'Gemm', inputs: c ? ['a', 'b', 'c'] : ['a', 'b'], attributes: { transA, transB, alpha: Attr.float(alpha), beta: Attr.float(beta) } }).outputs[0],
    ],
  };
}

describe('gradients of matrix products (float64, central differences)', () => {
  const cases: Record<string, OpCase> = {
    'MatMul [2,3,4] x [4,5] (a shared weight)': matMul([2, 3, 4], [4, 5]),
    'MatMul with broadcast batch [2,1,3,4] x [3,4,2]': matMul([2, 1, 3, 4], [3, 4, 2]),
    'MatMul with symbolic shapes': matMul([2, 3, 4], [4, 5], [['b', 's', 'h'], ['h', 'o']]),
    'MatMul vector x batch [4] x [2,4,3]': matMul([4], [2, 4, 3]),
    'MatMul batch x vector [2,3,4] x [4]': matMul([2, 3, 4], [4]),
    'MatMul vector x vector': matMul([4], [4]),
    'Gemm plain with bias row': gemm(0, 0, 1, 1, [4]),
    'Gemm transA, alpha 0.7, beta 1.5, full C': gemm(1, 0, 0.7, 1.5, [2, 4]),
    'Gemm transB, column C': gemm(0, 1, 1.2, 0.5, [2, 1]),
    'Gemm transA and transB, no C': gemm(1, 1, 2, 1, null),
  };
  for (const [name, c] of Object.entries(cases)) {
    it(name, async () => {
      expect(worst(await gradientCheckOp(c))).toBeLessThan(TOLERANCE);
    });
  }

  it('leaves a frozen weight without a gradient and still differentiates the activation', async () => {
    const c: OpCase = {
      inputs: [{ name: 'x', shape: [2, 3] }, { name: 'w', shape: [3, 4], initializer: true }],
      build: (g) => [g.addNode({ opType: 'MatMul', inputs: ['x', 'w'] }).outputs[0]],
    };
    const results = await gradientCheckOp(c);
    expect(Object.keys(results)).toEqual(['x']);
    expect(results.x.maxRelativeError).toBeLessThan(TOLERANCE);
  });
});
