// `myvlm eval caption` and `myvlm eval vqa`: the paper's personalization
// evaluation on any model (ALGORITHM.md section 6). Per concept and fold the
// concept head and embedding are taught on --shots photos and the held-out
// photos are captioned (or asked the ten questions of Table 1); the report
// gives recall and the standard captioning metrics for MyVLM, the vanilla
// model, the keyword and LLM-guided baselines, and the untaught-vector
// control. Finished folds are kept in a run folder, so a run that is
// stopped resumes.
// The model code (ONNX Runtime, sharp) is imported once the arguments are checked.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { EMBEDDING_TRAINING, EVALUATION } from '../config/defaults.ts';
import { loadSettings, VLM_DTYPES } from '../config/settings.ts';
import { OperatorError, UsageError } from '../errors.ts';
import type { PersonalizationReport } from '../eval/caption/report.ts';
import type { PersonalizationTask } from '../eval/caption/run.ts';
import { namedPathError, parseFlags, wholeNumber } from './flags.ts';
import { dtypeFlag, requiredVlm, vlmTarget } from './vlm-target.ts';

const usage = (task: PersonalizationTask) =>
  `Usage: myvlm eval ${task} --data <dir> [--vlm <id or folder>] [--dtype ${VLM_DTYPES.join('|')}] [--shots N] [--folds F] ` +
  `[--seed S] [--steps N] [--concepts a,b] [--features ID] [--negatives DIR] [--run-dir DIR] [--fresh] [--json] [--report out.html]
  --data       concept folders with captions.json (the layout of ../shared/data/myvlm/concepts)
  --vlm        the model (default MYVLM_VLM); --dtype its precision
  --shots      teaching photos per fold (default ${EVALUATION.trainImagesPerFold})
  --folds      random draws of teaching photos per concept (default ${EVALUATION.folds})
  --seed       seed of the draws, heads and lessons (default 0)
  --steps      optimization steps per lesson (default ${EMBEDDING_TRAINING.steps})
  --concepts   only these concept folders
  --held-out   answer at most N held-out photos per fold (default all), for a quick look
  --features   image features of the object heads (default MYVLM_IMAGE_FEATURES); without them only the
               forced injection is measured
  --negatives  hard negatives, <DIR>/<concept>/*.jpg (default <data>/../negatives when it exists)
  --run-dir    where finished folds are kept (default <cache>/evaluations/<settings hash>); a rerun resumes
  --fresh      ignore finished folds in the run folder
  --json       print one JSON object instead of text
  --report     also write an HTML report with every answer`;

const FLAGS = {
  data: { type: 'string' },
  vlm: { type: 'string' },
  dtype: { type: 'string' },
  shots: { type: 'string' },
  folds: { type: 'string' },
  seed: { type: 'string' },
  steps: { type: 'string' },
  concepts: { type: 'string' },
  'held-out': { type: 'string' },
  features: { type: 'string' },
  negatives: { type: 'string' },
  'run-dir': { type: 'string' },
  fresh: { type: 'boolean' },
  json: { type: 'boolean' },
  report: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Runs the evaluation; returns the exit code. `args` are what follows `eval caption` or `eval vqa`. */
export async function evalPersonalizationCommand(task: PersonalizationTask, args: string[]): Promise<number> {
  const USAGE = usage(task);
  const { values } = parseFlags(args, FLAGS, USAGE);
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!values.data) throw new UsageError(`Name the dataset with --data.\n${USAGE}`);
  const shots = wholeNumber(values.shots, '--shots', EVALUATION.trainImagesPerFold, 1);
  if (shots > EMBEDDING_TRAINING.maxPhotosPerStep)
    throw new UsageError(`--shots takes 1 to ${EMBEDDING_TRAINING.maxPhotosPerStep}, as a lesson does.`);
  const folds = wholeNumber(values.folds, '--folds', EVALUATION.folds, 1);
  const seed = wholeNumber(values.seed, '--seed', 0, 0);
  const steps = wholeNumber(values.steps, '--steps', EMBEDDING_TRAINING.steps, 1);
  const heldOut = values['held-out'] === undefined ? undefined : wholeNumber(values['held-out'], '--held-out', 0, 1);
  const only = values.concepts
    ?.split(',')
    .map((c) => c.trim())
    .filter(Boolean);
  const dtype = dtypeFlag(values.dtype);
  const settings = loadSettings(process.env);
  const spec = requiredVlm(values.vlm, settings, USAGE);
  const quiet = Boolean(values.json);
  // Progress goes to stderr even with --json: stdout holds the report alone, and a long run should show it moves.
  const say = (line: string) => void process.stderr.write(`${line}\n`);

  const [
    { loadCaptionDataset },
    { runPersonalization },
    { scorePersonalization },
    { formatPersonalization, htmlReport },
  ] = await Promise.all([
    import('../eval/caption/dataset.ts'),
    import('../eval/caption/run.ts'),
    import('../eval/caption/score.ts'),
    import('../eval/caption/report.ts'),
  ]);
  const dataset = loadCaptionDataset(values.data, only);
  for (const warning of dataset.warnings) process.stderr.write(`warning: ${warning}\n`);
  const tooSmall = dataset.concepts.filter((c) => c.photos.length <= shots);
  if (tooSmall.length > 0)
    throw new OperatorError(
      `${tooSmall.map((c) => `${c.name} (${c.photos.length})`).join(', ')} need(s) more than ${shots} distinct captioned photos.`,
      { hint: 'Lower --shots, or leave those concepts out with --concepts.' },
    );
  const negativesDir = values.negatives ?? path.join(path.dirname(path.resolve(values.data)), 'negatives');
  const hardNegatives = await readHardNegatives(
    negativesDir,
    values.negatives !== undefined,
    dataset.concepts.map((c) => c.name),
  );

  const { located, dtype: chosen, runtime } = await vlmTarget(spec, dtype, quiet, settings);
  const [{ TeachableExport }, { describeDtypes }, { chooseIdentifier }, objectsModule] = await Promise.all([
    import('../teach/teachable-export.ts'),
    import('../vlm/export/variants.ts'),
    import('../assistant/names.ts'),
    import('../eval/caption/heads.ts'),
  ]);
  const vlm = await TeachableExport.open(located.dir, { cacheDir: settings.cacheDir, runtime, dtype: chosen });
  const heads = await objectsModule.openEvaluationHeads(values.features ?? settings.imageFeatures, settings);
  try {
    const identifier = chooseIdentifier('concept', 'object', []);
    const dtypes = describeDtypes(vlm.model.dtypes);
    // Everything the answers depend on: a run folder is resumed only by the same evaluation.
    const settingsKey = JSON.stringify({
      task,
      model: located.dir,
      dtypes,
      data: path.resolve(values.data),
      concepts: only ?? null,
      shots,
      folds,
      seed,
      steps,
      heldOut: heldOut ?? null,
      features: heads.extractor,
      negatives: negativesDir,
      maxNewTokens: EVALUATION.maxAnswerTokens,
    });
    const runKey = createHash('sha256').update(settingsKey).digest('hex').slice(0, 16);
    const runDir = values['run-dir'] ?? path.join(settings.cacheDir, 'evaluations', runKey);
    if (values.fresh) await rm(runDir, { recursive: true, force: true });
    say(
      `Evaluating ${task === 'caption' ? 'personalized captions' : 'personalized answers'} on ${located.id} (${dtypes}): ` +
        `${dataset.concepts.length} concepts, ${folds} fold(s) of ${shots} teaching photos, ${steps} steps; ` +
        `concept heads: ${heads.objects ? heads.extractor : `not measured (${heads.problem})`}.`,
    );
    const started = performance.now();
    const results = await runPersonalization({ vlm, objects: heads.objects }, dataset, {
      task,
      shots,
      folds,
      seed,
      steps,
      identifier,
      hardNegatives,
      runDir,
      settingsKey,
      heldOut,
      maxNewTokens: EVALUATION.maxAnswerTokens,
      onProgress: say,
    });
    const scores = scorePersonalization(results, task, identifier);
    const report: PersonalizationReport = {
      task,
      model: located.id,
      dir: located.dir,
      family: vlm.model.family.id,
      dtype: dtypes,
      data: path.resolve(values.data),
      shots,
      folds,
      seed,
      steps,
      identifier,
      heads: heads.objects ? { extractor: heads.extractor } : { extractor: null, problem: heads.problem },
      similarity: {
        available: false,
        reason:
          'text similarity and CLIPScore need a sentence-embedding model and a CLIP text tower; neither is in the model registry yet',
      },
      runDir,
      ...scores,
      paper:
        task === 'caption' && vlm.model.family.captionPrompt === 'llava'
          ? {
              recall: EVALUATION.paperRecall,
              captionMetrics: EVALUATION.paperCaptionMetrics,
              model: 'LLaVA-1.6 with Vicuna-7B, half precision',
            }
          : null,
      wallSeconds: (performance.now() - started) / 1000,
    };
    if (values.report) {
      await writeFile(values.report, htmlReport(report, results)).catch((cause: unknown) => {
        throw namedPathError(cause, values.report!, 'write');
      });
      say(`Report written to ${values.report}.`);
    }
    process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatPersonalization(report)}\n`);
    return 0;
  } finally {
    await heads.dispose();
    await vlm.release();
  }
}

/** Hard negatives per concept from `<dir>/<concept>/`; a folder named with --negatives must exist. */
async function readHardNegatives(
  dir: string,
  named: boolean,
  concepts: readonly string[],
): Promise<Map<string, string[]>> {
  const map = new Map<string, string[]>();
  if (!existsSync(dir)) {
    if (named)
      throw new OperatorError(`${dir} does not exist.`, { hint: 'Name a folder of <concept>/*.jpg hard negatives.' });
    return map;
  }
  const { photosIn } = await import('../heads/object/dataset.ts');
  for (const name of concepts) if (existsSync(path.join(dir, name))) map.set(name, photosIn(path.join(dir, name)));
  return map;
}
