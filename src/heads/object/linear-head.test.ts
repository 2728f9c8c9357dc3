import { describe, expect, it } from 'vitest';
import { seededRandom, normal } from '../../random.ts';
import {
  cosineLearningRate,
  crossEntropy,
  initLinearLayer,
  LinearHeadOptimizer,
  type LinearLayer,
} from './linear-head.ts';

const SETTINGS = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01, gradientClipNorm: 0.1 };

function randomBatch(dims: number, n: number, seed: number): { features: Float32Array[]; labels: number[] } {
  const random = seededRandom(seed);
  const features = Array.from({ length: n }, () => Float32Array.from({ length: dims }, () => normal(random)));
  return { features, labels: Array.from({ length: n }, (_, i) => i % 2) };
}

function copy(layer: LinearLayer): LinearLayer {
  return { dims: layer.dims, weight: Float64Array.from(layer.weight), bias: Float64Array.from(layer.bias) };
}

/** PyTorch's AdamW and clip_grad_norm_ written out plainly over both rows, as the reference. */
function referenceStep(
  layer: LinearLayer,
  state: { m: Float64Array; v: Float64Array; t: number },
  features: Float32Array[],
  labels: number[],
  lr: number,
  settings = SETTINGS,
): void {
  const { weight: gw, bias: gb } = crossEntropy(layer, features, labels);
  const grads = [...gw, ...gb];
  const norm = Math.sqrt(grads.reduce((s, g) => s + g * g, 0));
  const clip = Math.min(1, settings.gradientClipNorm / (norm + 1e-6));
  const params = [layer.weight, layer.bias];
  state.t += 1;
  let k = 0;
  for (const p of params) {
    for (let i = 0; i < p.length; i++, k++) {
      const g = grads[k] * clip;
      p[i] *= 1 - lr * settings.weightDecay;
      state.m[k] = SETTINGS.beta1 * state.m[k] + (1 - SETTINGS.beta1) * g;
      state.v[k] = SETTINGS.beta2 * state.v[k] + (1 - SETTINGS.beta2) * g * g;
      const mHat = state.m[k] / (1 - SETTINGS.beta1 ** state.t);
      const vHat = state.v[k] / (1 - SETTINGS.beta2 ** state.t);
      p[i] -= (lr * mHat) / (Math.sqrt(vHat) + SETTINGS.epsilon);
    }
  }
}

describe('crossEntropy', () => {
  it('has the gradient that finite differences measure', () => {
    const dims = 7;
    const layer = initLinearLayer(dims, seededRandom(3));
    const { features, labels } = randomBatch(dims, 5, 4);
    const { weight, bias } = crossEntropy(layer, features, labels);
    const h = 1e-6;
    const numeric = (params: Float64Array, i: number) => {
      const saved = params[i];
      params[i] = saved + h;
      const up = crossEntropy(layer, features, labels).loss;
      params[i] = saved - h;
      const down = crossEntropy(layer, features, labels).loss;
      params[i] = saved;
      return (up - down) / (2 * h);
    };
    for (let i = 0; i < 2 * dims; i++) expect(weight[i]).toBeCloseTo(numeric(layer.weight, i), 6);
    for (let i = 0; i < 2; i++) expect(bias[i]).toBeCloseTo(numeric(layer.bias, i), 6);
  });

  it('is log 2 for a zero layer, whatever the labels', () => {
    const layer: LinearLayer = { dims: 3, weight: new Float64Array(6), bias: new Float64Array(2) };
    const { features, labels } = randomBatch(3, 4, 9);
    expect(crossEntropy(layer, features, labels).loss).toBeCloseTo(Math.LN2, 12);
  });
});

describe('LinearHeadOptimizer', () => {
  function trainBoth(settings: typeof SETTINGS): { fast: LinearLayer; reference: LinearLayer } {
    const dims = 12;
    const fast = initLinearLayer(dims, seededRandom(5));
    const reference = copy(fast);
    const optimizer = new LinearHeadOptimizer(fast, settings);
    const state = { m: new Float64Array(2 * dims + 2), v: new Float64Array(2 * dims + 2), t: 0 };
    for (let step = 0; step < 25; step++) {
      const { features, labels } = randomBatch(dims, 16, 100 + step);
      const lr = cosineLearningRate(step, 25, 1e-3, 5e-6);
      const loss = optimizer.step(features, labels, lr);
      expect(loss).toBeCloseTo(crossEntropy(reference, features, labels).loss, 10);
      referenceStep(reference, state, features, labels, lr, settings);
    }
    return { fast, reference };
  }

  it('takes the same steps as a plain two-row AdamW, with and without gradient clipping', () => {
    const clipped = trainBoth(SETTINGS);
    const free = trainBoth({ ...SETTINGS, gradientClipNorm: Infinity });
    for (const { fast, reference } of [clipped, free]) {
      for (let i = 0; i < fast.weight.length; i++) expect(fast.weight[i]).toBeCloseTo(reference.weight[i], 12);
      for (let i = 0; i < 2; i++) expect(fast.bias[i]).toBeCloseTo(reference.bias[i], 12);
    }
    // The clip acted: the clipped run ends elsewhere.
    const moved = clipped.fast.weight.some((w, i) => Math.abs(w - free.fast.weight[i]) > 1e-7);
    expect(moved).toBe(true);
  });

  it('keeps row 0 the mirror of row 1 when both start at zero (two-class symmetry)', () => {
    const layer: LinearLayer = { dims: 4, weight: new Float64Array(8), bias: new Float64Array(2) };
    const optimizer = new LinearHeadOptimizer(layer, SETTINGS);
    const { features, labels } = randomBatch(4, 16, 7);
    for (let step = 0; step < 10; step++) optimizer.step(features, labels, 1e-3);
    for (let i = 0; i < 4; i++) expect(layer.weight[i]).toBeCloseTo(-layer.weight[4 + i], 15);
    expect(Math.abs(layer.weight[4])).toBeGreaterThan(1e-4);
  });
});

describe('cosineLearningRate', () => {
  it('starts at the initial rate, passes the midpoint halfway and approaches the final rate', () => {
    expect(cosineLearningRate(0, 500, 1e-3, 5e-6)).toBeCloseTo(1e-3, 15);
    expect(cosineLearningRate(250, 500, 1e-3, 5e-6)).toBeCloseTo((1e-3 + 5e-6) / 2, 15);
    expect(cosineLearningRate(500, 500, 1e-3, 5e-6)).toBeCloseTo(5e-6, 15);
  });
});

describe('initLinearLayer', () => {
  it("draws from PyTorch's nn.Linear range +-1/sqrt(D) and repeats under a seed", () => {
    const a = initLinearLayer(64, seededRandom(1));
    const b = initLinearLayer(64, seededRandom(1));
    expect(Array.from(a.weight)).toEqual(Array.from(b.weight));
    for (const w of a.weight) expect(Math.abs(w)).toBeLessThanOrEqual(1 / 8);
    expect(Math.max(...a.weight.map(Math.abs))).toBeGreaterThan(0.1);
  });
});
