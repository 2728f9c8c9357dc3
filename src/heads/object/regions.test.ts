import { describe, expect, it } from 'vitest';
import { InternalError } from '../../errors.ts';
import { cropRegion, regionBox, regionPlan, WHOLE_REGION } from './regions.ts';

describe('regionPlan', () => {
  it('starts with the whole photo and adds g x g crops of side 2/(g+1), overlapping by half a crop', () => {
    const plan = regionPlan([2, 3]);
    expect(plan).toHaveLength(1 + 4 + 9);
    expect(plan[0]).toBe(WHOLE_REGION);
    expect(plan[1]).toEqual({ tag: 'g2-0-0', left: 0, top: 0, width: 2 / 3, height: 2 / 3 });
    expect(plan[4].tag).toBe('g2-1-1');
    expect(plan[4].left + plan[4].width).toBeCloseTo(1, 12);
    const last = plan[13];
    expect(last.tag).toBe('g3-2-2');
    expect(last.width).toBeCloseTo(0.5, 12);
    expect(last.left + last.width).toBeCloseTo(1, 12);
    expect(new Set(plan.map((r) => r.tag)).size).toBe(plan.length);
    expect(regionPlan([])).toEqual([WHOLE_REGION]);
    expect(() => regionPlan([1])).toThrow(InternalError);
  });
});

describe('regionBox and cropRegion', () => {
  it('maps a region to pixels inside the photo and crops exactly those pixels', () => {
    const width = 9;
    const height = 6;
    const data = Uint8Array.from({ length: width * height * 3 }, (_, i) => i % 251);
    const image = { width, height, data };
    const region = regionPlan([2])[4];
    const box = regionBox(region, width, height);
    expect(box).toEqual({ x: 3, y: 2, width: 6, height: 4 });
    const crop = cropRegion(image, region);
    expect([crop.width, crop.height]).toEqual([6, 4]);
    // The crop's first pixel is the photo's pixel (3, 2).
    expect([...crop.data.subarray(0, 3)]).toEqual([...data.subarray((2 * width + 3) * 3, (2 * width + 3) * 3 + 3)]);
    expect(cropRegion(image, WHOLE_REGION)).toBe(image);
    expect(regionBox(WHOLE_REGION, width, height)).toEqual({ x: 0, y: 0, width, height });
  });
});
