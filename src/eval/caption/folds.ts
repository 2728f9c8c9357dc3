// The paper's folds (supplementary material, "Evaluation Protocol"): each fold
// draws `shots` teaching photos of the concept at random and evaluates on the
// rest, five times with five seeds. A fold's draw depends only on the run's
// seed, the concept and the fold number, so a resumed or partial run
// (--concepts) draws the same photos.
import { seededRandom, shuffle } from '../../random.ts';
import { createHash } from 'node:crypto';

export interface Fold<T> {
  index: number;
  train: T[];
  test: T[];
}

/** A 32-bit seed from the run's seed, the concept and the fold. */
function foldSeed(seed: number, concept: string, fold: number): number {
  return createHash('sha256').update(`${seed}/${concept}/${fold}`).digest().readUInt32LE(0);
}

/** `folds` draws of `shots` teaching photos out of `photos` (at least shots + 1 of them); the rest are tested. */
export function conceptFolds<T>(
  photos: readonly T[],
  concept: string,
  shots: number,
  folds: number,
  seed: number,
): Fold<T>[] {
  return Array.from({ length: folds }, (_, index) => {
    const order = shuffle([...photos], seededRandom(foldSeed(seed, concept, index)));
    return { index, train: order.slice(0, shots), test: order.slice(shots) };
  });
}
