// Regions of a photo for object heads: the whole photo and multi-scale grids
// of overlapping crops. A small mug in a kitchen is a few percent of the
// pixels a whole-image feature averages; in a crop of a third of the photo it
// is ten times more. A head scores every region and keeps the best one, which
// is also where it says the concept is.
import { InternalError } from '../../errors.ts';
import type { Box } from '../../image/box.ts';
import type { RgbImage } from '../../image/decode.ts';
import { cropRgb } from '../../image/tensor.ts';

/** One region, in fractions of the photo's width and height (0..1). */
export interface Region {
  /** Stable name, part of the feature-cache key (`whole`, `g2-0-1`: grid 2, column 0, row 1). */
  tag: string;
  left: number;
  top: number;
  width: number;
  height: number;
}

/** The whole photo: region 0 of every plan. */
export const WHOLE_REGION: Region = { tag: 'whole', left: 0, top: 0, width: 1, height: 1 };

/**
 * The whole photo, then for each grid size g a g x g grid of crops whose side
 * is 2/(g+1) of the photo's, stepping by half a crop (neighbours overlap by
 * half): g = 2 gives four crops of two thirds, g = 3 nine crops of a half.
 */
export function regionPlan(grids: readonly number[]): Region[] {
  const plan: Region[] = [WHOLE_REGION];
  for (const g of grids) {
    if (!Number.isInteger(g) || g < 2 || g > 8)
      throw new InternalError(`a region grid is 2 to 8 crops a side, not ${g}`);
    const side = 2 / (g + 1);
    const step = 1 / (g + 1);
    for (let row = 0; row < g; row++) {
      for (let col = 0; col < g; col++) {
        plan.push({ tag: `g${g}-${col}-${row}`, left: col * step, top: row * step, width: side, height: side });
      }
    }
  }
  return plan;
}

/** A region in a photo's pixels, at least one pixel each way and inside the photo. */
export function regionBox(region: Region, width: number, height: number): Box {
  const x = Math.min(width - 1, Math.round(region.left * width));
  const y = Math.min(height - 1, Math.round(region.top * height));
  return {
    x,
    y,
    width: Math.max(1, Math.min(width - x, Math.round(region.width * width))),
    height: Math.max(1, Math.min(height - y, Math.round(region.height * height))),
  };
}

/** The region's pixels (the photo itself for the whole region). */
export function cropRegion(image: RgbImage, region: Region): RgbImage {
  if (region === WHOLE_REGION || region.tag === WHOLE_REGION.tag) return image;
  const box = regionBox(region, image.width, image.height);
  return cropRgb(image, box.x, box.y, box.width, box.height);
}
