import { describe, expect, it } from 'vitest';
import { positiveProbability } from './linear-head.ts';
import { normalizeFeature } from './normalization.ts';
import { PROTOTYPE_MARGIN, prototypeHead } from './prototype-head.ts';
import { withoutLookalikes } from './negatives.ts';
import { fitObjectHead } from './fit.ts';

const unitAt = (deg: number, length = 1) =>
  Float32Array.of(length * Math.cos((deg * Math.PI) / 180), length * Math.sin((deg * Math.PI) / 180));
const cos = (deg: number) => Math.cos((deg * Math.PI) / 180);

describe('prototypeHead', () => {
  it('accepts every teaching view and rejects what is further from the mean than the least similar view, less the margin', () => {
    const params = prototypeHead([[unitAt(-10), unitAt(10, 3)], [unitAt(0, 5)]], 'toy', 1);
    const p = (x: Float32Array) => positiveProbability(params, normalizeFeature(x, params.normalization));
    for (const deg of [-10, 0, 10]) expect(p(unitAt(deg))).toBeGreaterThan(0.5);
    // Threshold: cos 10 degrees - margin.
    const edge = (Math.acos(cos(10) - PROTOTYPE_MARGIN) * 180) / Math.PI;
    expect(p(unitAt(edge - 1))).toBeGreaterThan(0.5);
    expect(p(unitAt(edge + 1))).toBeLessThan(0.5);
    expect(p(unitAt(90))).toBeLessThan(0.01);
    expect(params.trainedOn).toEqual({ positives: 2, negatives: 0, steps: 0, seed: 1 });
  });

  it('is what fitObjectHead builds when there is no negative', () => {
    expect(fitObjectHead({ positives: [[unitAt(0)]], negatives: [] }, { extractor: 'toy', seed: 1 }).method).toBe(
      'prototype',
    );
    expect(
      fitObjectHead({ positives: [[unitAt(0)]], negatives: [[unitAt(90)]] }, { extractor: 'toy', seed: 1, steps: 5 })
        .method,
    ).toBe('trained');
  });
});

describe('withoutLookalikes', () => {
  it('drops candidates as close to the positives as the least similar positive', () => {
    const kept = withoutLookalikes([unitAt(1), unitAt(45), unitAt(-4)], [unitAt(-5), unitAt(5)]);
    expect(kept.map((k) => Math.round((Math.atan2(k[1], k[0]) * 180) / Math.PI))).toEqual([45]);
  });
});
