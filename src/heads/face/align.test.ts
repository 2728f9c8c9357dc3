import { describe, expect, it } from 'vitest';
import type { RgbImage } from '../../image/decode.ts';
import {
  alignFace,
  applySimilarity,
  canAlign,
  ARCFACE_TEMPLATE,
  DLIB_CHIP_TEMPLATE,
  alignmentTemplate,
  estimateSimilarity,
  invertSimilarity,
  sampleBilinear,
  type Similarity,
} from './align.ts';
import type { FiveLandmarks, Point } from './types.ts';

/** A photo whose colour encodes position: R = x, G = y, B = 100 (smooth, so bilinear samples are exact). */
function coordinateImage(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set([x, y, 100], (y * width + x) * 3);
  }
  return { width, height, data };
}

const rotation = (degrees: number, scale: number, tx: number, ty: number): Similarity => ({
  a: scale * Math.cos((degrees * Math.PI) / 180),
  b: scale * Math.sin((degrees * Math.PI) / 180),
  tx,
  ty,
});

describe('estimateSimilarity', () => {
  it('recovers an exact rotation, scale and translation', () => {
    const truth = rotation(23, 1.7, 40, -12);
    const from: Point[] = [
      [0, 0],
      [10, 3],
      [4, 9],
      [-6, 2],
      [8, -5],
    ];
    const to = from.map((p) => applySimilarity(truth, p));
    const found = estimateSimilarity(from, to);
    expect(found.a).toBeCloseTo(truth.a, 10);
    expect(found.b).toBeCloseTo(truth.b, 10);
    expect(found.tx).toBeCloseTo(truth.tx, 10);
    expect(found.ty).toBeCloseTo(truth.ty, 10);
  });

  it('is the least-squares fit when the points are noisy', () => {
    const truth = rotation(-10, 0.8, 5, 5);
    const from: Point[] = [
      [0, 0],
      [20, 0],
      [10, 12],
      [3, 25],
      [17, 25],
    ];
    const noise: Point[] = [
      [0.3, -0.2],
      [-0.4, 0.1],
      [0.2, 0.3],
      [-0.1, -0.3],
      [0.1, 0.2],
    ];
    const to = from.map((p, i) => {
      const [x, y] = applySimilarity(truth, p);
      return [x + noise[i][0], y + noise[i][1]] as Point;
    });
    const found = estimateSimilarity(from, to);
    const error = (t: Similarity) =>
      from.reduce((sum, p, i) => {
        const [x, y] = applySimilarity(t, p);
        return sum + (x - to[i][0]) ** 2 + (y - to[i][1]) ** 2;
      }, 0);
    expect(error(found)).toBeLessThanOrEqual(error(truth));
    for (const nudge of [
      { ...found, a: found.a + 1e-3 },
      { ...found, b: found.b - 1e-3 },
      { ...found, tx: found.tx + 1e-2 },
    ]) {
      expect(error(nudge)).toBeGreaterThan(error(found));
    }
  });

  it('inverts', () => {
    const t = rotation(40, 2.5, 3, 7);
    const back = applySimilarity(invertSimilarity(t), applySimilarity(t, [11, -4]));
    expect(back[0]).toBeCloseTo(11, 10);
    expect(back[1]).toBeCloseTo(-4, 10);
  });

  it('refuses degenerate landmarks', () => {
    expect(() =>
      estimateSimilarity(
        [
          [1, 1],
          [1, 1],
        ],
        [
          [0, 0],
          [1, 1],
        ],
      ),
    ).toThrow(/coincide/);
  });
});

describe('alignFace', () => {
  it('samples the photo at the template mapped through the face transform', () => {
    // A face tilted by 15 degrees at 1.5x the template size: each crop pixel (u, v) must show photo pixel T(u, v).
    const templateToPhoto = rotation(15, 1.5, 60, 30);
    const landmarks = ARCFACE_TEMPLATE.map((p) => applySimilarity(templateToPhoto, p)) as unknown as FiveLandmarks;
    const crop = alignFace(coordinateImage(256, 256), landmarks);
    expect(crop.width).toBe(112);
    expect(crop.height).toBe(112);
    for (const [u, v] of [
      [10, 10],
      [56, 56],
      [100, 20],
      [30, 105],
    ] as const) {
      const [x, y] = applySimilarity(templateToPhoto, [u, v]);
      const i = (v * 112 + u) * 3;
      expect(Math.abs(crop.data[i] - x)).toBeLessThanOrEqual(1);
      expect(Math.abs(crop.data[i + 1] - y)).toBeLessThanOrEqual(1);
      expect(crop.data[i + 2]).toBe(100);
    }
  });

  it.each([2, 3.5])('box-filters a face %s times the crop size before sampling, keeping positions exact', (scale) => {
    const templateToPhoto = rotation(0, scale, -100, 0); // larger than the crop, partly left of the photo
    const landmarks = ARCFACE_TEMPLATE.map((p) => applySimilarity(templateToPhoto, p)) as unknown as FiveLandmarks;
    const image = coordinateImage(256, 256);
    const crop = alignFace(image, landmarks);
    for (const [u, v] of [
      [80, 40],
      [100, 60],
    ] as const) {
      const [x, y] = applySimilarity(templateToPhoto, [u, v]);
      if (x > 255 || y > 255) continue;
      const i = (v * 112 + u) * 3;
      expect(Math.abs(crop.data[i] - x)).toBeLessThanOrEqual(1);
      expect(Math.abs(crop.data[i + 1] - y)).toBeLessThanOrEqual(1);
    }
    // column u = 10 maps left of the photo: black
    expect([...crop.data.subarray((40 * 112 + 10) * 3, (40 * 112 + 10) * 3 + 3)]).toEqual([0, 0, 0]);
  });

  it('does not alias a fine pattern when shrinking a large face', () => {
    // One-pixel stripes at 4x the crop size average to mid grey instead of aliasing into bands.
    const image = { width: 600, height: 600, data: new Uint8Array(600 * 600 * 3) };
    for (let y = 0; y < 600; y++)
      for (let x = 0; x < 600; x += 2) image.data.fill(255, (y * 600 + x) * 3, (y * 600 + x) * 3 + 3);
    const landmarks = ARCFACE_TEMPLATE.map((p) =>
      applySimilarity(rotation(0, 4, 50, 50), p),
    ) as unknown as FiveLandmarks;
    const crop = alignFace(image, landmarks);
    for (let i = 0; i < crop.data.length; i++) expect(Math.abs(crop.data[i] - 127.5)).toBeLessThanOrEqual(1);
  });
});

describe('canAlign', () => {
  it('accepts real landmarks and refuses non-finite or collapsed ones', () => {
    expect(canAlign(ARCFACE_TEMPLATE)).toBe(true);
    expect(
      canAlign([
        [1, 1],
        [1, 1],
        [1, 1],
        [1, 1],
        [1.2, 1.2],
      ]),
    ).toBe(false);
    expect(
      canAlign([
        [Number.NaN, 1],
        [5, 1],
        [3, 4],
        [2, 6],
        [4, 6],
      ]),
    ).toBe(false);
  });
});

describe('sampleBilinear', () => {
  it('interpolates between the four neighbours', () => {
    const image = { width: 2, height: 2, data: new Uint8Array([0, 0, 0, 100, 0, 0, 0, 200, 0, 100, 200, 0]) };
    const out = new Float64Array(3);
    sampleBilinear(image, 0.5, 0.5, out);
    expect([...out]).toEqual([50, 100, 0]);
    sampleBilinear(image, 1, 1, out);
    expect([...out]).toEqual([100, 200, 0]);
  });
});

describe("dlib's face chip", () => {
  it("places the five landmarks where dlib's mean face puts them in a 150x150 chip with padding 0.25", () => {
    // (p + 0.25) / 1.5 * 150 of the mean face's eye centres, nose tip (30) and mouth corners (48, 54).
    const expected = [
      [47.549, 46.599],
      [100.476, 46.599],
      [74.013, 76.563],
      [50.415, 103.023],
      [97.61, 103.023],
    ];
    DLIB_CHIP_TEMPLATE.forEach(([x, y], i) => {
      expect(x).toBeCloseTo(expected[i][0], 2);
      expect(y).toBeCloseTo(expected[i][1], 2);
    });
    expect(alignmentTemplate(150)).toBe(DLIB_CHIP_TEMPLATE);
    expect(alignmentTemplate(112)).toEqual(ARCFACE_TEMPLATE);
  });
});
