// Box arithmetic shared by the detectors, the matcher and the evaluation:
// overlap and non-maximum suppression (where a box sits is in image/box.ts).
import type { Box } from '../../image/box.ts';

/** Intersection over union of two boxes; 0 when either is empty. */
export function iou(a: Box, b: Box): number {
  const left = Math.max(a.x, b.x);
  const top = Math.max(a.y, b.y);
  const right = Math.min(a.x + a.width, b.x + b.width);
  const bottom = Math.min(a.y + a.height, b.y + b.height);
  const overlap = Math.max(0, right - left) * Math.max(0, bottom - top);
  const union = a.width * a.height + b.width * b.height - overlap;
  return union > 0 ? overlap / union : 0;
}

/**
 * Greedy non-maximum suppression: keeps the best-scoring box of every cluster
 * that overlaps more than `iouThreshold`. Returns the kept items, best first.
 */
export function nonMaximumSuppression<T extends { box: Box; score: number }>(
  items: readonly T[],
  iouThreshold: number,
): T[] {
  const sorted = [...items].sort((a, b) => b.score - a.score);
  const kept: T[] = [];
  for (const item of sorted) {
    if (kept.every((k) => iou(k.box, item.box) <= iouThreshold)) kept.push(item);
  }
  return kept;
}

/** Clips a box to the photo; a box wholly outside becomes empty. */
export function clipBox(box: Box, width: number, height: number): Box {
  const x = Math.min(Math.max(box.x, 0), width);
  const y = Math.min(Math.max(box.y, 0), height);
  const right = Math.min(Math.max(box.x + box.width, 0), width);
  const bottom = Math.min(Math.max(box.y + box.height, 0), height);
  return { x, y, width: right - x, height: bottom - y };
}

/** Faces ordered as a person reads a group photo: by the horizontal centre of their box, left first. */
export function leftToRight<T extends { box: Box }>(faces: readonly T[]): T[] {
  const centre = (face: T) => face.box.x + face.box.width / 2;
  return [...faces].sort((a, b) => centre(a) - centre(b));
}
