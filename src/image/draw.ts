// Labelled boxes drawn on a photo: how the assistant shows where Rex is.
import sharp from 'sharp';
import type { Box } from './box.ts';
import type { RgbImage } from './decode.ts';

export interface LabelledBox extends Box {
  label: string;
  /** CSS colour; a palette colour by index when omitted. */
  color?: string;
}

const PALETTE = ['#ff3b30', '#34c759', '#007aff', '#ff9500', '#af52de', '#ffcc00'];

/** Returns a PNG of the photo with each box outlined and its label on a filled tab above it. */
export async function drawLabelledBoxes(image: RgbImage, boxes: readonly LabelledBox[]): Promise<Uint8Array> {
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
  const buffer = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .composite([{ input: Buffer.from(svg), top: 0, left: 0 }])
    .png()
    .toBuffer();
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
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
