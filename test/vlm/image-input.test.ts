// Boxes on the model's input land on the right pixels of the photo: LLaVA's
// processor resizes the short side and cuts the centre, MiniGPT-v2's
// stretches the whole photo to a square.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RgbImage } from '../../src/image/decode.ts';
import { writeTinyLlava, writeTinyMiniGptV2 } from '../../src/onnx/tiny/factory.ts';
import { boxOnPhoto, VlmImageProcessor } from '../../src/vlm/image-input.ts';

let scratch: string;
let llava: VlmImageProcessor;
let minigpt: VlmImageProcessor;

/** Red left quarter, blue middle half, green right quarter. */
function bands(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const colour = x < width / 4 ? [255, 0, 0] : x < (3 * width) / 4 ? [0, 0, 255] : [0, 255, 0];
      data.set(colour, (y * width + x) * 3);
    }
  }
  return { width, height, data };
}

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'myvlm-vlm-geometry-'));
  llava = await VlmImageProcessor.open((await writeTinyLlava(path.join(scratch, 'llava'))).dir);
  minigpt = await VlmImageProcessor.open((await writeTinyMiniGptV2(path.join(scratch, 'minigpt'))).dir);
});

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('VlmImageProcessor', () => {
  it("maps LLaVA's centre crop back onto the photo", async () => {
    // 128x64 -> short side to 32 (64x32) -> centre 32x32: the model sees x 32..96 of the photo, the blue band.
    const input = await llava.prepare(bands(128, 64));
    expect(input.pixelValues.dims).toEqual([1, 3, 32, 32]);
    expect([input.inputWidth, input.inputHeight]).toEqual([32, 32]);
    const pixels = input.pixelValues.data as Float32Array;
    const plane = 32 * 32;
    // CLIP-normalized blue: red and green channels far below zero, blue far above, in every column.
    for (const x of [1, 16, 30]) {
      expect(pixels[16 * 32 + x]).toBeLessThan(-1.5);
      expect(pixels[2 * plane + 16 * 32 + x]).toBeGreaterThan(1.5);
    }
    expect(boxOnPhoto({ x0: 0, y0: 0, x1: 1, y1: 1 }, input)).toEqual({ x: 32, y: 0, width: 64, height: 64 });
    expect(boxOnPhoto({ x0: 0.25, y0: 0.5, x1: 0.75, y1: 1 }, input)).toEqual({ x: 48, y: 32, width: 32, height: 32 });
  });

  it("maps MiniGPT-v2's stretched square back onto the whole photo", async () => {
    const input = await minigpt.prepare(bands(200, 100));
    expect(input.pixelValues.dims).toEqual([1, 3, 32, 32]);
    expect(boxOnPhoto({ x0: 0.2, y0: 0.3, x1: 0.7, y1: 0.8 }, input)).toEqual({ x: 40, y: 30, width: 100, height: 50 });
    // The whole photo is seen: red on the left edge, green on the right.
    const pixels = input.pixelValues.data as Float32Array;
    expect(pixels[16 * 32 + 1]).toBeGreaterThan(1.5);
    expect(pixels[32 * 32 + 16 * 32 + 30]).toBeGreaterThan(1.5);
  });
});
