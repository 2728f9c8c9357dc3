// Concept-token injection (ALGORITHM.md section 3): one extra row per firing
// concept (INJECTION.tokensPerConcept), appended after the image tokens in the language model's input
// space. The stored vector only gives a direction; its length is taken from
// the image tokens of the photo at hand, so the concept token looks like one
// more image token to the language model.
import type { ConceptScale } from './families.ts';

type FloatArray = Float32Array | Float64Array;

/**
 * The norm a concept row is scaled to: the L2 norm of the first image token
 * (LLaVA) or the mean L2 norm of all image tokens (MiniGPT-v2).
 * `features` holds `rows` rows of `hidden` values.
 */
export function referenceNorm(features: ArrayLike<number>, rows: number, hidden: number, scale: ConceptScale): number {
  const rowNorm = (row: number): number => {
    let sum = 0;
    for (let i = row * hidden; i < (row + 1) * hidden; i++) sum += features[i] * features[i];
    return Math.sqrt(sum);
  };
  if (scale === 'first-image-token') return rowNorm(0);
  let total = 0;
  for (let row = 0; row < rows; row++) total += rowNorm(row);
  return total / rows;
}

/** Why a stored vector cannot be injected into this model, or null when it can. */
export function conceptVectorProblem(vector: Float32Array, hidden: number): string | null {
  if (vector.length !== hidden)
    return `its embedding has ${vector.length} values but this model's tokens have ${hidden}`;
  let sum = 0;
  for (const v of vector) {
    if (!Number.isFinite(v)) return 'its embedding holds a value that is not a number';
    sum += v * v;
  }
  return sum > 0 ? null : 'its embedding is all zeros';
}

/**
 * The token the model reads: vector / |vector| * `norm`, written into `out` at
 * `offset`. Teaching uses the same function, so a concept is trained exactly
 * as it is later injected.
 */
export function writeConceptRow(vector: ArrayLike<number>, norm: number, out: FloatArray, offset = 0): void {
  let sum = 0;
  for (let i = 0; i < vector.length; i++) sum += vector[i] * vector[i];
  if (!(sum > 0)) throw new RangeError('a concept vector of zero length has no direction');
  const factor = norm / Math.sqrt(sum);
  for (let i = 0; i < vector.length; i++) out[offset + i] = vector[i] * factor;
}

/** The stored direction, L2-normalized and rescaled to `norm`. */
export function scaledConceptRow(vector: Float32Array, norm: number): Float64Array {
  const row = new Float64Array(vector.length);
  writeConceptRow(vector, norm, row);
  return row;
}

/**
 * The image features with one scaled row per concept appended, in the given
 * order, as a new array of the features' type. `features` holds `rows` rows
 * of `hidden` values; every vector must already have passed
 * `conceptVectorProblem`.
 */
export function appendConceptRows<T extends FloatArray>(
  features: T,
  rows: number,
  hidden: number,
  vectors: readonly Float32Array[],
  scale: ConceptScale,
): { features: T; norm: number } {
  const norm = referenceNorm(features, rows, hidden, scale);
  const out = new (features.constructor as { new (length: number): T })((rows + vectors.length) * hidden);
  out.set(features.subarray(0, rows * hidden));
  vectors.forEach((vector, i) => out.set(scaledConceptRow(vector, norm), (rows + i) * hidden));
  return { features: out, norm };
}
