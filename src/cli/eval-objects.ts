// `myvlm eval objects <dir> --shots N`: the object-head evaluation (the
// paper's Table 5, right) on a MyVLM-style folder. Features of every photo and
// augmented view are computed once and reused by every concept and fold.
// The evaluation code (ONNX Runtime, sharp) is imported once the arguments are checked.
import { OBJECT_HEAD, OBJECT_REGIONS, EVALUATION } from '../config/defaults.ts';
import { writeFile } from 'node:fs/promises';
import { loadSettings } from '../config/settings.ts';
import { UsageError } from '../errors.ts';
import { namedPathError, parseFlags, wholeNumber } from './flags.ts';
import type { NegativeSource } from '../heads/object/folds.ts';
import { DEFAULT_NORMALIZATION, type NormalizationMode } from '../heads/object/normalization.ts';
import { NEGATIVE_VIEWS, POSITIVE_VIEWS } from '../heads/object/views.ts';

const NORMALIZATIONS: readonly NormalizationMode[] = ['l2-center', 'l2', 'none'];

const USAGE = `Usage: myvlm eval objects <dir> [--shots N] [--folds F] [--seed S] [--features ID] [--json]
                         [--negatives LIST] [--views K] [--negative-views K] [--normalization MODE] [--cache-dir DIR]
                         [--calibration-only] [--regions LIST] [--report FILE]
  <dir>               concepts/<concept>/*.jpg, optionally negatives/<concept>/*.jpg and random/*.jpg
                      Photos are told apart by content (sha256); whole concepts are split by content into a
                      calibration half, where operating points are chosen, and a test half, where they are measured.
  --shots N           teaching photos per concept and fold (default ${OBJECT_HEAD.shots})
  --folds F           folds per concept (default ${EVALUATION.folds})
  --seed S            seed of the splits and of training (default 0)
  --features ID       image feature extractor (default MYVLM_IMAGE_FEATURES)
  --negatives LIST    training negatives, comma-separated from hard,scope,random, or none (default all three):
                      hard = half of the concept's own hard negatives (what a user marks "not it"),
                      scope = the other concepts' teaching photos of the fold,
                      random = half of random/ (photos seen in the scope, or a generic folder)
  --views K           augmented views per positive photo (default ${POSITIVE_VIEWS})
  --negative-views K  augmented views per negative photo of whole-image heads (default ${NEGATIVE_VIEWS}; region heads: 1 per region)
  --normalization M   l2-center, l2 or none (default ${DEFAULT_NORMALIZATION})
  --cache-dir DIR     keep computed features in DIR across runs
  --calibration-only  run the calibration half only: compare settings (--normalization, --views, --regions) this way
  --regions LIST      region grids, comma-separated sizes 2-8, or none for whole photos only (default ${OBJECT_REGIONS.grids.join(',')}):
                      heads are trained on regions (multiple-instance) and score a photo by its best region
  --report FILE       also write an HTML page with the scorings and boxes drawn on localization composites
  --json              print one JSON object instead of text: recall, negativeAccuracy and msPerPhoto of the
                      default scoring on the test half, wholeImage/region/combined side by side, then both halves`;

const FLAGS = {
  shots: { type: 'string' },
  folds: { type: 'string' },
  seed: { type: 'string' },
  features: { type: 'string' },
  negatives: { type: 'string' },
  views: { type: 'string' },
  'negative-views': { type: 'string' },
  normalization: { type: 'string' },
  'cache-dir': { type: 'string' },
  'calibration-only': { type: 'boolean' },
  regions: { type: 'string' },
  report: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Runs the object-head evaluation; returns the process exit code. `args` are what follows `eval objects`. */
export async function evalObjectsCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, FLAGS, USAGE);
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`Name one dataset folder.\n${USAGE}`);
  const shots = wholeNumber(values.shots, '--shots', OBJECT_HEAD.shots, 1);
  const folds = wholeNumber(values.folds, '--folds', EVALUATION.folds, 1);
  const seed = wholeNumber(values.seed, '--seed', 0, 0);
  const positiveViews = wholeNumber(values.views, '--views', POSITIVE_VIEWS, 1);
  const negativeViews = wholeNumber(values['negative-views'], '--negative-views', NEGATIVE_VIEWS, 1);
  const normalization = (values.normalization ?? DEFAULT_NORMALIZATION) as NormalizationMode;
  if (!NORMALIZATIONS.includes(normalization))
    throw new UsageError(`--normalization takes one of ${NORMALIZATIONS.join(', ')}, not "${values.normalization}".`);
  const regionGrids = parseRegions(values.regions);
  const regionCount = 1 + regionGrids.reduce((n, g) => n + g * g, 0);

  const [
    { loadObjectDataset },
    { evaluateCalibrated },
    { ALL_NEGATIVE_SOURCES },
    { FeatureCache },
    { openImageFeatureExtractor },
    { PhotoFeatures },
    { formatObjectReport },
    { resolveOptionsFrom, terminalProgress },
    { SessionPool },
  ] = await Promise.all([
    import('../heads/object/dataset.ts'),
    import('../heads/object/evaluation.ts'),
    import('../heads/object/folds.ts'),
    import('../heads/object/feature-cache.ts'),
    import('../heads/object/features.ts'),
    import('../heads/object/photo-features.ts'),
    import('../heads/object/report.ts'),
    import('../models/resolve.ts'),
    import('../models/session.ts'),
  ]);
  const { objectsHtmlReport } = await import('../eval/objects-report.ts');
  const sources = negativeSources(values.negatives, ALL_NEGATIVE_SOURCES);
  const dataset = loadObjectDataset(positionals[0], { shots });
  for (const warning of dataset.warnings) process.stderr.write(`warning: ${warning}\n`);
  const settings = loadSettings();
  const sessions = new SessionPool({
    executionProvider: settings.executionProvider,
    intraOpThreads: settings.intraOpThreads,
    interOpThreads: 0,
  });
  try {
    const extractor = await openImageFeatureExtractor(values.features ?? settings.imageFeatures, {
      ...resolveOptionsFrom(settings, { onProgress: process.stderr.isTTY ? terminalProgress() : undefined }),
      sessions,
    });
    const photoCount = dataset.hashes.size;
    const features = new PhotoFeatures(
      extractor,
      new FeatureCache({
        // Every photo's views and regions, and the views of the regions heads choose in teaching photos.
        maxEntries: photoCount * (Math.max(positiveViews, negativeViews) + regionCount + positiveViews * 4) + 1,
        directory: values['cache-dir'] ?? null,
      }),
    );
    const result = await evaluateCalibrated(dataset, features, {
      shots,
      folds,
      seed,
      sources,
      positiveViews,
      negativeViews,
      normalization,
      regionGrids,
      calibrationOnly: values['calibration-only'] ?? false,
      onProgress: (message) => {
        if (process.stderr.isTTY) process.stderr.write(`${message}\n`);
      },
    });
    if (values.report) {
      const file = values.report;
      await writeFile(file, await objectsHtmlReport(result, dataset.root)).catch((cause: unknown) => {
        throw namedPathError(cause, file, 'write');
      });
      process.stderr.write(`Report written to ${file}.\n`);
    }
    const { calibration, test } = result;
    const headline = test ?? calibration;
    const scoring = headline.scorings[headline.scoring];
    if (values.json)
      process.stdout.write(
        `${JSON.stringify({
          half: test ? 'test' : 'calibration',
          scoring: headline.scoring,
          recall: scoring?.recall,
          negativeAccuracy: scoring?.negativeAccuracy,
          msPerPhoto: scoring?.msPerPhoto,
          ...headline.scorings,
          localization: headline.localization,
          dataset: dataset.root,
          calibration,
          test,
        })}\n`,
      );
    else process.stdout.write(`${formatObjectReport(result, dataset.root)}\n`);
    return 0;
  } finally {
    await sessions.dispose();
  }
}

/** The --regions list: grid sizes, or none (whole photos only). */
function parseRegions(raw: string | undefined): number[] {
  if (raw === undefined) return [...OBJECT_REGIONS.grids];
  if (raw === 'none') return [];
  const grids = raw.split(',').map((s) => s.trim());
  for (const g of grids)
    if (!/^[2-8]$/.test(g))
      throw new UsageError(`--regions takes grid sizes from 2 to 8, comma-separated, or none; not "${g}".`);
  return [...new Set(grids.map(Number))];
}

/** The --negatives list, checked against `all` (known once the evaluation code is loaded). */
function negativeSources(raw: string | undefined, all: readonly NegativeSource[]): NegativeSource[] {
  if (raw === undefined) return [...all];
  if (raw === 'none') return [];
  const names = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const name of names) {
    if (!(all as readonly string[]).includes(name)) {
      throw new UsageError(
        `--negatives takes a comma-separated list of ${all.join(', ')}, or none; "${name}" is not one of them.`,
      );
    }
  }
  return [...new Set(names)] as NegativeSource[];
}
