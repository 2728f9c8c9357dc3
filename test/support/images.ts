// Synthetic photos for tests: smooth gradients, so resizing and cropping change values measurably.
import type { RgbImage } from '../../src/image/decode.ts';

/** A `width` x `height` RGB test card. */
export function testCard(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      data[i] = (x * 5) % 256;
      data[i + 1] = (y * 6) % 256;
      data[i + 2] = ((x + y) * 3) % 256;
    }
  }
  return { width, height, data };
}
