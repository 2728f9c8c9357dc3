// Face keys as vectors: similarity of a face to a person's keys, and the
// assignment of a photo's faces to the scope's people. Pure functions over
// embeddings, so the evaluation reuses exactly what the assistant runs.
import type { FaceHeadParams } from '../../memory/concept.ts';
import type { PerPersonRule } from '../../models/catalog/faces.ts';
import { InternalError } from '../../errors.ts';

/** A person of the scope, as the matcher sees them. */
export interface PersonKeys {
  conceptId: string;
  params: FaceHeadParams;
}

/** One face given to one person. */
export interface FaceAssignment {
  faceIndex: number;
  conceptId: string;
  /** Cosine similarity between the face and the person's nearest key. */
  similarity: number;
}

/** Dot product of two unit vectors: their cosine similarity. */
export function cosine(a: Float32Array, b: Float32Array, bOffset = 0): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[bOffset + i];
  return sum;
}

/** Number of keys stored in a face head. */
export function keyCount(params: FaceHeadParams): number {
  return params.dims > 0 ? Math.floor(params.keys.length / params.dims) : 0;
}

/** Cosine similarity of a face to the nearest of a person's keys; -Infinity when they have none. */
export function nearestKeySimilarity(embedding: Float32Array, params: FaceHeadParams): number {
  let best = -Infinity;
  const n = keyCount(params);
  for (let k = 0; k < n; k++) best = Math.max(best, cosine(embedding, params.keys, k * params.dims));
  return best;
}

/**
 * Per-person thresholds from the scope's keys alone: a person whose keys stay
 * far from everyone else's may be matched at a lower similarity, down to
 * `threshold - maxLowering` but never below their nearest other person's keys
 * plus `margin`, and never above `threshold`. One global threshold must
 * keep the most look-alike pair of people apart, and so misses the photos of
 * well-separated people that fall just under it. A person with one key (no
 * idea yet how much their photos vary) or alone in the scope (nobody to
 * measure a margin to) keeps `threshold`. Computed at match time, so a
 * person taught, renamed or forgotten moves the others' thresholds at once.
 */
export function personThresholds(
  people: readonly PersonKeys[],
  threshold: number,
  rule: PerPersonRule,
): Map<string, number> {
  const thresholds = new Map<string, number>();
  for (const person of people) {
    const others = people.filter((p) => p !== person);
    if (keyCount(person.params) < 2 || others.length === 0) {
      thresholds.set(person.conceptId, threshold);
      continue;
    }
    let nearestOther = -Infinity;
    for (const key of unpackKeys(person.params))
      for (const other of others) nearestOther = Math.max(nearestOther, nearestKeySimilarity(key, other.params));
    const lowered = Math.max(threshold - rule.maxLowering, nearestOther + rule.margin);
    thresholds.set(person.conceptId, Math.min(threshold, lowered));
  }
  return thresholds;
}

/**
 * Gives each face to its nearest person when the similarity reaches
 * `threshold` (or that person's own threshold in `perPerson`); when several
 * faces pick the same person, only the most similar keeps them, so each
 * person fires at most once and each face goes to at most one person. People
 * whose keys come from another recognizer (or have another dimension) are
 * skipped by the caller; here all keys must be comparable. Assignments come
 * back most similar first.
 */
export function assignFaces(
  faces: readonly Float32Array[],
  people: readonly PersonKeys[],
  threshold: number,
  perPerson: ReadonlyMap<string, number> = new Map(),
): FaceAssignment[] {
  const best = new Map<string, FaceAssignment>();
  faces.forEach((embedding, faceIndex) => {
    let nearest: FaceAssignment | null = null;
    for (const person of people) {
      const similarity = nearestKeySimilarity(embedding, person.params);
      if (nearest === null || similarity > nearest.similarity)
        nearest = { faceIndex, conceptId: person.conceptId, similarity };
    }
    if (nearest === null || !(nearest.similarity >= (perPerson.get(nearest.conceptId) ?? threshold))) return;
    const previous = best.get(nearest.conceptId);
    if (!previous || nearest.similarity > previous.similarity) best.set(nearest.conceptId, nearest);
  });
  return [...best.values()].sort((a, b) => b.similarity - a.similarity);
}

/** Packs embeddings into face head parameters (row-major keys). */
export function toFaceHeadParams(recognizer: string, dims: number, keys: readonly Float32Array[]): FaceHeadParams {
  const packed = new Float32Array(keys.length * dims);
  keys.forEach((key, i) => {
    if (key.length !== dims) throw new InternalError(`a ${key.length}-d key cannot join ${dims}-d keys`);
    packed.set(key, i * dims);
  });
  return { type: 'face', recognizer, dims, keys: packed };
}

/** The keys of a face head, one array per key. */
export function unpackKeys(params: FaceHeadParams): Float32Array[] {
  const keys: Float32Array[] = [];
  for (let k = 0; k < keyCount(params); k++) keys.push(params.keys.slice(k * params.dims, (k + 1) * params.dims));
  return keys;
}
