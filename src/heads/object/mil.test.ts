import { describe, expect, it } from 'vitest';
import { normal, seededRandom } from '../../random.ts';
import { bestRegion, trainMilHead } from './mil.ts';

const DIMS = 32;
const REGIONS = 5;

/**
 * Toy bags: every region is background noise; in a positive photo one region
 * (not the whole photo) holds the object's bump, and the whole photo only a
 * fifth of it, as a small object is a small part of a whole-image feature.
 */
function toyPhoto(random: () => number, objectAt: number | null): Float32Array[] {
  return Array.from({ length: REGIONS }, (_, region) => {
    const bump = objectAt === null ? 0 : region === objectAt ? 2 : region === 0 ? 0.4 : 0;
    return Float32Array.from({ length: DIMS }, (_, i) => 1 + 0.3 * Math.abs(normal(random)) + (i < 6 ? bump : 0));
  });
}

describe('trainMilHead', () => {
  it('finds the region that holds the object in every teaching photo and scores photos by their best region', async () => {
    const random = seededRandom(3);
    const objectAt = [1, 3, 4, 2];
    const positives = objectAt.map((at) => toyPhoto(random, at));
    const negativePhotos = Array.from({ length: 40 }, () => toyPhoto(random, null));
    const asked: Array<[number, number]> = [];
    const result = await trainMilHead(
      {
        positives,
        negatives: negativePhotos.flatMap((regions) => regions.map((f) => [f])),
        viewsOf: (photo, region) => {
          asked.push([photo, region]);
          return Promise.resolve([positives[photo][region]]);
        },
      },
      { extractor: 'toy', seed: 1, rounds: 3 },
    );
    expect(result.params.scoring).toBe('regions');
    expect(result.chosen).toEqual(objectAt);
    // Round 0 trains on the whole photos; a later round on the chosen regions.
    expect(asked.slice(0, 4)).toEqual([0, 1, 2, 3].map((p) => [p, 0]));
    expect(asked).toContainEqual([1, 3]);
    expect(result.rounds).toBeGreaterThanOrEqual(2);
    expect(result.rounds).toBeLessThanOrEqual(4);
    // Held-out photos: the best region fires on positives and points at the object; negatives stay below 0.5.
    for (const at of [1, 2, 3, 4]) {
      const best = bestRegion(result.params, toyPhoto(random, at));
      expect(best.region).toBe(at);
      expect(best.probability).toBeGreaterThan(0.5);
    }
    for (let i = 0; i < 20; i++)
      expect(bestRegion(result.params, toyPhoto(random, null)).probability).toBeLessThan(0.5);
    // Same data and seed, same head.
    const again = await trainMilHead(
      {
        positives,
        negatives: negativePhotos.flatMap((regions) => regions.map((f) => [f])),
        viewsOf: (photo, region) => Promise.resolve([positives[photo][region]]),
      },
      { extractor: 'toy', seed: 1, rounds: 3 },
    );
    expect([...again.params.weight]).toEqual([...result.params.weight]);
  });
});
