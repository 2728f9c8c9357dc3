import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { drawLabelledBoxes } from './draw.ts';

describe('drawLabelledBoxes', () => {
  it('outlines the box where the coordinates say and leaves the inside untouched', async () => {
    const image = { width: 200, height: 200, data: new Uint8Array(200 * 200 * 3).fill(255) };
    const drawn = await drawLabelledBoxes(image, [
      { x: 50, y: 80, width: 100, height: 60, label: 'Rex', color: '#ff0000' },
    ]);
    expect([drawn.width, drawn.height]).toEqual([200, 200]);
    const at = (x: number, y: number) => Array.from(drawn.data.subarray((y * 200 + x) * 3, (y * 200 + x) * 3 + 3));
    expect(at(50, 110)).toEqual([255, 0, 0]); // left edge
    expect(at(149, 110)).toEqual([255, 0, 0]); // right edge
    expect(at(100, 139)).toEqual([255, 0, 0]); // bottom edge
    expect(at(100, 110)).toEqual([255, 255, 255]); // inside
    expect(at(10, 10)).toEqual([255, 255, 255]); // far outside
    // The label tab sits above the box.
    expect(at(52, 70)[0]).toBe(255);
    expect(at(52, 70)[1]).toBeLessThan(100);
  });

  it('draws on the photo brought to the long side it is sent at, with the box moved with it', async () => {
    const data = new Uint8Array(4000 * 3000 * 3).fill(255);
    const drawn = await drawLabelledBoxes({ width: 4000, height: 3000, data }, [
      { x: 1000, y: 1000, width: 2000, height: 1000, label: 'Rex', color: '#ff0000' },
    ]);
    expect([drawn.width, drawn.height]).toEqual([2048, 1536]);
    const at = (x: number, y: number) => Array.from(drawn.data.subarray((y * 2048 + x) * 3, (y * 2048 + x) * 3 + 3));
    // 1000 px of the photo is 512 px of the output; the stroke is sized for the output (1536 / 150 ≈ 10 px).
    expect(at(513, 768)).toEqual([255, 0, 0]);
    expect(at(520, 768)).toEqual([255, 0, 0]);
    expect(at(530, 768)).toEqual([255, 255, 255]);
    expect(at(1535, 768)).toEqual([255, 0, 0]);
    // A decodable image of the same pixels.
    const png = await sharp(drawn.data, { raw: { width: 2048, height: 1536, channels: 3 } })
      .png()
      .toBuffer();
    expect((await sharp(png).metadata()).width).toBe(2048);
  });
});
