// The object-head evaluation as text for a terminal: the summary, the
// negatives by kind, and one line per concept.
import { OBJECT_HEAD } from '../../config/defaults.ts';
import type { NegativeKind, ObjectEvalReport } from './evaluation.ts';

const KIND_NAMES: Record<NegativeKind, string> = {
  otherConcepts: "other concepts' photos",
  ownHard: 'own hard negatives (held-out half)',
  otherHard: "other concepts' hard negatives",
  random: 'random photos (held-out half)',
};

/** A plain-text report of an evaluation run. */
export function formatObjectReport(report: ObjectEvalReport, dataset: string): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const lines = [
    `Object heads on ${dataset}`,
    `features ${report.extractor} (${report.featureSeconds.toFixed(1)} s to compute), ${report.shots} shots, ${report.folds} folds, seed ${report.seed}`,
    `training negatives: ${report.sources.length > 0 ? report.sources.join(', ') : 'none (prototype heads)'}; ` +
      `views: ${report.positiveViews} per positive, ${report.negativeViews} per negative; normalization ${report.normalization}`,
    '',
    `recall             ${pct(report.recall)}  (${report.positives.correct}/${report.positives.total} held-out positives accepted)`,
    `negative accuracy  ${pct(report.negativeAccuracy)}  (${report.negatives.correct}/${report.negatives.total} negatives rejected)`,
    `paper (29 objects, DFN5B CLIP): recall ${pct(OBJECT_HEAD.paper.recall)}, negative accuracy ${pct(OBJECT_HEAD.paper.negativeAccuracy)}`,
    `median training time per head: ${report.medianTrainingMs.toFixed(1)} ms`,
    '',
    'negatives rejected, by kind:',
    ...Object.entries(report.byNegativeKind).map(
      ([kind, t]) =>
        `  ${KIND_NAMES[kind as NegativeKind].padEnd(38)} ${pct(t.accuracy).padStart(6)}  (${t.correct}/${t.total})`,
    ),
    '',
    'best single threshold after the fact (diagnostic of the features, not an operating point):',
    ...report.recallAtNegativeAccuracy.map(
      (p) =>
        `  rejecting ${pct(p.negativeAccuracy)} of negatives keeps recall ${pct(p.recall)} (threshold ${p.threshold.toFixed(3)})`,
    ),
    '',
    `${'concept'.padEnd(20)} ${'recall'.padStart(8)} ${'negatives'.padStart(10)}`,
    ...report.concepts.map(
      (c) => `${c.name.padEnd(20)} ${pct(c.recall).padStart(8)} ${pct(c.negativeAccuracy).padStart(10)}`,
    ),
  ];
  return lines.join('\n');
}
