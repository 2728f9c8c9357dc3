// The one decoder for every image that enters the assistant. It refuses what
// is not a photo (empty, not an image, damaged, a decompression bomb) with a
// message fit for a chat, applies EXIF orientation, and hands out RGB pixels.
import { createHash } from 'node:crypto';
import sharp, { type Metadata } from 'sharp';
import { UserError } from '../errors.ts';

/** Interleaved 8-bit RGB pixels, row-major (HWC). */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** A decoded photo: upright RGB pixels plus what we know about its source. */
export interface DecodedImage extends RgbImage {
  /** Container format as sharp reports it (jpeg, png, webp, gif, tiff, heif...). */
  format: string;
  /** sha256 (hex) of the bytes as received; the cache key for features. */
  sha256: string;
}

export interface ImageLimits {
  /** Largest file accepted, in bytes. */
  maxBytes: number;
  /** Largest decoded size accepted, in pixels (width x height). */
  maxPixels: number;
}

/**
 * Defaults: 25 MiB covers any phone photo; 50 megapixels covers phone and
 * most camera photos while refusing decompression bombs before decoding.
 */
export const DEFAULT_IMAGE_LIMITS: ImageLimits = { maxBytes: 25 * 1024 * 1024, maxPixels: 50_000_000 };

const SUPPORTED = new Set(['jpeg', 'png', 'webp', 'gif', 'tiff', 'heif', 'avif']);

/**
 * Decodes any supported photo to upright RGB. Animated images give their first
 * frame; alpha is flattened onto white (what a chat shows behind a sticker).
 */
export async function decodeImage(
  bytes: Uint8Array,
  limits: ImageLimits = DEFAULT_IMAGE_LIMITS,
): Promise<DecodedImage> {
  if (bytes.byteLength === 0) throw new UserError('That file is empty, so there is no photo to look at.');
  if (bytes.byteLength > limits.maxBytes) {
    throw new UserError(
      `That file is ${mebibytes(bytes.byteLength)} MiB; I accept photos up to ${mebibytes(limits.maxBytes)} MiB.`,
    );
  }
  const input = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let metadata: Metadata;
  try {
    metadata = await sharp(input, { limitInputPixels: false }).metadata();
  } catch (cause) {
    throw new UserError('That does not look like a photo I can read (JPEG, PNG, WebP, GIF, TIFF or AVIF).', { cause });
  }
  if (!metadata.format || !SUPPORTED.has(metadata.format)) {
    throw new UserError(
      `I cannot read ${metadata.format ?? 'this'} images; send a JPEG, PNG, WebP, GIF, TIFF or AVIF photo.`,
    );
  }
  const width = metadata.width ?? 0;
  const height = metadata.pageHeight ?? metadata.height ?? 0;
  if (width * height > limits.maxPixels) {
    throw new UserError(
      `That image is ${width}x${height} pixels, larger than the ${(limits.maxPixels / 1e6).toFixed(0)} megapixels I accept.`,
    );
  }
  try {
    const { data, info } = await sharp(input, { failOn: 'truncated', limitInputPixels: limits.maxPixels, pages: 1 })
      .rotate()
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    return {
      width: info.width,
      height: info.height,
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      format: metadata.format,
      sha256: sha256Hex(bytes),
    };
  } catch (cause) {
    throw new UserError('That photo seems damaged or cut off; please send it again.', { cause });
  }
}

/** Re-encodes pixels as a JPEG without metadata: how teaching photos are kept (no GPS, no EXIF). */
export async function encodeJpeg(image: RgbImage, quality = 92): Promise<Uint8Array> {
  const buffer = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .jpeg({ quality })
    .toBuffer();
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** Encodes pixels as PNG (lossless), for images the assistant sends back. */
export async function encodePng(image: RgbImage): Promise<Uint8Array> {
  const buffer = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .png()
    .toBuffer();
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function mebibytes(n: number): string {
  return (n / (1024 * 1024)).toFixed(n < 10 * 1024 * 1024 ? 1 : 0);
}
