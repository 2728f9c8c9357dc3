import { describe, expect, it } from 'vitest';
import { InternalError } from '../../errors.ts';
import { IDENTITY_VIEW, renderView, viewPlan, viewTag } from './views.ts';

describe('viewPlan', () => {
  it('starts with the photo itself and spreads eight views over +-30 degrees, mirroring about half', () => {
    const plan = viewPlan(8);
    expect(plan[0]).toEqual(IDENTITY_VIEW);
    expect(plan.map((v) => v.degrees)).toEqual([0, -30, -20, -10, 0, 10, 20, 30]);
    expect(plan.filter((v) => v.flip)).toHaveLength(3);
    expect(new Set(plan.map(viewTag)).size).toBe(8);
  });

  it('gives a mirrored second view for K = 2, and refuses K < 1', () => {
    expect(viewPlan(1)).toEqual([IDENTITY_VIEW]);
    expect(viewPlan(2)[1]).toEqual({ flip: true, degrees: 0 });
    expect(() => viewPlan(0)).toThrow(InternalError);
    expect(() => viewPlan(0)).toThrow('view count must be a positive integer, got 0');
  });
});

describe('viewTag', () => {
  it('names views stably for the feature cache', () => {
    expect(viewTag(IDENTITY_VIEW)).toBe('id');
    expect(viewTag({ flip: true, degrees: 0 })).toBe('f');
    expect(viewTag({ flip: false, degrees: -12.5 })).toBe('r-12.5');
    expect(viewTag({ flip: true, degrees: 30 })).toBe('fr30');
  });
});

describe('renderView', () => {
  it('mirrors, then rotates, keeping the size', () => {
    const image = { width: 3, height: 1, data: Uint8Array.of(10, 0, 0, 20, 0, 0, 30, 0, 0) };
    expect(Array.from(renderView(image, { flip: true, degrees: 0 }).data)).toEqual([30, 0, 0, 20, 0, 0, 10, 0, 0]);
    expect(renderView(image, IDENTITY_VIEW)).toBe(image);
    const rotated = renderView(
      { width: 20, height: 20, data: new Uint8Array(1200).fill(200) },
      { flip: false, degrees: 30 },
    );
    expect(rotated.width).toBe(20);
    expect(rotated.data[0]).toBe(0);
    expect(rotated.data[(10 * 20 + 10) * 3]).toBe(200);
  });
});
