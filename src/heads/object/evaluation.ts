// The object-head evaluation (the paper's Table 5, right): per concept and
// fold, train a head on N positives and the negatives a user would have, then
// count held-out positives accepted and negatives rejected. The test set never
// holds an image that any head of that (concept, fold) could have trained on,
// whichever negative sources are switched on, so runs with different sources
// are compared on the same photos.
import { readFile } from 'node:fs/promises';
import { decodeImage } from '../../image/decode.ts';
import { seededRandom, shuffle } from '../../random.ts';
import type { ObjectDataset } from './dataset.ts';
import { HeadBank } from './head-bank.ts';
import { fitObjectHead, type HeadMethod } from './fit.ts';
import type { NormalizationMode } from './normalization.ts';
import type { PhotoFeatures } from './photo-features.ts';
import { viewPlan } from './views.ts';

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

export interface ObjectEvalOptions {
  shots: number;
  folds: number;
  seed: number;
  sources: readonly NegativeSource[];
  positiveViews: number;
  negativeViews: number;
  normalization: NormalizationMode;
  onProgress?: (message: string) => void;
}

/** Correct out of total. */
export interface Tally {
  correct: number;
  total: number;
}

export type NegativeKind = 'otherConcepts' | 'ownHard' | 'otherHard' | 'random';

export interface ConceptResult {
  name: string;
  recall: number;
  negativeAccuracy: number;
  positives: Tally;
  negatives: Tally;
}

export interface ObjectEvalReport {
  extractor: string;
  shots: number;
  folds: number;
  seed: number;
  sources: NegativeSource[];
  positiveViews: number;
  negativeViews: number;
  normalization: NormalizationMode;
  /** Held-out positives accepted, over every concept and fold. */
  recall: number;
  /** Test negatives rejected, over every concept and fold. */
  negativeAccuracy: number;
  positives: Tally;
  negatives: Tally;
  byNegativeKind: Record<NegativeKind, Tally & { accuracy: number }>;
  concepts: ConceptResult[];
  /** How the heads were built: `trained`, or `prototype` when no negative source was on. */
  methods: HeadMethod[];
  /**
   * Diagnostic, not an operating point: the recall the same heads would reach
   * if one global threshold were chosen after the fact to reject this share
   * of the test negatives. It shows what the features allow at any threshold.
   */
  recallAtNegativeAccuracy: Array<{ negativeAccuracy: number; threshold: number; recall: number }>;
  /** Seconds spent computing (or reading cached) features. */
  featureSeconds: number;
  /** Median milliseconds to train one head (features cached). */
  medianTrainingMs: number;
}

/** Runs the protocol over a dataset; features are computed once per photo and view. */
export async function evaluateObjectHeads(
  dataset: ObjectDataset,
  features: PhotoFeatures,
  options: ObjectEvalOptions,
): Promise<ObjectEvalReport> {
  const plan = viewPlan(Math.max(options.positiveViews, options.negativeViews));
  const conceptPhotos = dataset.concepts.flatMap((c) => c.photos);
  const otherPhotos = [...[...dataset.hardNegatives.values()].flat(), ...dataset.random];
  options.onProgress?.(`computing features of ${conceptPhotos.length + otherPhotos.length} photos`);
  const featuresStarted = performance.now();
  const store = new Map<string, Float32Array[]>();
  await computeFeatures(
    features,
    conceptPhotos,
    plan.slice(0, Math.max(options.positiveViews, options.negativeViews)),
    store,
  );
  await computeFeatures(features, otherPhotos, plan.slice(0, options.negativeViews), store);
  const featureSeconds = (performance.now() - featuresStarted) / 1000;
  const asPositive = (file: string) => (store.get(file) as Float32Array[]).slice(0, options.positiveViews);
  const asNegative = (file: string) => (store.get(file) as Float32Array[]).slice(0, options.negativeViews);
  const identity = (file: string) => (store.get(file) as Float32Array[])[0];

  const kinds: Record<NegativeKind, Tally> = {
    otherConcepts: { correct: 0, total: 0 },
    ownHard: { correct: 0, total: 0 },
    otherHard: { correct: 0, total: 0 },
    random: { correct: 0, total: 0 },
  };
  const concepts: ConceptResult[] = [];
  const trainingMs: number[] = [];
  const methods = new Set<HeadMethod>();
  const positiveScores: number[] = [];
  const negativeScores: number[] = [];
  for (const concept of dataset.concepts) {
    const positives: Tally = { correct: 0, total: 0 };
    const negatives: Tally = { correct: 0, total: 0 };
    for (let fold = 0; fold < options.folds; fold++) {
      const taught = new Map(
        dataset.concepts.map((c) => [c.name, teachingSplit(c.photos, options.shots, fold, options.seed, c.name)]),
      );
      const own = taught.get(concept.name) as Split;
      const hard = halves(dataset.hardNegatives.get(concept.name) ?? [], fold, options.seed, `hard:${concept.name}`);
      const random = halves(dataset.random, fold, options.seed, 'random');
      const trainingNegatives: string[] = [];
      if (options.sources.includes('hard')) trainingNegatives.push(...hard.train);
      if (options.sources.includes('scope'))
        for (const [name, split] of taught) if (name !== concept.name) trainingNegatives.push(...split.train);
      if (options.sources.includes('random')) trainingNegatives.push(...random.train);

      const { params, milliseconds, method } = fitObjectHead(
        { positives: own.train.map(asPositive), negatives: trainingNegatives.map(asNegative) },
        {
          extractor: features.extractorId,
          seed: derivedSeed(options.seed, concept.name, fold),
          normalization: options.normalization,
        },
      );
      trainingMs.push(milliseconds);
      methods.add(method);
      const bank = new HeadBank(params.dims, params.extractor);
      bank.sync([{ conceptId: concept.name, params }]);
      const fires = (file: string) => bank.score(identity(file))[0].fires;
      const probability = (file: string) => bank.probabilities(identity(file))[0];
      for (const file of own.test) positiveScores.push(probability(file));

      for (const file of own.test) tally(positives, fires(file));
      const tests: Array<[NegativeKind, string]> = [];
      for (const [name, split] of taught)
        if (name !== concept.name) for (const file of split.test) tests.push(['otherConcepts', file]);
      for (const file of hard.test) tests.push(['ownHard', file]);
      for (const [name, files] of dataset.hardNegatives)
        if (name !== concept.name) for (const file of files) tests.push(['otherHard', file]);
      for (const file of random.test) tests.push(['random', file]);
      for (const [kind, file] of tests) {
        negativeScores.push(probability(file));
        const rejected = !fires(file);
        tally(negatives, rejected);
        tally(kinds[kind], rejected);
      }
    }
    concepts.push({
      name: concept.name,
      recall: share(positives),
      negativeAccuracy: share(negatives),
      positives,
      negatives,
    });
    options.onProgress?.(
      `${concept.name}: recall ${share(positives).toFixed(3)}, negatives rejected ${share(negatives).toFixed(3)}`,
    );
  }
  const positives = sum(concepts.map((c) => c.positives));
  const negatives = sum(concepts.map((c) => c.negatives));
  trainingMs.sort((a, b) => a - b);
  return {
    extractor: features.extractorId,
    shots: options.shots,
    folds: options.folds,
    seed: options.seed,
    sources: [...options.sources],
    positiveViews: options.positiveViews,
    negativeViews: options.negativeViews,
    normalization: options.normalization,
    recall: share(positives),
    negativeAccuracy: share(negatives),
    positives,
    negatives,
    byNegativeKind: Object.fromEntries(
      Object.entries(kinds).map(([k, t]) => [k, { ...t, accuracy: share(t) }]),
    ) as ObjectEvalReport['byNegativeKind'],
    concepts,
    methods: [...methods],
    recallAtNegativeAccuracy: [0.9, 0.95, 0.98].map((target) => operatingPoint(positiveScores, negativeScores, target)),
    featureSeconds,
    medianTrainingMs: trainingMs[Math.floor(trainingMs.length / 2)] ?? 0,
  };
}

interface Split {
  train: string[];
  test: string[];
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

async function computeFeatures(
  features: PhotoFeatures,
  files: readonly string[],
  views: ReturnType<typeof viewPlan>,
  store: Map<string, Float32Array[]>,
): Promise<void> {
  const chunk = 16;
  for (let start = 0; start < files.length; start += chunk) {
    const batch = files.slice(start, start + chunk).filter((f) => !store.has(f));
    const images = await Promise.all(batch.map(async (file) => decodeImage(new Uint8Array(await readFile(file)))));
    const vectors = await features.views(images, views);
    batch.forEach((file, i) => store.set(file, vectors[i]));
  }
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

/** The lowest threshold that rejects at least `target` of the negatives, and the recall it keeps. */
function operatingPoint(
  positives: number[],
  negatives: number[],
  target: number,
): { negativeAccuracy: number; threshold: number; recall: number } {
  if (negatives.length === 0 || positives.length === 0) return { negativeAccuracy: target, threshold: 0.5, recall: 0 };
  const sorted = [...negatives].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.ceil(target * sorted.length) - 1);
  const threshold = sorted[index];
  // A photo fires at p > threshold here (strictly), so the chosen negative and everything below it is rejected.
  return {
    negativeAccuracy: target,
    threshold,
    recall: positives.filter((p) => p > threshold).length / positives.length,
  };
}

function tally(t: Tally, correct: boolean): void {
  t.total += 1;
  if (correct) t.correct += 1;
}

function share(t: Tally): number {
  return t.total === 0 ? 0 : t.correct / t.total;
}

function sum(tallies: readonly Tally[]): Tally {
  return tallies.reduce((a, b) => ({ correct: a.correct + b.correct, total: a.total + b.total }), {
    correct: 0,
    total: 0,
  });
}
