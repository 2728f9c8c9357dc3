import { describe, expect, it } from 'vitest';
import type { RgbImage } from './decode.ts';
import { flipHorizontal, rotate, adjustBrightness } from './augment.ts';
import { toModelInput, toPhotoPoint } from './tensor.ts';

function gradient(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) data.set([x % 256, y % 256, 50], (y * width + x) * 3);
  return { width, height, data };
}

describe('toModelInput', () => {
  it('letterboxes: scales the long side, pads right and bottom with black, maps points back', async () => {
    const input = await toModelInput(gradient(200, 100), {
      resize: 'letterbox',
      width: 64,
      height: 64,
      channels: 'bgr',
      scale: 1,
      mean: [0, 0, 0],
      std: [1, 1, 1],
    });
    expect(input.dims).toEqual([1, 3, 64, 64]);
    expect(input.transform.scaleX).toBeCloseTo(0.32);
    const plane = 64 * 64;
    // BGR: channel 0 is blue (constant 50) inside the photo, 0 in the padding below row 32.
    expect(input.data[10 * 64 + 10]).toBeCloseTo(50, 0);
    expect(input.data[50 * 64 + 10]).toBe(0);
    // channel 2 is red = x in the photo: at model x=32 the photo x is 100.
    expect(Math.abs(input.data[2 * plane + 10 * 64 + 32] - 100)).toBeLessThan(3);
    expect(toPhotoPoint(input.transform, 32, 16)).toEqual([100, 50]);
  });

  it('centre-crops after resizing the shorter side, with mean/std normalization in RGB', async () => {
    const input = await toModelInput(gradient(100, 50), {
      resize: 'center-crop',
      width: 40,
      height: 40,
      shorterSide: 50,
      channels: 'rgb',
      scale: 1 / 255,
      mean: [0.5, 0.5, 0.5],
      std: [0.5, 0.5, 0.5],
    });
    expect(input.dims).toEqual([1, 3, 40, 40]);
    // Crop starts at x=30 (of 100), y=5: red channel at model x=0 is (30/255-0.5)/0.5.
    expect(input.data[0]).toBeCloseTo((30 / 255 - 0.5) / 0.5, 1);
    const [px, py] = toPhotoPoint(input.transform, 0, 0);
    expect([px, py]).toEqual([30, 5]);
  });
});

describe('augmentations', () => {
  it('flip mirrors columns and is its own inverse', () => {
    const image = gradient(5, 3);
    const flipped = flipHorizontal(image);
    expect(flipped.data[0]).toBe(4);
    expect(flipHorizontal(flipped).data).toEqual(image.data);
  });

  it('rotation by 90 degrees moves the right edge to the top and keeps the canvas size', () => {
    const image = gradient(9, 9);
    const turned = rotate(image, 90);
    expect([turned.width, turned.height]).toEqual([9, 9]);
    // Counter-clockwise: the pixel at the top centre comes from the right centre (x = 8).
    expect(turned.data[(0 * 9 + 4) * 3]).toBe(8);
  });

  it('rotation fills uncovered corners with black', () => {
    const turned = rotate(gradient(20, 20), 45);
    expect(Array.from(turned.data.subarray(0, 3))).toEqual([0, 0, 0]);
  });

  it('brightness scales and clamps', () => {
    const image = { width: 1, height: 1, data: new Uint8Array([100, 200, 10]) };
    expect(Array.from(adjustBrightness(image, 1.5).data)).toEqual([150, 255, 15]);
  });
});
