import { describe, expect, it } from 'vitest';
import { appendConceptRows, conceptVectorProblem, referenceNorm, scaledConceptRow } from './injection.ts';

const norm = (values: ArrayLike<number>) => Math.sqrt(Array.from(values).reduce((s, v) => s + v * v, 0));

// Three image rows of width 4 with norms 5, 1 and 3.
const features = Float32Array.from([3, 4, 0, 0, 0, 0, 1, 0, 0, 0, 0, 3]);

describe('referenceNorm', () => {
  it('is the first image token for LLaVA and the mean image token for MiniGPT-v2', () => {
    expect(referenceNorm(features, 3, 4, 'first-image-token')).toBeCloseTo(5, 6);
    expect(referenceNorm(features, 3, 4, 'mean-image-token')).toBeCloseTo(3, 6);
  });
});

describe('appendConceptRows', () => {
  it('appends one row per concept, in order, each the stored direction at the reference norm', () => {
    const a = Float32Array.from([10, 0, 0, 0]);
    const b = Float32Array.from([0, 0.1, 0.1, 0]);
    const { features: out, norm: reference } = appendConceptRows(features, 3, 4, [a, b], 'first-image-token');
    expect(out).toBeInstanceOf(Float32Array);
    expect(out.length).toBe(5 * 4);
    expect(Array.from(out.subarray(0, 12))).toEqual(Array.from(features));
    expect(reference).toBeCloseTo(5, 6);
    expect(Array.from(out.subarray(12, 16))).toEqual([5, 0, 0, 0]);
    expect(norm(out.subarray(16, 20))).toBeCloseTo(5, 5);
    expect(out[17]).toBeCloseTo(out[18], 6);
    // MiniGPT-v2 scale: the mean norm.
    const mean = appendConceptRows(Float64Array.from(features), 3, 4, [b], 'mean-image-token');
    expect(mean.features).toBeInstanceOf(Float64Array);
    expect(norm(mean.features.subarray(12, 16))).toBeCloseTo(3, 10);
  });

  it('leaves the features as they are with no concept', () => {
    const { features: out } = appendConceptRows(features, 3, 4, [], 'first-image-token');
    expect(Array.from(out)).toEqual(Array.from(features));
  });
});

describe('conceptVectorProblem and scaledConceptRow', () => {
  it('accepts only finite, non-zero vectors of the model width', () => {
    expect(conceptVectorProblem(new Float32Array([1, 2]), 2)).toBeNull();
    expect(conceptVectorProblem(new Float32Array([1, 2, 3]), 2)).toMatch(/3 values but this model's tokens have 2/);
    expect(conceptVectorProblem(new Float32Array([0, 0]), 2)).toMatch(/all zeros/);
    expect(conceptVectorProblem(new Float32Array([1, Number.NaN]), 2)).toMatch(/not a number/);
  });

  it('only the direction of the stored vector matters', () => {
    const small = scaledConceptRow(Float32Array.from([1, 2, 2]), 6);
    const large = scaledConceptRow(Float32Array.from([100, 200, 200]), 6);
    expect(Array.from(small)).toEqual([2, 4, 4]);
    expect(Array.from(large).map((v) => Number(v.toFixed(10)))).toEqual([2, 4, 4]);
  });
});
