import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { sharedPhoto } from '../../test/support/paths.ts';
import { decodeImage } from './decode.ts';
import { drawLabelledBoxes } from './draw.ts';
import { encodeJpeg, fitImage, REPLY_IMAGE_MAX_BYTES, REPLY_IMAGE_MAX_SIDE } from './encode.ts';

/** A real photo brought to a 12-megapixel camera's 4000×3000, as a camera JPEG. */
async function cameraPhoto(): Promise<Buffer> {
  return sharp(readFileSync(sharedPhoto('ageitgey', 'test__obama_and_biden.jpg')))
    .resize(4000, 3000, { fit: 'fill', kernel: 'lanczos3' })
    .jpeg({ quality: 92 })
    .toBuffer();
}

describe('images sent back', () => {
  it('a /refer image of a 4000×3000 photo is a JPEG under 2 MB, 2048 px on its long side, the box still showing', async () => {
    const photo = await decodeImage(await cameraPhoto());
    expect([photo.width, photo.height]).toEqual([4000, 3000]);
    const box = { x: 1200, y: 600, width: 800, height: 900, label: 'Obama', color: '#ff0000' };
    const encoded = await encodeJpeg(await drawLabelledBoxes(photo, [box]));
    const meta = await sharp(encoded.bytes).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 2048, 1536]);
    expect([encoded.width, encoded.height]).toEqual([2048, 1536]);
    expect(encoded.bytes.byteLength).toBeLessThan(2 * 1024 * 1024);
    // The left edge of the box (x 1200 → 614 px; y 1000 → 512 px) is red in the sent image, through JPEG's loss.
    const { data } = await sharp(encoded.bytes).raw().toBuffer({ resolveWithObject: true });
    const [r, g, b] = data.subarray((512 * 2048 + 617) * 3, (512 * 2048 + 617) * 3 + 3);
    expect(r).toBeGreaterThan(200);
    expect(g + b).toBeLessThan(120);
  });

  it('shrinks quality, then size, until the image fits a byte limit, and never enlarges', async () => {
    const photo = await decodeImage(await cameraPhoto());
    const tight = await encodeJpeg(photo, { maxBytes: 150_000, maxSide: REPLY_IMAGE_MAX_SIDE });
    expect(tight.bytes.byteLength).toBeLessThanOrEqual(150_000);
    expect(Math.max(tight.width, tight.height)).toBeLessThan(2048);
    const small = { width: 40, height: 30, data: new Uint8Array(40 * 30 * 3).fill(128) };
    expect(await encodeJpeg(small)).toMatchObject({ width: 40, height: 30, mimeType: 'image/jpeg' });
  });

  it('fitImage leaves a fitting image alone and re-encodes one over a platform limit', async () => {
    const png = new Uint8Array(
      await sharp(await cameraPhoto())
        .png()
        .toBuffer(),
    );
    expect(png.byteLength).toBeGreaterThan(10 * 1024 * 1024);
    const fitted = await fitImage(
      { bytes: png, mimeType: 'image/png', name: 'refer-obama.png' },
      {
        maxBytes: REPLY_IMAGE_MAX_BYTES,
        maxSide: REPLY_IMAGE_MAX_SIDE,
      },
    );
    expect(fitted.name).toBe('refer-obama.jpg');
    expect(fitted.mimeType).toBe('image/jpeg');
    expect(fitted.bytes.byteLength).toBeLessThanOrEqual(REPLY_IMAGE_MAX_BYTES);
    const meta = await sharp(fitted.bytes).metadata();
    expect([meta.width, meta.height]).toEqual([2048, 1536]);
    expect(await fitImage(fitted, { maxBytes: REPLY_IMAGE_MAX_BYTES, maxSide: 4096 })).toBe(fitted);
  });
});
