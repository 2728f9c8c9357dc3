// The one encoder for images the assistant sends back (a /refer photo with
// its box, any reply image). A 12-megapixel photo re-encoded as PNG is about
// 30 MB, over every messenger's upload limit; a JPEG at a chat-sized long
// side is a few hundred kilobytes and looks the same in a chat window.
import sharp, { type Sharp } from 'sharp';
import type { RgbImage } from './decode.ts';

/** Longest side of an image sent back, in pixels: what chat clients show full screen, and Telegram's own photo size. */
export const REPLY_IMAGE_MAX_SIDE = 2048;

/** Bytes an image sent back may take before it is made smaller: well under every messenger's limit (8-10 MB). */
export const REPLY_IMAGE_MAX_BYTES = 2 * 1024 * 1024;

/** JPEG quality of the first try; lower ones are tried only when an image would not fit its byte limit. */
const JPEG_QUALITIES = [85, 75, 60] as const;

/** Each further try past the last quality shrinks the long side by this factor. */
const SHRINK_STEP = 0.75;

export interface EncodedImage {
  bytes: Uint8Array;
  mimeType: 'image/jpeg';
  width: number;
  height: number;
}

export interface ImageFit {
  /** Largest file, in bytes. */
  maxBytes: number;
  /** Longest side, in pixels. */
  maxSide: number;
}

/** An image file as replies carry it. */
export interface ImageFile {
  bytes: Uint8Array;
  mimeType: 'image/png' | 'image/jpeg';
  /** A file name for platforms that need one ("refer-rex.jpg"). */
  name: string;
}

const REPLY_FIT: ImageFit = { maxBytes: REPLY_IMAGE_MAX_BYTES, maxSide: REPLY_IMAGE_MAX_SIDE };

/** The size `width`×`height` takes when its long side is at most `maxSide` (never enlarged). */
export function fittedSize(width: number, height: number, maxSide: number): { width: number; height: number } {
  const scale = Math.min(1, maxSide / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/** Encodes RGB pixels as a JPEG that fits `fit`: lower quality first, then a smaller long side. */
export async function encodeJpeg(image: RgbImage, fit: ImageFit = REPLY_FIT): Promise<EncodedImage> {
  const raw = { raw: { width: image.width, height: image.height, channels: 3 as const } };
  return encodeFitting(() => sharp(image.data, raw), image.width, image.height, fit);
}

/**
 * An image as a platform accepts it: unchanged when it already fits
 * `fit`, otherwise re-encoded as a JPEG that does. Adapters call it with
 * their platform's limits before uploading.
 */
export async function fitImage(image: ImageFile, fit: ImageFit): Promise<ImageFile> {
  const input = Buffer.from(image.bytes.buffer, image.bytes.byteOffset, image.bytes.byteLength);
  const { width = 0, height = 0 } = await sharp(input).metadata();
  if (image.bytes.byteLength <= fit.maxBytes && Math.max(width, height) <= fit.maxSide) return image;
  const encoded = await encodeFitting(() => sharp(input).rotate(), width, height, fit);
  return { ...image, bytes: encoded.bytes, mimeType: 'image/jpeg', name: image.name.replace(/\.[^.]*$/, '') + '.jpg' };
}

async function encodeFitting(source: () => Sharp, width: number, height: number, fit: ImageFit): Promise<EncodedImage> {
  let side = Math.min(fit.maxSide, Math.max(width, height));
  for (;;) {
    const size = fittedSize(width, height, side);
    for (const quality of JPEG_QUALITIES) {
      const buffer = await source()
        .resize(size.width, size.height, { fit: 'fill' })
        .jpeg({ quality, mozjpeg: true })
        .toBuffer();
      // The smallest size tried is a thumbnail; past it, a too-strict limit gets the thumbnail anyway.
      if (buffer.byteLength <= fit.maxBytes || side <= 64)
        return {
          bytes: new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength),
          mimeType: 'image/jpeg',
          ...size,
        };
    }
    side = Math.max(64, Math.floor(side * SHRINK_STEP));
  }
}
