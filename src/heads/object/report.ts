// The object-head evaluation as text for a terminal: the setup, then the test
// half (the results) and the calibration half (where operating points are
// chosen), each with its negatives by kind and one line per concept. Every
// number says which half it comes from.
import { OBJECT_HEAD } from '../../config/defaults.ts';
import type { CalibratedObjectEval, ObjectEvalReport } from './evaluation.ts';
import type { Scoring, ScoringSummary } from './region-evaluation.ts';
import type { NegativeKind } from './folds.ts';

const KIND_NAMES: Record<NegativeKind, string> = {
  otherConcepts: "other concepts' photos",
  ownHard: 'own hard negatives (held-out half)',
  otherHard: "other concepts' hard negatives",
  random: 'random photos (held-out half)',
};

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** A plain-text report of an evaluation run over both halves (or the calibration half alone). */
export function formatObjectReport(result: CalibratedObjectEval, dataset: string): string {
  const { calibration, test } = result;
  const lines = [
    `Object heads on ${dataset}`,
    `features ${calibration.extractor}, ${calibration.shots} shots, ${calibration.folds} folds, seed ${calibration.seed}`,
    `training negatives: ${calibration.sources.length > 0 ? calibration.sources.join(', ') : 'none (prototype heads)'}; ` +
      `views: ${calibration.positiveViews} per positive, ${calibration.negativeViews} per negative; normalization ${calibration.normalization}`,
    calibration.regionGrids.length > 0
      ? `regions: the whole photo and grid(s) ${calibration.regionGrids.join(', ')} (multiple-instance heads)`
      : 'regions: none (whole photos only)',
    `paper (29 objects, DFN5B CLIP): recall ${pct(OBJECT_HEAD.paper.recall)}, negative accuracy ${pct(OBJECT_HEAD.paper.negativeAccuracy)}`,
    'The photos are split by content into two halves of whole concepts that share no photo: operating points are chosen',
    'on the calibration half and only measured on the test half.',
    '',
  ];
  if (test) {
    lines.push(`TEST half (${conceptList(test)}): the results`, ...half(test), '');
    lines.push('at thresholds chosen on the calibration half (below):');
    for (const [i, at] of (test.atThresholds ?? []).entries()) {
      const target = calibration.operatingPoints?.[i]?.negativeAccuracy ?? 0;
      lines.push(
        `  chosen to reject ${pct(target)} of calibration negatives (threshold ${at.threshold.toFixed(3)}): ` +
          `test recall ${pct(at.recall)}, test negatives rejected ${pct(at.negativeAccuracy)}`,
      );
    }
    lines.push('');
  } else {
    lines.push('TEST half: not run (--calibration-only).', '');
  }
  lines.push(`CALIBRATION half (${conceptList(calibration)}): where choices are made`, ...half(calibration), '');
  lines.push('operating points chosen on the calibration half (recall there):');
  for (const p of calibration.operatingPoints ?? [])
    lines.push(
      `  rejecting ${pct(p.negativeAccuracy)} of negatives keeps recall ${pct(p.recall)} (threshold ${p.threshold.toFixed(3)})`,
    );
  return lines.join('\n');
}

function conceptList(report: ObjectEvalReport): string {
  return `${report.concepts.length} concept${report.concepts.length === 1 ? '' : 's'}: ${report.concepts.map((c) => c.name).join(', ')}`;
}

const SCORING_NAMES: Record<Scoring, string> = {
  wholeImage: 'whole image',
  region: 'best region',
  combined: 'whole and best region, mean',
};

/** The scorings side by side, and the localization check, when the run had regions. */
function scorings(report: ObjectEvalReport): string[] {
  const lines = [
    `scored by ${SCORING_NAMES[report.scoring]} (the numbers below); each scoring at the head's threshold:`,
  ];
  for (const [key, s] of Object.entries(report.scorings) as Array<[Scoring, ScoringSummary]>)
    lines.push(
      `  ${SCORING_NAMES[key].padEnd(30)} recall ${pct(s.recall).padStart(6)}, negatives rejected ${pct(s.negativeAccuracy).padStart(6)}, ` +
        `${s.msPerPhoto.toFixed(1)} ms per photo`,
    );
  const loc = report.localization;
  if (loc)
    lines.push(
      `localization: the best region covers a concept photo pasted at ${pct(loc.pastedSide)} of the side in ${loc.covered}/${loc.composites} ` +
        `composites (a random region: ${pct(loc.chance)}; whole photo chosen ${loc.wholePhoto} times)`,
    );
  return lines;
}

/** The numbers of one half at the head's own threshold. */
function half(report: ObjectEvalReport): string[] {
  return [
    ...scorings(report),
    `recall             ${pct(report.recall)}  (${report.positives.correct}/${report.positives.total} held-out positives accepted)`,
    `negative accuracy  ${pct(report.negativeAccuracy)}  (${report.negatives.correct}/${report.negatives.total} negatives rejected)`,
    `features: ${report.featureSeconds.toFixed(1)} s to compute; median training time per head: ${report.medianTrainingMs.toFixed(1)} ms`,
    'negatives rejected, by kind:',
    ...Object.entries(report.byNegativeKind).map(
      ([kind, t]) =>
        `  ${KIND_NAMES[kind as NegativeKind].padEnd(38)} ${pct(t.accuracy).padStart(6)}  (${t.correct}/${t.total})`,
    ),
    `${'concept'.padEnd(20)} ${'recall'.padStart(8)} ${'negatives'.padStart(10)}`,
    ...report.concepts.map(
      (c) => `${c.name.padEnd(20)} ${pct(c.recall).padStart(8)} ${pct(c.negativeAccuracy).padStart(10)}`,
    ),
  ];
}
