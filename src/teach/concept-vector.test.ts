import { describe, expect, it } from 'vitest';
import { referenceNorm, writeConceptRow } from '../vlm/injection.ts';
import { accumulateVectorGradient, initialConceptVector, l2Norm } from './concept-vector.ts';

describe('the concept vector', () => {
  it('starts unit-length with non-negative entries, the same for the same seed', () => {
    const a = initialConceptVector(32, 7);
    expect(l2Norm(a)).toBeCloseTo(1, 12);
    expect(Math.min(...a)).toBeGreaterThanOrEqual(0);
    expect(Array.from(initialConceptVector(32, 7))).toEqual(Array.from(a));
    expect(Array.from(initialConceptVector(32, 8))).not.toEqual(Array.from(a));
  });

  it('enters the model with the reference norm, whatever its own length', () => {
    const out = new Float32Array(6);
    writeConceptRow(Float64Array.of(3, 4, 0), 10, out, 3);
    expect(Array.from(out)).toEqual([0, 0, 0, 6, 8, 0]);
    expect(referenceNorm(out.subarray(3), 1, 3, 'first-image-token')).toBeCloseTo(10, 6);
    expect(() => writeConceptRow(new Float64Array(3), 1, out)).toThrow(RangeError);
  });

  it('carries the gradient back through normalization and scaling (central differences)', () => {
    const v = Float64Array.of(0.3, -1.2, 0.7, 2.0);
    const w = Float64Array.of(0.5, 0.1, -0.4, 0.9);
    const scale = 3.5;
    // loss(v) = sum(w * row^2) with row = scale * v / |v|; d loss / d row = 2 w row.
    const loss = (x: Float64Array) => {
      const row = new Float64Array(4);
      writeConceptRow(x, scale, row);
      return row.reduce((s, r, i) => s + w[i] * r * r, 0);
    };
    const row = new Float64Array(4);
    writeConceptRow(v, scale, row);
    const gradient = new Float64Array(4);
    accumulateVectorGradient(
      v,
      scale,
      row.map((r, i) => 2 * w[i] * r),
      gradient,
    );
    for (let i = 0; i < 4; i++) {
      const plus = v.slice();
      const minus = v.slice();
      plus[i] += 1e-6;
      minus[i] -= 1e-6;
      expect(gradient[i]).toBeCloseTo((loss(plus) - loss(minus)) / 2e-6, 6);
    }
    // Only the direction matters: the gradient is orthogonal to the vector.
    expect(gradient.reduce((s, g, i) => s + g * v[i], 0)).toBeCloseTo(0, 10);
  });
});
