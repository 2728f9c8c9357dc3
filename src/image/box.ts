// A rectangle on a photo, in its pixels: a face the detector found, the
// region a reply points at, the crop the VLM is shown.

/** Left, top, width and height in pixels of the photo. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Where in the photo, in words a reply can use. */
export type Position = 'left' | 'centre' | 'right';

/**
 * Share of the photo's width by which a box centred on the edge of a third
 * still counts as that side: the regions of an object head's 2 x 2 grid are
 * centred exactly at 1/3 and 2/3 of the width (less pixel rounding), and a
 * region in the right-hand column is on the right.
 */
export const SIDE_TOLERANCE = 0.01;

/**
 * A coarse word for where a box is, so a reply can say "Anna (left)": the
 * photo is cut into thirds by the box's horizontal centre; `tolerance`
 * widens the side thirds (SIDE_TOLERANCE for region boxes).
 */
export function horizontalPosition(box: Box, imageWidth: number, tolerance = 0): Position {
  const centre = (box.x + box.width / 2) / Math.max(1, imageWidth);
  if (centre < 1 / 3 + tolerance) return 'left';
  if (centre > 2 / 3 - tolerance) return 'right';
  return 'centre';
}
