import { describe, expect, it } from 'vitest';
import { InternalError } from '../../errors.ts';
import { seededRandom, normal } from '../../random.ts';
import { positiveProbability } from './linear-head.ts';
import { normalizeFeature } from './normalization.ts';
import { trainObjectHead, type HeadTrainingSet } from './trainer.ts';

/** Two separable clusters: a shared non-negative background plus a class-specific bump. */
function toySet(
  dims: number,
  seed: number,
): { set: HeadTrainingSet; test: { positives: Float32Array[]; negatives: Float32Array[] } } {
  const random = seededRandom(seed);
  const sample = (positive: boolean) =>
    Float32Array.from(
      { length: dims },
      (_, i) => 1 + 0.3 * Math.abs(normal(random)) + (positive ? (i < 8 ? 1.5 : 0) : i >= 8 && i < 16 ? 1.5 : 0),
    );
  const photo = (positive: boolean, views: number) => Array.from({ length: views }, () => sample(positive));
  return {
    set: {
      positives: Array.from({ length: 4 }, () => photo(true, 8)),
      negatives: Array.from({ length: 150 }, () => photo(false, 1)),
    },
    test: {
      positives: Array.from({ length: 50 }, () => sample(true)),
      negatives: Array.from({ length: 50 }, () => sample(false)),
    },
  };
}

describe('trainObjectHead', () => {
  it('separates a separable toy set at the 0.5 threshold and lowers the loss', () => {
    const { set, test } = toySet(64, 1);
    const { params, report } = trainObjectHead(set, { extractor: 'toy', seed: 7 });
    const p = (x: Float32Array) => positiveProbability(params, normalizeFeature(x, params.normalization));
    for (const x of test.positives) expect(p(x)).toBeGreaterThan(0.5);
    for (const x of test.negatives) expect(p(x)).toBeLessThan(0.5);
    // lr 1e-3 for 500 steps bounds how far the weights travel, so the loss falls but stays well above 0.
    expect(report.finalLoss).toBeLessThan(report.initialLoss * 0.8);
    expect(params).toMatchObject({
      type: 'linear',
      extractor: 'toy',
      dims: 64,
      threshold: 0.5,
      trainedOn: { positives: 4, negatives: 150, steps: 500, seed: 7 },
    });
    expect(params.weight).toHaveLength(128);
    expect(params.normalization.l2).toBe(true);
    expect(params.normalization.center).toHaveLength(64);
  });

  it('repeats exactly under the same seed and differs under another', () => {
    const { set } = toySet(32, 2);
    const a = trainObjectHead(set, { extractor: 'toy', seed: 11 }).params;
    const b = trainObjectHead(set, { extractor: 'toy', seed: 11 }).params;
    const c = trainObjectHead(set, { extractor: 'toy', seed: 12 }).params;
    expect(Array.from(a.weight)).toEqual(Array.from(b.weight));
    expect(Array.from(a.bias)).toEqual(Array.from(b.bias));
    expect(Array.from(a.weight)).not.toEqual(Array.from(c.weight));
  });

  it('centres on the class-balanced mean of the L2-normalized training features', () => {
    const pos = [[Float32Array.of(3, 4)]];
    const neg = [[Float32Array.of(1, 0)], [Float32Array.of(0, 2)]];
    const { params } = trainObjectHead({ positives: pos, negatives: neg }, { extractor: 'toy', seed: 1, steps: 1 });
    // positives' mean (0.6, 0.8); negatives' mean (0.5, 0.5); centre halfway.
    expect(Array.from(params.normalization.center ?? [])).toEqual([expect.closeTo(0.55, 6), expect.closeTo(0.65, 6)]);
  });

  it('refuses empty classes and mismatched feature lengths', () => {
    const f = Float32Array.of(1, 2);
    expect(() => trainObjectHead({ positives: [], negatives: [[f]] }, { extractor: 'x', seed: 1 })).toThrow(
      InternalError,
    );
    expect(() => trainObjectHead({ positives: [], negatives: [[f]] }, { extractor: 'x', seed: 1 })).toThrow(/positive/);
    expect(() => trainObjectHead({ positives: [[f]], negatives: [] }, { extractor: 'x', seed: 1 })).toThrow(/negative/);
    expect(() =>
      trainObjectHead({ positives: [[f]], negatives: [[Float32Array.of(1)]] }, { extractor: 'x', seed: 1 }),
    ).toThrow(/length/);
  });
});
