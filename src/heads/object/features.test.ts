import { describe, expect, it } from 'vitest';
import { poolRegion } from './features.ts';
import { WHOLE_REGION } from './regions.ts';

describe('poolRegion', () => {
  // Two channels on a 2 x 4 map: channel 0 holds the cell index, channel 1 is 1 everywhere.
  const h = 2;
  const w = 4;
  const map = Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7, 1, 1, 1, 1, 1, 1, 1, 1]);

  it('gives the global mean for the whole photo', () => {
    expect([...poolRegion(map, 2, h, w, WHOLE_REGION)]).toEqual([3.5, 1]);
  });

  it('averages the cells under a region, weighting cells it covers in part by the share covered', () => {
    const leftHalf = { tag: 't', left: 0, top: 0, width: 0.5, height: 1 };
    expect([...poolRegion(map, 2, h, w, leftHalf)]).toEqual([(0 + 1 + 4 + 5) / 4, 1]);
    // Columns 1 and 2 of the top row, then half of column 3: weights 1, 1, 0.5 over cells 1, 2, 3.
    const topStrip = { tag: 't', left: 0.25, top: 0, width: 0.625, height: 0.5 };
    expect(poolRegion(map, 2, h, w, topStrip)[0]).toBeCloseTo((1 + 2 + 0.5 * 3) / 2.5, 6);
  });
});
