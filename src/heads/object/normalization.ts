// Feature normalization is part of an object head: it is fitted with the head,
// saved in its parameters, and applied to every feature the head scores.
// A feature x becomes (l2 ? x / |x| : x) - center.
import type { LinearHeadParams } from '../../memory/concept.ts';

export type FeatureNormalization = LinearHeadParams['normalization'];

/**
 * How features are normalized before the linear layer:
 * - `l2-center`: L2-normalize, then subtract the class-balanced mean of the
 *   training features (the mean of the positives' mean and the negatives'
 *   mean). MobileNet features are non-negative (unrelated photos have cosine
 *   about 0.5), and the centring lets a small-learning-rate head separate
 *   them; it is also harmless for CLIP. The default; on the calibration
 *   half of the MyVLM folder it is within noise of the other two
 *   (docs/objects.md), so the measurement neither confirms nor overturns it.
 * - `l2`: L2-normalize only (the paper's CLIP setting).
 * - `none`: raw features.
 */
export type NormalizationMode = 'l2-center' | 'l2' | 'none';

export const DEFAULT_NORMALIZATION: NormalizationMode = 'l2-center';

/** Applies a head's normalization to one raw feature, into `out` (a new array by default). */
export function normalizeFeature(
  feature: Float32Array,
  normalization: FeatureNormalization,
  out = new Float32Array(feature.length),
): Float32Array {
  const scale = normalization.l2 ? inverseNorm(feature) : 1;
  const center = normalization.center;
  for (let i = 0; i < feature.length; i++) out[i] = feature[i] * scale - (center ? center[i] : 0);
  return out;
}

/** 1/|x|, or 0 for the zero vector (which then stays zero instead of becoming NaN). */
export function inverseNorm(feature: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < feature.length; i++) sum += feature[i] * feature[i];
  return sum > 0 ? 1 / Math.sqrt(sum) : 0;
}

/**
 * Fits the normalization on training features (every view of every photo).
 * Centring needs both classes; without negatives there is no centre.
 */
export function fitNormalization(
  mode: NormalizationMode,
  positives: readonly Float32Array[],
  negatives: readonly Float32Array[],
): FeatureNormalization {
  const l2 = mode !== 'none';
  if (mode !== 'l2-center' || positives.length === 0 || negatives.length === 0) return { center: null, l2 };
  const dims = positives[0].length;
  const positiveMean = mean(positives, dims, l2);
  const negativeMean = mean(negatives, dims, l2);
  const center = new Float32Array(dims);
  for (let i = 0; i < dims; i++) center[i] = 0.5 * (positiveMean[i] + negativeMean[i]);
  return { center, l2 };
}

function mean(features: readonly Float32Array[], dims: number, l2: boolean): Float32Array {
  const sum = new Float64Array(dims);
  for (const f of features) {
    const scale = l2 ? inverseNorm(f) : 1;
    for (let i = 0; i < dims; i++) sum[i] += f[i] * scale;
  }
  const out = new Float32Array(dims);
  for (let i = 0; i < dims; i++) out[i] = sum[i] / features.length;
  return out;
}
