import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { UserError } from '../errors.ts';
import { decodeImage, encodeJpeg } from './decode.ts';

function solid(width: number, height: number, rgb: [number, number, number]): Buffer {
  const data = Buffer.alloc(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(rgb, i * 3);
  return data;
}

async function jpeg(raw: Buffer, width: number, height: number): Promise<Buffer> {
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 95 })
    .toBuffer();
}

function crc32(bytes: Uint8Array): number {
  let crc = ~0;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return ~crc >>> 0;
}

function chunk(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])), 0);
  return Buffer.concat([head, body, crc]);
}

/** A tiny PNG file whose header claims width x height: a decompression bomb's shape. */
function pngClaiming(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([
    signature,
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(1024))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

async function refusal(bytes: Uint8Array): Promise<string> {
  const error = await decodeImage(bytes).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UserError);
  return (error as UserError).message;
}

describe('decodeImage', () => {
  it('decodes a JPEG to RGB pixels of the right size and colour', async () => {
    const image = await decodeImage(await jpeg(solid(32, 16, [200, 30, 40]), 32, 16));
    expect([image.width, image.height, image.format]).toEqual([32, 16, 'jpeg']);
    expect(image.data.length).toBe(32 * 16 * 3);
    expect(Math.abs(image.data[0] - 200)).toBeLessThan(6);
    expect(image.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses zero bytes', async () => {
    expect(await refusal(new Uint8Array(0))).toMatch(/empty/);
  });

  it('refuses text renamed to .jpg', async () => {
    expect(await refusal(new TextEncoder().encode('this is not a photo, just text\n'))).toMatch(
      /does not look like a photo/,
    );
  });

  it('refuses a truncated JPEG', async () => {
    const noise = Buffer.alloc(64 * 64 * 3);
    for (let i = 0; i < noise.length; i++) noise[i] = (i * 7919) % 251;
    const whole = await jpeg(noise, 64, 64);
    expect(await refusal(whole.subarray(0, Math.floor(whole.length / 2)))).toMatch(/damaged or cut off/);
  });

  it('refuses a 30000x30000 PNG before decoding it', async () => {
    expect(await refusal(pngClaiming(30000, 30000))).toMatch(/30000x30000 pixels/);
  });

  it('refuses files over the byte limit', async () => {
    const bytes = await jpeg(solid(8, 8, [0, 0, 0]), 8, 8);
    const error = await decodeImage(bytes, { maxBytes: 10, maxPixels: 1e6 }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/I accept photos up to/);
  });

  it('reads an animated GIF by its first frame', async () => {
    const red = await sharp(solid(16, 16, [255, 0, 0]), { raw: { width: 16, height: 16, channels: 3 } })
      .png()
      .toBuffer();
    const blue = await sharp(solid(16, 16, [0, 0, 255]), { raw: { width: 16, height: 16, channels: 3 } })
      .png()
      .toBuffer();
    const gif = await sharp([red, blue], { join: { animated: true } })
      .gif()
      .toBuffer();
    expect((await sharp(gif).metadata()).pages).toBe(2);
    const image = await decodeImage(gif);
    expect([image.width, image.height, image.format]).toEqual([16, 16, 'gif']);
    expect(image.data[0]).toBeGreaterThan(200);
    expect(image.data[2]).toBeLessThan(50);
  });

  it('turns an EXIF-rotated JPEG upright', async () => {
    // Stored 40x20: left half red, right half blue; orientation 6 = display rotated 90 degrees clockwise.
    const raw = Buffer.alloc(40 * 20 * 3);
    for (let y = 0; y < 20; y++)
      for (let x = 0; x < 40; x++) raw.set(x < 20 ? [255, 0, 0] : [0, 0, 255], (y * 40 + x) * 3);
    const bytes = await sharp(raw, { raw: { width: 40, height: 20, channels: 3 } })
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const image = await decodeImage(bytes);
    expect([image.width, image.height]).toEqual([20, 40]);
    const at = (x: number, y: number) => Array.from(image.data.subarray((y * 20 + x) * 3, (y * 20 + x) * 3 + 3));
    expect(at(10, 5)[0]).toBeGreaterThan(200); // the left (red) half is now on top
    expect(at(10, 35)[2]).toBeGreaterThan(200);
  });

  it('re-encodes teaching photos without metadata', async () => {
    const bytes = await sharp(solid(20, 10, [10, 20, 30]), { raw: { width: 20, height: 10, channels: 3 } })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const kept = await encodeJpeg(await decodeImage(bytes));
    const meta = await sharp(kept).metadata();
    expect(meta.orientation).toBeUndefined();
    expect(meta.exif).toBeUndefined();
    expect([meta.width, meta.height]).toEqual([10, 20]);
  });
});
