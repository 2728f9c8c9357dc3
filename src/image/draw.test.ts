import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { drawLabelledBoxes } from './draw.ts';

describe('drawLabelledBoxes', () => {
  it('outlines the box where the coordinates say and leaves the inside untouched', async () => {
    const image = { width: 200, height: 200, data: new Uint8Array(200 * 200 * 3).fill(255) };
    const png = await drawLabelledBoxes(image, [
      { x: 50, y: 80, width: 100, height: 60, label: 'Rex', color: '#ff0000' },
    ]);
    const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([200, 200]);
    const at = (x: number, y: number) => Array.from(data.subarray((y * 200 + x) * 3, (y * 200 + x) * 3 + 3));
    expect(at(50, 110)).toEqual([255, 0, 0]); // left edge
    expect(at(149, 110)).toEqual([255, 0, 0]); // right edge
    expect(at(100, 139)).toEqual([255, 0, 0]); // bottom edge
    expect(at(100, 110)).toEqual([255, 255, 255]); // inside
    expect(at(10, 10)).toEqual([255, 255, 255]); // far outside
    // The label tab sits above the box.
    expect(at(52, 70)[0]).toBe(255);
    expect(at(52, 70)[1]).toBeLessThan(100);
  });
});
