// The learned concept vector and how it enters the model: stored as a free
// vector, L2-normalized at use and rescaled to the image tokens' norm
// (ALGORITHM.md section 3, LLaVA: the first projected image token). The
// gradient with respect to the free vector goes back through that
// normalization, so training sees exactly what inference does.
import { EMBEDDING_TRAINING } from '../config/defaults.ts';
import { seededRandom } from '../random.ts';

/** The paper's initialization: uniform in [initLow, initHigh), then L2-normalized. */
export function initialConceptVector(size: number, seed: number): Float64Array {
  const random = seededRandom(seed);
  const { initLow, initHigh } = EMBEDDING_TRAINING;
  const vector = Float64Array.from({ length: size }, () => initLow + (initHigh - initLow) * random());
  const norm = l2Norm(vector);
  for (let i = 0; i < size; i++) vector[i] /= norm;
  return vector;
}

/** Euclidean norm. */
export function l2Norm(values: ArrayLike<number>): number {
  let squares = 0;
  for (let i = 0; i < values.length; i++) squares += values[i] * values[i];
  return Math.sqrt(squares);
}

/**
 * Adds d loss / d vector for one use of the vector, given d loss / d row
 * (the gradient at the concept token's input embedding):
 * (referenceNorm / |v|) (I - u u^T) rowGradient with u = v / |v|.
 */
export function accumulateVectorGradient(
  vector: ArrayLike<number>,
  referenceNorm: number,
  rowGradient: ArrayLike<number>,
  into: Float64Array,
): void {
  const norm = l2Norm(vector);
  let along = 0;
  for (let i = 0; i < vector.length; i++) along += (vector[i] / norm) * rowGradient[i];
  const scale = referenceNorm / norm;
  for (let i = 0; i < vector.length; i++) into[i] += scale * (rowGradient[i] - along * (vector[i] / norm));
}
