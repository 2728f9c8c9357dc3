import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { addedFloatInitializers } from '../../../../test/support/optimized-model.ts';
import { gradientCheckOp, worst, type OpCase } from '../../../../test/teach/op-harness.ts';
import { normal, seededRandom } from '../../../random.ts';
import { OnnxModel } from '../../model.ts';
import { Attr } from '../../node.ts';
import { floatValues, fromFloat16Bits, makeFloatTensor, type FloatElementType } from '../../tensor.ts';
import { buildGradientModel } from '../gradient-model.ts';

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
      g.addNode({
        opType: 'Gemm',
        inputs: c ? ['a', 'b', 'c'] : ['a', 'b'],
        attributes: { transA, transB, alpha: Attr.float(alpha), beta: Attr.float(beta) },
      }).outputs[0],
    ],
  };
}

describe('gradients of matrix products (float64, central differences)', () => {
  const cases: Record<string, OpCase> = {
    'MatMul [2,3,4] x [4,5] (a shared weight)': matMul([2, 3, 4], [4, 5]),
    'MatMul with broadcast batch [2,1,3,4] x [3,4,2]': matMul([2, 1, 3, 4], [3, 4, 2]),
    'MatMul with symbolic shapes': matMul(
      [2, 3, 4],
      [4, 5],
      [
        ['b', 's', 'h'],
        ['h', 'o'],
      ],
    ),
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
      inputs: [
        { name: 'x', shape: [2, 3] },
        { name: 'w', shape: [3, 4], initializer: true },
      ],
      build: (g) => [g.addNode({ opType: 'MatMul', inputs: ['x', 'w'] }).outputs[0]],
    };
    const results = await gradientCheckOp(c);
    expect(Object.keys(results)).toEqual(['x']);
    expect(results.x.maxRelativeError).toBeLessThan(TOLERANCE);
  });
});

describe('gradient through a frozen weight (no transposed copy of it)', () => {
  it('matches central differences for a batched activation and a frozen weight (float64)', async () => {
    const c: OpCase = {
      inputs: [
        { name: 'x', shape: [2, 3, 4] },
        { name: 'w', shape: [4, 5], initializer: true },
      ],
      build: (g) => [g.addNode({ opType: 'MatMul', inputs: ['x', 'w'] }).outputs[0]],
    };
    expect(worst(await gradientCheckOp(c))).toBeLessThan(TOLERANCE);
  });

  it('matches central differences for a vector times a frozen weight (float64)', async () => {
    const c: OpCase = {
      inputs: [
        { name: 'x', shape: [4] },
        { name: 'w', shape: [4, 5], initializer: true },
      ],
      build: (g) => [g.addNode({ opType: 'MatMul', inputs: ['x', 'w'] }).outputs[0]],
    };
    expect(worst(await gradientCheckOp(c))).toBeLessThan(TOLERANCE);
  });

  it('matches central differences for Gemm with a frozen B, with and without transB', async () => {
    for (const transB of [0, 1]) {
      const c: OpCase = {
        inputs: [
          { name: 'a', shape: [2, 3] },
          { name: 'b', shape: transB ? [4, 3] : [3, 4], initializer: true },
        ],
        build: (g) => [
          g.addNode({ opType: 'Gemm', inputs: ['a', 'b'], attributes: { transB, alpha: Attr.float(0.7) } }).outputs[0],
        ],
      };
      expect(worst(await gradientCheckOp(c))).toBeLessThan(TOLERANCE);
    }
  });

  const [K, N] = [48, 40];
  /** x [2, 3, K] · W [K, N] in `type`, loss sum(y² R): the upstream gradient is a runtime value, as in a decoder. */
  function frozenProduct(type: FloatElementType) {
    const random = seededRandom(5);
    const model = OnnxModel.create({ opsets: { '': 14 } });
    const g = model.graph;
    g.addInput('x', type, [2, 3, K]);
    const w = Array.from({ length: K * N }, () => normal(random) / 8);
    const r = Array.from({ length: 2 * 3 * N }, () => normal(random));
    g.addTensor(makeFloatTensor('w', type, w, [K, N]));
    g.addNode({ opType: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] });
    g.addOutput('y', type, [2, 3, N]);
    const built = buildGradientModel(model, {
      wrt: ['x'],
      loss: (graph) => {
        graph.addTensor(makeFloatTensor('R', type, r, [2, 3, N]));
        const squared = graph.addNode({ opType: 'Mul', inputs: ['y', 'y'] }).outputs[0];
        const weighted = graph.addNode({ opType: 'Mul', inputs: [squared, 'R'] }).outputs[0];
        return graph.addNode({ opType: 'ReduceSum', inputs: [weighted], attributes: { keepdims: 0 } }).outputs[0];
      },
    });
    const x = Array.from({ length: 2 * 3 * K }, () => normal(random));
    // dx = (2 y R) · Wᵀ in float64, from the values as the model stores them.
    const round = (v: number[]) =>
      Array.from(floatValues(type, v) as ArrayLike<number>, (b) => (type === 'float16' ? fromFloat16Bits(b) : b));
    const [xs, ws, rs] = [round(x), round(w), round(r)];
    const expected = new Float64Array(2 * 3 * K);
    for (let row = 0; row < 6; row++) {
      for (let j = 0; j < N; j++) {
        let y = 0;
        for (let i = 0; i < K; i++) y += xs[row * K + i] * ws[i * N + j];
        const dy = 2 * y * rs[row * N + j];
        for (let i = 0; i < K; i++) expected[row * K + i] += dy * ws[i * N + j];
      }
    }
    return { model: built.model, gradient: built.gradients.x, x: floatValues(type, x), expected };
  }

  for (const [type, tolerance] of [
    ['float32', 1e-5],
    ['float64', 1e-12],
    ['float16', 1e-2],
  ] as const) {
    it(`keeps the ${type} weight the only copy of itself after ORT's optimization, and the gradient right`, async () => {
      const { model, gradient, x, expected } = frozenProduct(type);
      // A folded Transpose(W) would appear as a new [N, K] initializer.
      expect(await addedFloatInitializers(model, (K * N) / 2)).toEqual([]);
      const session = await ort.InferenceSession.create(model.toBytes(), {
        graphOptimizationLevel: 'all',
        logSeverityLevel: 3,
      });
      try {
        const out = await session.run({ x: new ort.Tensor(type, x as Float32Array, [2, 3, K]) });
        const raw = out[gradient].data as ArrayLike<number>;
        const got = Array.from(raw, (v) => (type === 'float16' ? fromFloat16Bits(v) : v));
        const scale = Math.max(...Array.from(expected, Math.abs));
        expect(Math.max(...got.map((v, i) => Math.abs(v - expected[i]))) / scale).toBeLessThan(tolerance);
      } finally {
        await session.release();
      }
    });
  }
});
