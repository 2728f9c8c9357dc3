// Augmented views of a photo for training object heads. The paper augments
// every training sample with a random horizontal flip (p 0.5) and a random
// rotation in +-30 degrees; we render a fixed, deterministic plan of K views
// per photo once, cache their features, and let the trainer sample among them.
// A fixed plan means the same photo always yields the same views, so their
// features are computed once per (photo, view) for good.
import { OBJECT_HEAD } from '../../config/defaults.ts';
import { InternalError } from '../../errors.ts';
import { flipHorizontal, rotate } from '../../image/augment.ts';
import type { RgbImage } from '../../image/decode.ts';

/** One view of a photo: mirror it or not, then rotate it counter-clockwise. */
export interface ViewSpec {
  flip: boolean;
  /** Counter-clockwise rotation in degrees, black fill (torchvision's RandomRotation). */
  degrees: number;
}

/** The photo as it is. */
export const IDENTITY_VIEW: ViewSpec = { flip: false, degrees: 0 };

/**
 * Views rendered per positive teaching photo (K). Eight covers the
 * augmentation range (identity, and seven angles spread evenly over +-30
 * degrees, about half of them mirrored) at eight feature extractions per
 * teaching photo: about a second per photo with CLIP ViT-B/32 on a laptop CPU.
 */
export const POSITIVE_VIEWS = 8;

/**
 * Views rendered per negative photo. One (the photo itself): negatives are
 * many and varied already, and rendering K views of 150 negatives would make
 * teaching K times slower for little gain (measured in docs/objects.md).
 */
export const NEGATIVE_VIEWS = 1;

/**
 * The view plan: view 0 is the photo itself; views 1..K-1 spread their angles
 * evenly over [-max, +max] degrees and mirror every other one (K = 8: -30,
 * -20 mirrored, -10, 0 mirrored, 10, 20 mirrored, 30), so that K views sample
 * the paper's augmentation distribution without randomness.
 */
export function viewPlan(count: number, maxDegrees: number = OBJECT_HEAD.maxRotationDegrees): ViewSpec[] {
  if (!Number.isInteger(count) || count < 1)
    throw new InternalError(`view count must be a positive integer, got ${count}`);
  if (count === 1) return [IDENTITY_VIEW];
  if (count === 2) return [IDENTITY_VIEW, { flip: true, degrees: 0 }];
  const views: ViewSpec[] = [IDENTITY_VIEW];
  const spread = count - 1;
  for (let k = 1; k <= spread; k++) {
    const degrees = -maxDegrees + (2 * maxDegrees * (k - 1)) / (spread - 1);
    views.push({ flip: k % 2 === 0, degrees: Math.round(degrees * 10) / 10 });
  }
  return views;
}

/** A short stable name for a view, part of its feature-cache key (`id`, `f`, `r-12.5`, `fr30`). */
export function viewTag(view: ViewSpec): string {
  if (!view.flip && view.degrees === 0) return 'id';
  const rotation = view.degrees === 0 ? '' : `r${Number(view.degrees.toFixed(1))}`;
  return `${view.flip ? 'f' : ''}${rotation}`;
}

/** Renders a view of a photo: mirror first, then rotate about the centre. */
export function renderView(image: RgbImage, view: ViewSpec): RgbImage {
  const mirrored = view.flip ? flipHorizontal(image) : image;
  return view.degrees === 0 ? mirrored : rotate(mirrored, view.degrees);
}
