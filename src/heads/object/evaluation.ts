// The object-head evaluation (the paper's Table 5, right): per concept and
// fold, train a head on N positives and the negatives a user would have, then
// count held-out positives accepted and negatives rejected. The test set never
// holds an image that any head of that (concept, fold) could have trained on,
// whichever negative sources are switched on, so runs with different sources
// are compared on the same photos. Photos are compared by content: a loaded
// dataset holds each content once (dataset.ts). Anything chosen (the
// normalization, a threshold) is chosen on the calibration half and reported
// on the test half (`evaluateCalibrated`).
import { readFile } from 'node:fs/promises';
import { decodeImage } from '../../image/decode.ts';
import { seededRandom, shuffle } from '../../random.ts';
import { splitForCalibration, type ObjectDataset } from './dataset.ts';
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
  /**
   * Thresholds chosen elsewhere (on the calibration half) to measure this run
   * at; without them, the run chooses its own operating points.
   */
  thresholds?: readonly number[];
  onProgress?: (message: string) => void;
}

/** Shares of test negatives an operating point is chosen to reject. */
export const OPERATING_POINT_TARGETS = [0.9, 0.95, 0.98] as const;

/** A threshold chosen to reject a share of a run's negatives, and the recall it keeps there. */
export interface OperatingPoint {
  negativeAccuracy: number;
  threshold: number;
  recall: number;
}

/** A run measured at a threshold chosen elsewhere. */
export interface AtThreshold {
  threshold: number;
  recall: number;
  negativeAccuracy: number;
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
   * Without `thresholds`: one global threshold per target, chosen on this
   * run's own scores to reject that share of its negatives, and the recall it
   * keeps. Meant for the calibration half: there it is a choice; on the
   * photos it is reported on it would flatter the features.
   */
  operatingPoints?: OperatingPoint[];
  /** With `thresholds`: recall and negative accuracy of this run at each of them. */
  atThresholds?: AtThreshold[];
  /** Seconds spent computing (or reading cached) features. */
  featureSeconds: number;
  /** Median milliseconds to train one head (features cached). */
  medianTrainingMs: number;
}

/** Both halves of a dataset evaluated: the test half at the thresholds the calibration half chose. */
export interface CalibratedObjectEval {
  calibration: ObjectEvalReport;
  /** Null when only the calibration half was asked for. */
  test: ObjectEvalReport | null;
}

/**
 * Evaluates the calibration half (where operating points are chosen), then,
 * unless `calibrationOnly`, the test half at those thresholds. Comparing
 * settings (the normalization, the views) is a choice too: do it with
 * `calibrationOnly`, so the test half is never looked at while choosing.
 */
export async function evaluateCalibrated(
  dataset: ObjectDataset,
  features: PhotoFeatures,
  options: Omit<ObjectEvalOptions, 'thresholds'> & { calibrationOnly: boolean },
): Promise<CalibratedObjectEval> {
  const halves = splitForCalibration(dataset);
  const calibration = await evaluateObjectHeads(halves.calibration, features, options);
  if (options.calibrationOnly) return { calibration, test: null };
  const thresholds = (calibration.operatingPoints ?? []).map((p) => p.threshold);
  return { calibration, test: await evaluateObjectHeads(halves.test, features, { ...options, thresholds }) };
}

/** Runs the protocol over a dataset; features are computed once per photo and view. */
export async function evaluateObjectHeads(
  dataset: ObjectDataset,
  features: PhotoFeatures,
  options: ObjectEvalOptions,
): Promise<ObjectEvalReport> {
  const plan = viewPlan(Math.max(options.positiveViews, options.negativeViews));
  const conceptPhotos = dataset.concepts.flatMap((c) => c.photos);
  const otherPhotos = [...new Set([...dataset.hardNegatives.values()].flat()), ...dataset.random];
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
      const split = foldSplit(dataset, concept.name, fold, options);
      const trainingNegatives = options.sources.flatMap((source) => split.trainNegatives[source]);
      const { params, milliseconds, method } = fitObjectHead(
        { positives: split.trainPositives.map(asPositive), negatives: trainingNegatives.map(asNegative) },
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
      for (const file of split.testPositives) {
        positiveScores.push(probability(file));
        tally(positives, fires(file));
      }
      for (const [kind, file] of split.testNegatives) {
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
    ...(options.thresholds
      ? { atThresholds: options.thresholds.map((t) => measuredAt(positiveScores, negativeScores, t)) }
      : { operatingPoints: OPERATING_POINT_TARGETS.map((t) => operatingPoint(positiveScores, negativeScores, t)) }),
    featureSeconds,
    medianTrainingMs: trainingMs[Math.floor(trainingMs.length / 2)] ?? 0,
  };
}

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
function operatingPoint(positives: number[], negatives: number[], target: number): OperatingPoint {
  if (negatives.length === 0 || positives.length === 0) return { negativeAccuracy: target, threshold: 0.5, recall: 0 };
  const sorted = [...negatives].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.ceil(target * sorted.length) - 1);
  const threshold = sorted[index];
  // A photo fires at p > threshold here (strictly), so the chosen negative and everything below it is rejected.
  return { negativeAccuracy: target, threshold, recall: above(positives, threshold) };
}

/** Recall and negative accuracy at a threshold chosen on other photos (firing at p > threshold, as it was chosen). */
function measuredAt(positives: number[], negatives: number[], threshold: number): AtThreshold {
  return { threshold, recall: above(positives, threshold), negativeAccuracy: 1 - above(negatives, threshold) };
}

function above(scores: readonly number[], threshold: number): number {
  return scores.length === 0 ? 0 : scores.filter((p) => p > threshold).length / scores.length;
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
