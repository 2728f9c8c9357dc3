// `myvlm eval faces <dir> --shots N`: the people-head evaluation on a
// folder-per-identity set. Every photo is embedded once; teaching, matching
// and threshold sweeps then run on the stored embeddings.
import { FACE } from '../config/defaults.ts';
import { loadSettings } from '../config/settings.ts';
import { resolveOptionsFrom } from '../models/resolve.ts';
import { OperatorError, UsageError } from '../errors.ts';
import { parseFlags, readNamedFile, wholeNumber } from './flags.ts';
import { decodeImage } from '../image/decode.ts';
import { findModel } from '../models/registry.ts';
import type { PerPersonRule } from '../models/catalog/faces.ts';
import { SessionPool } from '../models/session.ts';
import { faceLayoutWarnings, loadFaceDataset, type FaceDataset } from '../heads/face/evaluation/dataset.ts';
import {
  bestUnderFalsePositiveRate,
  defaultSweepThresholds,
  evaluateFaces,
  TARGET_FALSE_POSITIVE_RATE,
  type EmbeddedPhoto,
  type FaceEvalResult,
  type FalsePositiveMeasure,
} from '../heads/face/evaluation/protocol.ts';
import { bestPerPersonRule, perPersonRuleGrid, PER_PERSON_TARGET_FPR } from '../heads/face/evaluation/per-person.ts';
import {
  formatEvalReport,
  formatPerPersonComparison,
  formatSweep,
  formatVerification,
  summarize,
} from '../heads/face/evaluation/report.ts';
import { splitByContent } from '../heads/face/evaluation/split.ts';
import { evaluateVerification } from '../heads/face/evaluation/verification.ts';
import { FaceHead } from '../heads/face/head.ts';

const USAGE = `Usage: myvlm eval faces <dir> [--shots N] [--seed S] [--repeats R] [--detector ID] [--recognizer ID]
                       [--threshold T] [--sweep] [--json] [--long-side PX] [--no-flip] [--min-face PX]
                       [--per-person L,M]
  <dir>          one folder of photos per person; _strangers/ and _groups/groups.json are optional
                 Every folder is split by photo content (sha256) into a calibration half, which people are
                 taught from and thresholds are chosen on, and a report half, where the figures are measured.
  --shots N      teaching photos per person (default ${FACE.maxTeachingPhotos}), from the calibration half
  --seed S       seed of the teaching-photo choice (default 1); --repeats R runs seeds S..S+R-1 and sums the counts
  --threshold T  cosine similarity to match (default: the recognizer's measured threshold)
  --sweep        sweep thresholds 0.20..0.99 on the calibration half, choose the best recall whose FPR with
                 each person taught alone is at most 1%, and report that threshold on the report half; and
                 sweep the per-person rule's constants at the threshold in use, choose the best recall whose
                 FPR is at most 0.5% (at most 1% taught alone and in scopes of two), and report it on the report half
  --per-person L,M  compare the global threshold with this per-person rule (lower by at most L, margin M)
                 instead of the recognizer's (every run compares the two on the report half)
  --json         print one JSON object instead of text
  --long-side PX dynamic-size detectors: the input's long side (default from the registry)
  --no-flip      embed faces without averaging with their mirror image
  --min-face PX  smallest face (shorter box side) to match or teach (default from the registry)`;

const FLAGS = {
  shots: { type: 'string' },
  seed: { type: 'string' },
  repeats: { type: 'string' },
  detector: { type: 'string' },
  recognizer: { type: 'string' },
  threshold: { type: 'string' },
  'long-side': { type: 'string' },
  'no-flip': { type: 'boolean' },
  'min-face': { type: 'string' },
  'per-person': { type: 'string' },
  sweep: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Runs the face evaluation; returns the process exit code. `args` are what follows `eval faces`. */
export async function evalFacesCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, FLAGS, USAGE);
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`Name one dataset folder.\n${USAGE}`);
  const shots = wholeNumber(values.shots, '--shots', FACE.maxTeachingPhotos, 1);
  const seed = wholeNumber(values.seed, '--seed', 1, 0);
  const repeats = wholeNumber(values.repeats, '--repeats', 1, 1);
  const seeds = Array.from({ length: repeats }, (_, i) => seed + i);
  const settings = loadSettings();
  const detector = findModel('face-detection', values.detector ?? settings.faceDetector);
  const recognizer = findModel('face-recognition', values.recognizer ?? settings.faceRecognizer);
  const threshold =
    values.threshold === undefined ? (settings.faceThreshold ?? recognizer.threshold) : similarity(values.threshold);
  const minFace = values['min-face'] === undefined ? undefined : wholeNumber(values['min-face'], '--min-face', 0, 0);
  const longSide =
    values['long-side'] === undefined ? undefined : wholeNumber(values['long-side'], '--long-side', 640, 32);

  const dataset = loadFaceDataset(positionals[0]);
  const { calibration, report, warnings } = splitByContent(dataset);
  // Warnings go to stderr, so --json output stays one object on stdout.
  for (const warning of [...faceLayoutWarnings(dataset), ...warnings]) process.stderr.write(`warning: ${warning}\n`);
  const sessions = new SessionPool({
    executionProvider: settings.executionProvider,
    intraOpThreads: settings.intraOpThreads,
    interOpThreads: 0,
  });
  try {
    const head = new FaceHead({
      detector,
      recognizer,
      sessions,
      resolve: resolveOptionsFrom(settings),
      threshold,
      detectorOptions: longSide === undefined ? {} : { longSide },
      ...(values['no-flip'] ? { flipAverage: false } : {}),
      ...(minFace === undefined ? {} : { minRecognizableFace: minFace }),
    });
    const problem = await head.availability();
    if (problem) throw problem;
    const started = Date.now();
    const photos = await embedDataset(head, calibration, report);
    const embedSeconds = (Date.now() - started) / 1000;
    // Both halves are taught from the calibration half: no report photo shapes a key or the threshold.
    const onCalibration = (t: number, perPerson: PerPersonRule | null = null, pairs = false) =>
      evaluateFaces(head, calibration, photos, { shots, seeds, threshold: t, perPerson, pairs });
    const onReport = (t: number, perPerson: PerPersonRule | null = null, pairs = false) =>
      evaluateFaces(head, report, photos, { shots, seeds, threshold: t, perPerson, pairs, teachFrom: calibration });
    const result = onReport(threshold);
    const rule = values['per-person'] === undefined ? recognizer.perPerson : perPersonRule(values['per-person']);
    const comparison = {
      rule,
      global: summarize(onReport(threshold, null, true)),
      perPerson: rule ? summarize(onReport(threshold, rule, true)) : null,
    };
    const ruleSweep = values.sweep ? perPersonRuleGrid().map((r) => onCalibration(threshold, r)) : null;
    const chosenRule = ruleSweep ? bestPerPersonRule(ruleSweep, (r) => onCalibration(threshold, r, true)) : null;
    const perPersonSweep = ruleSweep
      ? {
          threshold,
          targetFpr: PER_PERSON_TARGET_FPR,
          rulesTried: ruleSweep.length,
          chosen: chosenRule?.perPerson
            ? {
                rule: chosenRule.perPerson,
                calibration: summarize(chosenRule),
                report: summarize(onReport(threshold, chosenRule.perPerson, true)),
              }
            : null,
        }
      : null;
    const sweep = values.sweep ? defaultSweepThresholds().map((t) => onCalibration(t)) : null;
    const chosen = sweep
      ? bestUnderFalsePositiveRate(sweep, TARGET_FALSE_POSITIVE_RATE, 'aloneFalsePositiveRate')
      : null;
    const verification = {
      calibration: evaluateVerification(calibration, photos),
      report: evaluateVerification(report, photos),
    };
    const setup = {
      dataset: dataset.root,
      detector: detector.id,
      recognizer: recognizer.id,
      flipAverage: values['no-flip'] ? false : recognizer.flipAverage,
      minRecognizableFace: head.minRecognizableFace,
      embedSeconds,
      photos: photos.size,
      split: { calibrationPhotos: photoCount(calibration), reportPhotos: photoCount(report) },
    };
    if (values.json) {
      const best = (measure: FalsePositiveMeasure) => {
        const found = sweep ? bestUnderFalsePositiveRate(sweep, TARGET_FALSE_POSITIVE_RATE, measure) : null;
        return found ? summarize(found) : null;
      };
      const sweepPart = sweep
        ? {
            sweep: sweep.map(summarize),
            targetFpr: TARGET_FALSE_POSITIVE_RATE,
            bestUnderTargetFpr: best('falsePositiveRate'),
            bestUnderTargetAloneFpr: best('aloneFalsePositiveRate'),
            chosen: chosen ? { threshold: chosen.threshold, report: summarize(onReport(chosen.threshold)) } : null,
          }
        : {};
      const calibrationResult = summarize(onCalibration(threshold));
      const perPersonPart = { perPersonComparison: comparison, ...(perPersonSweep ? { perPersonSweep } : {}) };
      process.stdout.write(
        `${JSON.stringify({ ...setup, ...result, calibration: calibrationResult, verification, ...sweepPart, ...perPersonPart })}\n`,
      );
    } else {
      process.stdout.write(`${formatEvalReport(setup, result)}\n\n${formatVerification(verification)}\n`);
      process.stdout.write(`\n${formatPerPersonComparison(comparison, perPersonSweep)}\n`);
      if (sweep) {
        process.stdout.write(`\nSweep on the calibration half:\n${formatSweep(sweep, TARGET_FALSE_POSITIVE_RATE)}\n`);
        process.stdout.write(
          `${formatChosen(chosen ? { threshold: chosen.threshold, report: onReport(chosen.threshold) } : null)}\n`,
        );
      }
    }
    return 0;
  } finally {
    await sessions.dispose();
  }
}

/** Embeds every photo of both halves once (identities, strangers, groups), reporting progress on stderr. */
async function embedDataset(head: FaceHead, ...halves: FaceDataset[]): Promise<Map<string, EmbeddedPhoto>> {
  const paths = halves.flatMap((dataset) => [
    ...dataset.identities.flatMap((i) => i.photos),
    ...dataset.strangers,
    ...dataset.groups.map((g) => g.path),
  ]);
  const photos = new Map<string, EmbeddedPhoto>();
  for (const [i, file] of paths.entries()) {
    if (photos.has(file)) continue;
    const bytes = await readNamedFile(file);
    const image = await decodeImage(bytes).catch((cause: unknown) => {
      // The set's photos are the operator's: name the file and let them replace it.
      throw new OperatorError(`${file}: ${cause instanceof Error ? cause.message : String(cause)}`, {
        cause,
        hint: 'Replace that photo or take it out of the set.',
      });
    });
    photos.set(file, { width: image.width, height: image.height, faces: await head.embedFaces(image) });
    if (process.stderr.isTTY) process.stderr.write(`\rEmbedding faces: ${i + 1}/${paths.length}`);
  }
  if (process.stderr.isTTY) process.stderr.write('\n');
  return photos;
}

function photoCount(dataset: FaceDataset): number {
  return dataset.identities.reduce((n, i) => n + i.photos.length, 0) + dataset.strangers.length + dataset.groups.length;
}

function formatChosen(chosen: { threshold: number; report: FaceEvalResult } | null): string {
  if (!chosen)
    return 'No threshold keeps the FPR with each person taught alone at or below 1% on the calibration half.';
  const r = chosen.report;
  const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
  return (
    `Chosen on the calibration half: threshold ${chosen.threshold}. On the report half: recall ${pct(r.recall)} (${r.hits}/${r.positives}), ` +
    `FPR ${pct(r.falsePositiveRate)}, alone FPR ${pct(r.aloneFalsePositiveRate)} (${r.aloneFalsePositives}/${r.negatives}), ` +
    `misidentified ${pct(r.misidentificationRate)}, groups ${r.groups.enrolledCorrect}/${r.groups.enrolledFound} right ` +
    `(${r.groups.enrolledWrong} wrong), strangers named ${r.groups.strangersAssigned}/${r.groups.strangerFaces}.`
  );
}

function perPersonRule(raw: string): PerPersonRule {
  const [maxLowering, margin, extra] = raw.split(',').map(Number);
  if (extra !== undefined || !(maxLowering >= 0 && maxLowering <= 1) || !(margin >= -1 && margin <= 1))
    throw new UsageError(
      `--per-person takes the largest lowering (0 to 1) and the margin (-1 to 1), as in 0.02,0; not "${raw}".`,
    );
  return { maxLowering, margin };
}

function similarity(raw: string): number {
  const value = Number(raw);
  if (!Number.isFinite(value) || value < -1 || value > 1)
    throw new UsageError(`--threshold takes a cosine similarity between -1 and 1, not "${raw}".`);
  return value;
}
