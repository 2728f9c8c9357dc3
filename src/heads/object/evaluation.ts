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
import type { LinearHeadParams } from '../../memory/concept.ts';
import { seededRandom } from '../../random.ts';
import { splitForCalibration, type ObjectDataset } from './dataset.ts';
import { derivedSeed, foldSplit, type NegativeKind, type NegativeSource } from './folds.ts';
import { HeadBank } from './head-bank.ts';
import { fitObjectHead, type HeadMethod } from './fit.ts';
import type { NormalizationMode } from './normalization.ts';
import type { PhotoFeatures } from './photo-features.ts';
import { trainMilHead } from './mil.ts';
import {
  localizationResult,
  localizeOne,
  msPerPhoto,
  scoresOf,
  summarize,
  type LocalizationResult,
  type LocalizationSample,
  type ScoreLists,
  type Scoring,
  type ScoringSummary,
} from './region-evaluation.ts';
import { regionPlan, WHOLE_REGION } from './regions.ts';
import { viewPlan } from './views.ts';

export interface ObjectEvalOptions {
  shots: number;
  folds: number;
  seed: number;
  sources: readonly NegativeSource[];
  positiveViews: number;
  negativeViews: number;
  normalization: NormalizationMode;
  /** Region grids (regions.ts); empty trains and scores whole photos only. */
  regionGrids: readonly number[];
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
  regionGrids: number[];
  /**
   * How the numbers below score a photo: `region` (the best region of a
   * multiple-instance head) with region grids, `wholeImage` without.
   */
  scoring: Scoring;
  /** Each scoring side by side, at the head's threshold; `region` and `combined` only with region grids. */
  scorings: Partial<Record<Scoring, ScoringSummary>>;
  /** Pasted-photo localization check (region-evaluation.ts), fold 0; null without region grids. */
  localization: LocalizationResult | null;
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
  /** Localization composites with their boxes, for the HTML report (test half, or calibration without it). */
  samples: LocalizationSample[];
}

/** Composites per concept in the localization check (its first held-out photos of fold 0). */
export const LOCALIZATION_PER_CONCEPT = 3;

/** Photos timed for `msPerPhoto` (features not cached). */
const TIMED_PHOTOS = 8;

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
  if (options.calibrationOnly) return { calibration: calibration.report, test: null, samples: calibration.samples };
  const thresholds = (calibration.report.operatingPoints ?? []).map((p) => p.threshold);
  const test = await evaluateObjectHeads(halves.test, features, { ...options, thresholds });
  return { calibration: calibration.report, test: test.report, samples: test.samples };
}

/** Runs the protocol over a dataset; features are computed once per photo and view. */
export async function evaluateObjectHeads(
  dataset: ObjectDataset,
  features: PhotoFeatures,
  options: ObjectEvalOptions,
): Promise<{ report: ObjectEvalReport; samples: LocalizationSample[] }> {
  const plan = viewPlan(Math.max(options.positiveViews, options.negativeViews));
  const regions = regionPlan(options.regionGrids);
  const byRegions = regions.length > 1;
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
  const regionStore = new Map<string, Float32Array[]>();
  if (byRegions) {
    options.onProgress?.(`computing features of ${regions.length} regions of each photo`);
    for (const file of [...conceptPhotos, ...otherPhotos]) {
      if (regionStore.has(file)) continue;
      regionStore.set(file, (await features.regions([await decodeFile(file)], regions))[0]);
    }
  }
  const regionsOf = (file: string) => regionStore.get(file) as Float32Array[];
  /** The augmented views of one region of a teaching photo, computed when a head first chooses it. */
  const regionViews = async (file: string, region: number) =>
    region === 0
      ? asPositive(file)
      : (await features.views([await decodeFile(file)], plan.slice(0, options.positiveViews), regions[region]))[0];
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
  const lists: Record<Scoring, ScoreLists> = {
    wholeImage: { positives: [], negatives: [] },
    region: { positives: [], negatives: [] },
    combined: { positives: [], negatives: [] },
  };
  const scoring: Scoring = byRegions ? 'region' : 'wholeImage';
  const localized: Array<Awaited<ReturnType<typeof localizeOne>>> = [];
  const lastHeads: { whole: LinearHeadParams | null; region: LinearHeadParams | null } = { whole: null, region: null };
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
      lastHeads.whole = params;
      const bank = new HeadBank(params.dims, params.extractor);
      bank.sync([{ conceptId: concept.name, params }]);
      const seed = derivedSeed(options.seed, concept.name, fold);
      const region =
        byRegions && trainingNegatives.length > 0
          ? (
              await trainMilHead(
                {
                  positives: split.trainPositives.map(regionsOf),
                  negatives: trainingNegatives.flatMap((file) => regionsOf(file).map((f) => [f])),
                  viewsOf: (photo, r) => regionViews(split.trainPositives[photo], r),
                },
                { extractor: features.extractorId, seed, normalization: options.normalization },
              )
            ).params
          : null;
      const regionBank = region ? new HeadBank(region.dims, region.extractor) : null;
      regionBank?.sync([{ conceptId: concept.name, params: region as LinearHeadParams }]);
      if (region) lastHeads.region = region;
      /** The photo's score under every scoring, and under the one this run reports. */
      const score = (file: string) => {
        const whole = bank.probabilities(identity(file))[0];
        const byRegion = regionBank ? scoresOf(regionsOf(file).map((f) => regionBank.probabilities(f)[0])) : null;
        const all = { wholeImage: whole, region: byRegion?.region ?? whole, combined: byRegion?.combined ?? whole };
        return { all, reported: all[scoring] };
      };
      const threshold = params.threshold;
      for (const file of split.testPositives) {
        const { all, reported } = score(file);
        for (const key of Object.keys(lists) as Scoring[]) lists[key].positives.push(all[key]);
        positiveScores.push(reported);
        tally(positives, reported >= threshold);
      }
      for (const [kind, file] of split.testNegatives) {
        const { all, reported } = score(file);
        for (const key of Object.keys(lists) as Scoring[]) lists[key].negatives.push(all[key]);
        negativeScores.push(reported);
        const rejected = reported < threshold;
        tally(negatives, rejected);
        tally(kinds[kind], rejected);
      }
      if (region && fold === 0) {
        const backgrounds = split.testNegatives.filter(([kind]) => kind === 'random').map(([, file]) => file);
        const random = seededRandom(derivedSeed(options.seed, `paste:${concept.name}`, fold));
        for (const [i, photo] of split.testPositives.slice(0, LOCALIZATION_PER_CONCEPT).entries()) {
          if (backgrounds.length === 0) break;
          const background = backgrounds[i % backgrounds.length];
          localized.push(await localizeOne(features, regions, region, concept.name, { photo, background }, random));
        }
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
  const timed = await Promise.all(conceptPhotos.slice(0, TIMED_PHOTOS).map(decodeFile));
  const threshold = lastHeads.whole?.threshold ?? 0.5;
  const scorings: Partial<Record<Scoring, ScoringSummary>> = {};
  if (lastHeads.whole)
    scorings.wholeImage = summarize(
      lists.wholeImage,
      threshold,
      await msPerPhoto(features, timed, [WHOLE_REGION], lastHeads.whole),
    );
  if (lastHeads.region) {
    const ms = await msPerPhoto(features, timed, regions, lastHeads.region);
    scorings.region = summarize(lists.region, threshold, ms);
    scorings.combined = summarize(lists.combined, threshold, ms);
  }
  const report: ObjectEvalReport = {
    extractor: features.extractorId,
    shots: options.shots,
    folds: options.folds,
    seed: options.seed,
    sources: [...options.sources],
    positiveViews: options.positiveViews,
    negativeViews: options.negativeViews,
    normalization: options.normalization,
    regionGrids: [...options.regionGrids],
    // Without negatives heads are prototypes, scored on the whole photo even with regions.
    scoring: lastHeads.region ? scoring : 'wholeImage',
    scorings,
    localization: byRegions ? localizationResult(localized, threshold) : null,
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
  return { report, samples: localized.map((l) => l.sample) };
}

async function decodeFile(file: string) {
  return decodeImage(new Uint8Array(await readFile(file)));
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
    const images = await Promise.all(batch.map(decodeFile));
    const vectors = await features.views(images, views);
    batch.forEach((file, i) => store.set(file, vectors[i]));
  }
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
