// Labelled boxes drawn on a photo: how the assistant shows where Rex is.
// The photo is first brought to the size it is sent at, then drawn on, so
// the outline and the label keep a size that shows in a chat whatever the
// camera's resolution (drawn at 4000 px and shrunk, a 2 px line vanishes).
import sharp, { type Sharp } from 'sharp';
import type { Box } from './box.ts';
import type { RgbImage } from './decode.ts';
import { fittedSize, REPLY_IMAGE_MAX_SIDE } from './encode.ts';

export interface LabelledBox extends Box {
  label: string;
  /** CSS colour; a palette colour by index when omitted. */
  color?: string;
}

const PALETTE = ['#ff3b30', '#34c759', '#007aff', '#ff9500', '#af52de', '#ffcc00'];

/**
 * Returns the photo, its long side at most `maxSide`, with each box (in the
 * photo's own pixels) outlined and its label on a filled tab above it.
 */
export async function drawLabelledBoxes(
  photo: RgbImage,
  photoBoxes: readonly LabelledBox[],
  maxSide: number = REPLY_IMAGE_MAX_SIDE,
): Promise<RgbImage> {
  const size = fittedSize(photo.width, photo.height, maxSide);
  const [sx, sy] = [size.width / photo.width, size.height / photo.height];
  const raw = { raw: { width: photo.width, height: photo.height, channels: 3 as const } };
  const image: RgbImage =
    sx === 1 && sy === 1 ? photo : await toRgb(sharp(photo.data, raw).resize(size.width, size.height, { fit: 'fill' }));
  const boxes = photoBoxes.map((b) => ({
    ...b,
    x: b.x * sx,
    y: b.y * sy,
    width: b.width * sx,
    height: b.height * sy,
  }));
  const stroke = Math.max(2, Math.round(Math.min(image.width, image.height) / 150));
  const fontSize = Math.max(12, Math.round(Math.min(image.width, image.height) / 28));
  const shapes = boxes.map((box, i) => {
    const color = box.color ?? PALETTE[i % PALETTE.length];
    const x = clamp(box.x, 0, image.width - 1);
    const y = clamp(box.y, 0, image.height - 1);
    const w = clamp(box.width, 1, image.width - x);
    const h = clamp(box.height, 1, image.height - y);
    const tabHeight = fontSize + 6;
    const tabY = y - tabHeight >= 0 ? y - tabHeight : y;
    const tabWidth = Math.min(image.width - x, Math.round(fontSize * 0.62 * box.label.length) + 10);
    return [
      `<rect x="${x + stroke / 2}" y="${y + stroke / 2}" width="${Math.max(1, w - stroke)}" height="${Math.max(1, h - stroke)}" ` +
        `fill="none" stroke="${color}" stroke-width="${stroke}"/>`,
      `<rect x="${x}" y="${tabY}" width="${tabWidth}" height="${tabHeight}" fill="${color}"/>`,
      `<text x="${x + 5}" y="${tabY + fontSize}" font-family="DejaVu Sans, sans-serif" font-size="${fontSize}" fill="#ffffff">${escapeXml(box.label)}</text>`,
    ].join('');
  });
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${image.width}" height="${image.height}">${shapes.join('')}</svg>`;
  return toRgb(
    sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } }).composite([
      { input: Buffer.from(svg), top: 0, left: 0 },
    ]),
  );
}

async function toRgb(pipeline: Sharp): Promise<RgbImage> {
  const { data, info } = await pipeline.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return {
    width: info.width,
    height: info.height,
    data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  };
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, Math.round(v)));
}

function escapeXml(text: string): string {
  return text.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] ?? c,
  );
}
