import { describe, expect, it } from 'vitest';
import { clipBox, iou, leftToRight, nonMaximumSuppression } from './geometry.ts';

describe('iou', () => {
  it('is 1 for identical boxes, 0 for disjoint ones, and the overlap share otherwise', () => {
    const a = { x: 0, y: 0, width: 10, height: 10 };
    expect(iou(a, a)).toBe(1);
    expect(iou(a, { x: 20, y: 0, width: 5, height: 5 })).toBe(0);
    expect(iou(a, { x: 5, y: 0, width: 10, height: 10 })).toBeCloseTo(50 / 150, 10);
    expect(iou({ x: 0, y: 0, width: 0, height: 0 }, { x: 0, y: 0, width: 0, height: 0 })).toBe(0);
  });
});

describe('nonMaximumSuppression', () => {
  it('keeps the best box of each overlapping cluster, best first', () => {
    const items = [
      { box: { x: 0, y: 0, width: 10, height: 10 }, score: 0.7, id: 'a' },
      { box: { x: 1, y: 1, width: 10, height: 10 }, score: 0.9, id: 'b' },
      { box: { x: 50, y: 50, width: 10, height: 10 }, score: 0.8, id: 'c' },
      { box: { x: 7, y: 0, width: 10, height: 10 }, score: 0.6, id: 'd' },
    ];
    expect(nonMaximumSuppression(items, 0.3).map((i) => i.id)).toEqual(['b', 'c', 'd']);
    expect(nonMaximumSuppression(items, 0.1).map((i) => i.id)).toEqual(['b', 'c']);
  });
});

describe('clipBox', () => {
  it('cuts a box to the photo', () => {
    expect(clipBox({ x: -5, y: 90, width: 20, height: 20 }, 100, 100)).toEqual({ x: 0, y: 90, width: 15, height: 10 });
    expect(clipBox({ x: 200, y: 0, width: 20, height: 20 }, 100, 100).width).toBe(0);
  });
});

describe('leftToRight', () => {
  it('orders faces by the horizontal centre of their box, whatever their size or height', () => {
    const face = (id: string, x: number, width: number, y = 0) => ({ id, box: { x, y, width, height: width } });
    const faces = [face('right', 300, 50), face('wide', 0, 260, 90), face('left', 20, 40, 400)];
    // Centres: right 325, wide 130, left 40.
    expect(leftToRight(faces).map((f) => f.id)).toEqual(['left', 'wide', 'right']);
    expect(faces.map((f) => f.id)).toEqual(['right', 'wide', 'left']);
  });
});
