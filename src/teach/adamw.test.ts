import { describe, expect, it } from 'vitest';
import { EMBEDDING_TRAINING } from '../config/defaults.ts';
import { adamWStep, initialAdamWState } from './adamw.ts';

describe('AdamW with gradient clipping', () => {
  it('moves each coordinate by the learning rate against the gradient sign on the first step (bias-corrected Adam)', () => {
    const p = Float64Array.of(0.5, -0.25, 2);
    const state = initialAdamWState(3);
    adamWStep(p, [3, -0.001, 0.2], state, { learningRate: 0.1, weightDecay: 0, clipNorm: 0 });
    expect(p[0]).toBeCloseTo(0.4, 6);
    expect(p[1]).toBeCloseTo(-0.15, 5);
    expect(p[2]).toBeCloseTo(1.9, 6);
    expect(state.step).toBe(1);
  });

  it('matches PyTorch AdamW arithmetic over two steps, weight decay and clipping included', () => {
    const lr = 1.0;
    const wd = 1e-4;
    const clip = 0.05;
    const [b1, b2, eps] = [0.9, 0.999, 1e-8];
    const p = Float64Array.of(0.3, -0.4);
    const grads = [
      [0.3, 0.4],
      [-0.01, 0.02],
    ];
    // Reference computed independently, step by step as torch.nn.utils.clip_grad_norm_ + torch.optim.AdamW do.
    const ref = [0.3, -0.4];
    const m = [0, 0];
    const v = [0, 0];
    grads.forEach((g, t) => {
      const norm = Math.hypot(...g);
      const coef = norm > clip ? clip / (norm + 1e-6) : 1;
      for (let i = 0; i < 2; i++) {
        const gi = g[i] * coef;
        ref[i] *= 1 - lr * wd;
        m[i] = b1 * m[i] + (1 - b1) * gi;
        v[i] = b2 * v[i] + (1 - b2) * gi * gi;
        const denom = Math.sqrt(v[i]) / Math.sqrt(1 - b2 ** (t + 1)) + eps;
        ref[i] -= (lr / (1 - b1 ** (t + 1))) * (m[i] / denom);
      }
    });
    const state = initialAdamWState(2);
    const first = adamWStep(p, grads[0], state);
    expect(first).toEqual({ gradientNorm: 0.5, clipped: true });
    const second = adamWStep(p, grads[1], state);
    expect(second.clipped).toBe(false);
    expect(p[0]).toBeCloseTo(ref[0], 12);
    expect(p[1]).toBeCloseTo(ref[1], 12);
  });

  it('uses the paper defaults', () => {
    expect(EMBEDDING_TRAINING.learningRate).toBe(1);
    const p = Float64Array.of(1);
    adamWStep(p, [10], initialAdamWState(1));
    // decay 1 - 1e-4, then one full step of lr 1 against the gradient.
    expect(p[0]).toBeCloseTo(1 - 1e-4 - 1, 6);
  });

  it('refuses a gradient of the wrong size', () => {
    expect(() => adamWStep(new Float64Array(2), [1], initialAdamWState(2))).toThrow(RangeError);
  });
});
