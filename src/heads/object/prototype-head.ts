// The object head of a fresh install, before any negative exists: a
// prototype rule, "close enough to the average teaching photo", written as a
// linear head so that it is stored, scored and replaced like any other.
//
// cos(x, mu) >= tau becomes p = sigmoid(s (mu . x/|x| - tau)), i.e. rows
// w1 = s mu / 2, w0 = -s mu / 2, b1 = -s tau / 2, b0 = s tau / 2 over
// L2-normalized features. tau calibrates itself on the teaching photos: the
// least similar teaching view, less a margin, so every teaching photo passes.
// Measured in docs/objects.md against training on real negatives.
import { OBJECT_HEAD } from '../../config/defaults.ts';
import { InternalError } from '../../errors.ts';
import type { LinearHeadParams } from '../../memory/concept.ts';
import { inverseNorm } from './normalization.ts';

/**
 * Logit per unit of cosine similarity: with 20, a photo 0.1 below the
 * threshold scores p = 0.12 and 0.1 above scores 0.88.
 */
export const PROTOTYPE_SCALE = 20;

/**
 * How far below the least similar teaching view the threshold sits. Views
 * include +-30 degree rotations, so the threshold already allows for pose;
 * 0.05 of cosine similarity leaves room for a new photo's background.
 */
export const PROTOTYPE_MARGIN = 0.05;

/**
 * A head from positives alone. `positives[photo][view]` are raw features;
 * each photo counts once (its views are averaged) in the prototype.
 */
export function prototypeHead(
  positives: ReadonlyArray<readonly Float32Array[]>,
  extractor: string,
  seed: number,
): LinearHeadParams {
  if (positives.length === 0 || positives[0].length === 0)
    throw new InternalError('a prototype head needs at least one positive photo');
  const dims = positives[0][0].length;
  const sum = new Float64Array(dims);
  for (const views of positives) {
    const photoMean = new Float64Array(dims);
    for (const view of views) addScaled(photoMean, view, inverseNorm(view) / views.length);
    const length = Math.hypot(...photoMean);
    if (length > 0) for (let i = 0; i < dims; i++) sum[i] += photoMean[i] / length;
  }
  const length = Math.hypot(...sum);
  const prototype = Float32Array.from(sum, (v) => (length > 0 ? v / length : 0));
  let threshold = 1;
  for (const views of positives) for (const view of views) threshold = Math.min(threshold, cosine(prototype, view));
  threshold -= PROTOTYPE_MARGIN;
  const weight = new Float32Array(2 * dims);
  for (let i = 0; i < dims; i++) {
    weight[dims + i] = (PROTOTYPE_SCALE * prototype[i]) / 2;
    weight[i] = -weight[dims + i];
  }
  return {
    type: 'linear',
    extractor,
    dims,
    weight,
    bias: new Float32Array([(PROTOTYPE_SCALE * threshold) / 2, (-PROTOTYPE_SCALE * threshold) / 2]),
    normalization: { center: null, l2: true },
    threshold: OBJECT_HEAD.threshold,
    trainedOn: { positives: positives.length, negatives: 0, steps: 0, seed },
  };
}

/** cos(unit, x) for a unit-length `unit`. */
function cosine(unit: Float32Array, x: Float32Array): number {
  let dot = 0;
  for (let i = 0; i < x.length; i++) dot += unit[i] * x[i];
  return dot * inverseNorm(x);
}

function addScaled(into: Float64Array, x: Float32Array, scale: number): void {
  for (let i = 0; i < x.length; i++) into[i] += x[i] * scale;
}
