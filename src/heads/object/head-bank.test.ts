import { describe, expect, it } from 'vitest';
import { InternalError } from '../../errors.ts';
import type { LinearHeadParams } from '../../memory/concept.ts';
import { seededRandom, normal } from '../../random.ts';
import { HeadBank, scoreHeads } from './head-bank.ts';
import { positiveProbability } from './linear-head.ts';
import { simdAvailable } from './matvec-kernel.ts';
import { normalizeFeature } from './normalization.ts';

function randomHead(dims: number, seed: number, l2 = true, centred = true): LinearHeadParams {
  const random = seededRandom(seed);
  const vec = (n: number) => Float32Array.from({ length: n }, () => 0.1 * normal(random));
  return {
    type: 'linear',
    extractor: 'x',
    dims,
    weight: vec(2 * dims),
    bias: vec(2),
    normalization: { center: centred ? vec(dims) : null, l2 },
    threshold: 0.5,
    trainedOn: { positives: 4, negatives: 10, steps: 500, seed },
  };
}

const feature = (dims: number, seed: number) => {
  const random = seededRandom(seed);
  return Float32Array.from({ length: dims }, () => Math.abs(normal(random)));
};

describe('HeadBank', () => {
  it('runs in WebAssembly SIMD on Node 20', () => {
    expect(simdAvailable()).toBe(true);
  });

  it('scores every head as the head alone would, whatever its normalization (dims not a multiple of 16)', () => {
    const dims = 37;
    const heads = Array.from({ length: 40 }, (_, i) => randomHead(dims, i, i % 3 !== 0, i % 2 === 0));
    const x = feature(dims, 99);
    const probabilities = scoreHeads(x, heads);
    expect(probabilities).toHaveLength(40);
    heads.forEach((h, i) =>
      expect(probabilities[i]).toBeCloseTo(positiveProbability(h, normalizeFeature(x, h.normalization)), 5),
    );
  });

  it('adds, replaces and removes heads, keeping every score right', () => {
    const dims = 20;
    const bank = new HeadBank(dims, 'x');
    const heads = Array.from({ length: 30 }, (_, i) => ({ conceptId: `c${i}`, params: randomHead(dims, i) }));
    bank.sync(heads);
    bank.remove('c3');
    bank.upsert({ conceptId: 'c7', params: randomHead(dims, 1000) });
    expect(bank.size).toBe(29);
    const x = feature(dims, 5);
    const scores = new Map(bank.score(x).map((s) => [s.conceptId, s]));
    expect(scores.has('c3')).toBe(false);
    const expected = (h: LinearHeadParams) => positiveProbability(h, normalizeFeature(x, h.normalization));
    expect(scores.get('c7')?.probability).toBeCloseTo(expected(randomHead(dims, 1000)), 5);
    expect(scores.get('c29')?.probability).toBeCloseTo(expected(heads[29].params), 5);
    expect(scores.get('c29')?.fires).toBe((scores.get('c29')?.probability ?? 0) >= 0.5);
    bank.sync(heads.slice(0, 2));
    expect(
      bank
        .score(x)
        .map((s) => s.conceptId)
        .sort(),
    ).toEqual(['c0', 'c1']);
  });

  it('reuses a row while the revision is unchanged, and recompiles when it changes', () => {
    const bank = new HeadBank(8, 'x');
    const x = feature(8, 1);
    bank.sync([{ conceptId: 'a', params: randomHead(8, 1), revision: 1 }]);
    const first = bank.probabilities(x)[0];
    bank.sync([{ conceptId: 'a', params: randomHead(8, 2), revision: 1 }]);
    expect(bank.probabilities(x)[0]).toBe(first);
    bank.sync([{ conceptId: 'a', params: randomHead(8, 2), revision: 2 }]);
    expect(bank.probabilities(x)[0]).not.toBe(first);
  });

  it('refuses heads of another extractor or length', () => {
    const bank = new HeadBank(8, 'x');
    expect(() => bank.upsert({ conceptId: 'a', params: { ...randomHead(8, 1), extractor: 'y' } })).toThrow(
      /trained on y/,
    );
    expect(() => bank.upsert({ conceptId: 'a', params: randomHead(9, 1) })).toThrow(/9-d/);
    expect(() => bank.upsert({ conceptId: 'a', params: randomHead(9, 1) })).toThrow(InternalError);
    expect(() => bank.probabilities(new Float32Array(9))).toThrow(InternalError);
    expect(() => bank.probabilities(new Float32Array(9))).toThrow('feature of length 9, bank of 8');
  });

  it('grows past its first capacity and scores 10,000 heads in one product', () => {
    const dims = 64;
    const bank = new HeadBank(dims, 'x');
    const base = randomHead(dims, 3);
    bank.sync(
      Array.from({ length: 10_000 }, (_, i) => ({
        conceptId: String(i),
        params: i === 9_999 ? randomHead(dims, 4) : base,
      })),
    );
    const x = feature(dims, 2);
    const p = bank.probabilities(x);
    expect(p).toHaveLength(10_000);
    expect(p[0]).toBeCloseTo(positiveProbability(base, normalizeFeature(x, base.normalization)), 5);
    expect(p[9_999]).toBeCloseTo(
      positiveProbability(randomHead(dims, 4), normalizeFeature(x, randomHead(dims, 4).normalization)),
      5,
    );
  });

  it('scores a regions head by its best region and a whole head by the whole photo; both point at their best region', () => {
    const dims = 24;
    const whole = randomHead(dims, 1);
    const regions = { ...randomHead(dims, 2), scoring: 'regions' as const };
    const features = [0, 1, 2, 3, 4].map((i) => feature(dims, 50 + i));
    const bank = new HeadBank(dims, 'x');
    bank.sync([
      { conceptId: 'whole', params: whole },
      { conceptId: 'regions', params: regions },
    ]);
    const p = (head: LinearHeadParams, x: Float32Array) =>
      positiveProbability(head, normalizeFeature(x, head.normalization));
    const argmax = (values: number[]) => values.indexOf(Math.max(...values));
    const [w, r] = bank.scoreRegions(features);
    const wholeScores = features.map((x) => p(whole, x));
    const regionScores = features.map((x) => p(regions, x));
    expect(w.conceptId).toBe('whole');
    expect(w.probability).toBeCloseTo(wholeScores[0], 5);
    expect(w.region).toBe(argmax(wholeScores));
    expect(r.probability).toBeCloseTo(Math.max(...regionScores), 5);
    expect(r.region).toBe(argmax(regionScores));
    expect(r.fires).toBe(r.probability >= 0.5);
    // After the first head is removed, the moved row keeps its scoring.
    bank.remove('whole');
    expect(bank.scoreRegions(features)[0].probability).toBeCloseTo(Math.max(...regionScores), 5);
  });
});
