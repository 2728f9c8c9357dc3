// How the object evaluation splits a dataset for one (concept, fold): the
// teaching photos, the training negatives by source, and the test photos,
// so that no test photo is one any head of that (concept, fold) could train on.
import { seededRandom, shuffle } from '../../random.ts';
import type { ObjectDataset } from './dataset.ts';

/**
 * Where training negatives come from in the evaluation, standing for what a
 * real user has:
 * - `hard`: half of the concept's own hard negatives (same-category photos):
 *   the photos a user marks "not it" (the other half is tested);
 * - `scope`: the N teaching photos of every other concept in the same fold:
 *   the scope's other concepts;
 * - `random`: half of `random/` (the other half is tested): photos seen in the
 *   scope, or a folder of generic photos (MYVLM_GENERIC_NEGATIVES_DIR).
 */
export type NegativeSource = 'hard' | 'scope' | 'random';

export const ALL_NEGATIVE_SOURCES: readonly NegativeSource[] = ['hard', 'scope', 'random'];

export type NegativeKind = 'otherConcepts' | 'ownHard' | 'otherHard' | 'random';

interface Split {
  train: string[];
  test: string[];
}

/** The photos of one (concept, fold): what its head may train on, by source, and what it is tested on. */
export interface FoldSplit {
  trainPositives: string[];
  trainNegatives: Record<NegativeSource, string[]>;
  testPositives: string[];
  testNegatives: Array<[NegativeKind, string]>;
}

/**
 * Which photos a (concept, fold) trains and tests on. The test negatives
 * exclude every photo any source could train on, so the test set is the same
 * whichever sources a run switches on. A hard negative listed for this
 * concept is its own (trained on or held out), never an other concept's.
 */
export function foldSplit(
  dataset: ObjectDataset,
  conceptName: string,
  fold: number,
  { shots, seed }: { shots: number; seed: number },
): FoldSplit {
  const taught = new Map(dataset.concepts.map((c) => [c.name, teachingSplit(c.photos, shots, fold, seed, c.name)]));
  const own = taught.get(conceptName) as Split;
  const ownHard = dataset.hardNegatives.get(conceptName) ?? [];
  const hard = halves(ownHard, fold, seed, `hard:${conceptName}`);
  const random = halves(dataset.random, fold, seed, 'random');
  const others = [...taught].filter(([name]) => name !== conceptName).map(([, split]) => split);
  const ownHardSet = new Set(ownHard);
  const otherHard = new Set(
    [...dataset.hardNegatives]
      .filter(([name]) => name !== conceptName)
      .flatMap(([, files]) => files)
      .filter((file) => !ownHardSet.has(file)),
  );
  return {
    trainPositives: own.train,
    trainNegatives: { hard: hard.train, scope: others.flatMap((split) => split.train), random: random.train },
    testPositives: own.test,
    testNegatives: [
      ...others.flatMap((split) => split.test.map((file): [NegativeKind, string] => ['otherConcepts', file])),
      ...hard.test.map((file): [NegativeKind, string] => ['ownHard', file]),
      ...[...otherHard].map((file): [NegativeKind, string] => ['otherHard', file]),
      ...random.test.map((file): [NegativeKind, string] => ['random', file]),
    ],
  };
}

/**
 * The N teaching photos of a concept in a fold: a window of a seeded
 * permutation that moves by N each fold (wrapping), so folds differ as much as
 * the photo count allows. Every other photo is a test photo. At least one
 * photo is always held out.
 */
export function teachingSplit(
  photos: readonly string[],
  shots: number,
  fold: number,
  seed: number,
  name: string,
): Split {
  const order = shuffle([...photos], seededRandom(derivedSeed(seed, `order:${name}`, 0)));
  const n = Math.min(shots, order.length - 1);
  const start = (fold * n) % order.length;
  const chosen = new Set<string>();
  for (let i = 0; i < n; i++) chosen.add(order[(start + i) % order.length]);
  return { train: [...chosen], test: order.filter((p) => !chosen.has(p)) };
}

/** A seeded half/half split, different per fold. */
function halves(photos: readonly string[], fold: number, seed: number, name: string): Split {
  const order = shuffle([...photos], seededRandom(derivedSeed(seed, name, fold)));
  const half = Math.floor(order.length / 2);
  return { train: order.slice(0, half), test: order.slice(half) };
}

/** A 31-bit seed from a run seed and names (FNV-1a), so every split and head repeats under the run seed. */
export function derivedSeed(seed: number, name: string, fold: number): number {
  let hash = 0x811c9dc5 ^ seed;
  for (const c of `${name}/${fold}`) {
    hash ^= c.charCodeAt(0);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 1;
}
