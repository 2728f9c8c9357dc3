// Plain-text reports of the face evaluation: the headline figures next to the
// paper's, group-photo results, per-identity rows, and a threshold sweep.
import { FACE } from '../../../config/defaults.ts';
import { bestUnderFalsePositiveRate, type FaceEvalResult, type FalsePositiveMeasure } from './protocol.ts';
import type { VerificationResult } from './verification.ts';
import type { PerPersonRule } from '../../../models/catalog/faces.ts';

export interface EvalSetup {
  dataset: string;
  detector: string;
  recognizer: string;
  flipAverage: boolean;
  minRecognizableFace: number;
  photos: number;
  embedSeconds: number;
  split: { calibrationPhotos: number; reportPhotos: number };
}

const pct = (v: number) => `${(100 * v).toFixed(2)}%`;

/** The report of one evaluation at one threshold. */
export function formatEvalReport(setup: EvalSetup, r: FaceEvalResult): string {
  const g = r.groups;
  const lines = [
    `Faces in ${setup.dataset}: ${r.identities} identities, ${r.shots} teaching photo(s) each, seed(s) ${r.seeds.join(', ')}`,
    `Detector ${setup.detector}, recognizer ${setup.recognizer}${setup.flipAverage ? ' (flip-averaged)' : ''}, ` +
      `threshold ${r.threshold}, faces from ${setup.minRecognizableFace} px`,
    `Embedded ${setup.photos} photos in ${setup.embedSeconds.toFixed(1)} s; ` +
      `${r.photosWithoutFace} identity/stranger photo(s) of the report half had no detected face.`,
    `Split by content: ${setup.split.calibrationPhotos} calibration photos (people taught from these), ` +
      `${setup.split.reportPhotos} report photos (figures below).`,
    '',
    `recall               ${pct(r.recall).padStart(7)}  (${r.hits}/${r.positives})   paper ${pct(FACE.paper.recall)}`,
    `false-positive rate  ${pct(r.falsePositiveRate).padStart(7)}  (${r.falsePositives}/${r.negatives})   paper ${pct(FACE.paper.falsePositiveRate)}`,
    `miss rate            ${pct(r.missRate).padStart(7)}  (${r.missed}/${r.positives})   paper ${pct(FACE.paper.missRate)}`,
    `misidentified        ${pct(r.misidentificationRate).padStart(7)}  (${r.misidentified}/${r.positives})`,
    `FPR, taught alone    ${pct(r.aloneFalsePositiveRate).padStart(7)}  (${r.aloneFalsePositives}/${r.negatives})`,
    '',
    `Group photos (${g.photos}): ${g.enrolledFound}/${g.enrolledFaces} labelled faces of taught people found by the detector; ` +
      `${g.enrolledCorrect} assigned correctly, ${g.enrolledWrong} to the wrong person, ${g.enrolledUnassigned} to nobody. ` +
      `${g.strangersAssigned}/${g.strangerFaces} stranger faces given a name.`,
    '',
    `identity                   keys${r.seeds.length > 1 ? ' (mean)' : ''}  recall            false positives`,
    ...r.perIdentity.map((p) => {
      const recall = p.positives > 0 ? `${pct(p.hits / p.positives)} (${p.hits}/${p.positives})` : 'n/a';
      const keys = p.keys / r.seeds.length;
      return (
        `${p.name.padEnd(26)} ${(Number.isInteger(keys) ? String(keys) : keys.toFixed(1)).padStart(4)}` +
        `${r.seeds.length > 1 ? '       ' : ''}  ${recall.padEnd(17)} ${p.falsePositives}/${p.negatives}`
      );
    }),
  ];
  return lines.join('\n');
}

/** Threshold-free verification figures of both halves: AUC and TAR at fixed FARs over all photo pairs. */
export function formatVerification(v: { calibration: VerificationResult; report: VerificationResult }): string {
  const line = (label: string, r: VerificationResult) =>
    `${label.padEnd(12)} ${String(r.photos).padStart(6)}  ${`${r.genuinePairs}/${r.impostorPairs}`.padStart(12)}  ${r.auc.toFixed(4)}  ` +
    r.tarAtFar.map((t) => `${pct(t.tar).padStart(7)} (t ${t.threshold.toFixed(3)})`).join('  ');
  return [
    `Verification, every pair of single-person photos (one face each):`,
    `half         photos  genuine/imp.  AUC     ${v.report.tarAtFar.map((t) => `TAR@FAR ${t.far}`.padEnd(20)).join('')}`,
    line('calibration', v.calibration),
    line('report', v.report),
  ].join('\n');
}

/** The recall / false-positive trade-off over thresholds, and the best threshold under the target rate. */
export function formatSweep(results: readonly FaceEvalResult[], targetFpr: number): string {
  const lines = [
    'threshold  recall    FPR     alone FPR  miss     misid    groups right/found (wrong)  strangers named',
    ...results.map(
      (r) =>
        `${r.threshold.toFixed(3).padStart(9)}  ${pct(r.recall).padStart(7)}  ${pct(r.falsePositiveRate).padStart(6)}  ` +
        `${pct(r.aloneFalsePositiveRate).padStart(9)}  ` +
        `${pct(r.missRate).padStart(7)}  ${pct(r.misidentificationRate).padStart(7)}  ` +
        `${`${r.groups.enrolledCorrect}/${r.groups.enrolledFound} (${r.groups.enrolledWrong})`.padStart(26)}  ` +
        `${r.groups.strangersAssigned}/${r.groups.strangerFaces}`,
    ),
    '',
  ];
  const describe = (measure: FalsePositiveMeasure, label: string) => {
    const best = bestUnderFalsePositiveRate(results, targetFpr, measure);
    return best
      ? `Best recall with ${label} <= ${pct(targetFpr)}: threshold ${best.threshold} (recall ${pct(best.recall)}, FPR ${pct(best.falsePositiveRate)}, ` +
          `alone FPR ${pct(best.aloneFalsePositiveRate)}, groups ${best.groups.enrolledCorrect}/${best.groups.enrolledFound}).`
      : `No threshold keeps ${label} at or below ${pct(targetFpr)}.`;
  };
  lines.push(
    describe('falsePositiveRate', 'FPR (all people taught together)'),
    describe('aloneFalsePositiveRate', 'FPR with each person taught alone'),
  );
  return lines.join('\n');
}

/** The figures of one evaluation that `--json` gives for each threshold or rule tried. */
export interface EvalSummary extends Pick<
  FaceEvalResult,
  | 'threshold'
  | 'perPerson'
  | 'recall'
  | 'hits'
  | 'positives'
  | 'falsePositiveRate'
  | 'falsePositives'
  | 'negatives'
  | 'aloneFalsePositiveRate'
  | 'aloneFalsePositives'
  | 'pairFalsePositiveRate'
  | 'pairFalsePositives'
  | 'pairTrials'
  | 'missRate'
  | 'misidentificationRate'
> {
  groupsFound: number;
  groupsCorrect: number;
  groupsWrong: number;
  strangersAssigned: number;
}

export function summarize(r: FaceEvalResult): EvalSummary {
  return {
    threshold: r.threshold,
    perPerson: r.perPerson,
    recall: r.recall,
    hits: r.hits,
    positives: r.positives,
    falsePositiveRate: r.falsePositiveRate,
    falsePositives: r.falsePositives,
    negatives: r.negatives,
    aloneFalsePositiveRate: r.aloneFalsePositiveRate,
    aloneFalsePositives: r.aloneFalsePositives,
    pairFalsePositiveRate: r.pairFalsePositiveRate,
    pairFalsePositives: r.pairFalsePositives,
    pairTrials: r.pairTrials,
    missRate: r.missRate,
    misidentificationRate: r.misidentificationRate,
    groupsFound: r.groups.enrolledFound,
    groupsCorrect: r.groups.enrolledCorrect,
    groupsWrong: r.groups.enrolledWrong,
    strangersAssigned: r.groups.strangersAssigned,
  };
}

/** The global threshold against per-person thresholds on the report half, and the rule a sweep chose. */
export function formatPerPersonComparison(
  comparison: { rule: PerPersonRule | null; global: EvalSummary; perPerson: EvalSummary | null },
  sweep: {
    threshold: number;
    targetFpr: number;
    rulesTried: number;
    chosen: { rule: PerPersonRule; calibration: EvalSummary; report: EvalSummary } | null;
  } | null,
): string {
  const row = (label: string, r: EvalSummary) =>
    `${label.padEnd(44)} ${pct(r.recall).padStart(7)} (${r.hits}/${r.positives})  ${pct(r.falsePositiveRate).padStart(6)} ` +
    `(${r.falsePositives}/${r.negatives})  ${pct(r.aloneFalsePositiveRate).padStart(6)} (${r.aloneFalsePositives})  ` +
    `${r.pairFalsePositiveRate === null ? '   n/a' : pct(r.pairFalsePositiveRate).padStart(6)} (${r.pairFalsePositives}/${r.pairTrials})  ` +
    `${r.groupsCorrect}/${r.groupsFound} (${r.groupsWrong})  ${r.strangersAssigned}`;
  const describe = (rule: PerPersonRule) => `lower by <= ${rule.maxLowering}, margin ${rule.margin}`;
  const lines = [
    'Global threshold against per-person thresholds, report half ("in pairs": each person taught with one other, every pair):',
    `${'matching'.padEnd(44)} recall            FPR             alone FPR     FPR in pairs         groups (wrong)  strangers named`,
    row(`global ${comparison.global.threshold}`, comparison.global),
    comparison.perPerson && comparison.rule
      ? row(`per person (${describe(comparison.rule)})`, comparison.perPerson)
      : 'per person: no rule measured for this recognizer (everyone keeps the global threshold).',
  ];
  if (sweep) {
    lines.push(
      '',
      sweep.chosen
        ? `Rule chosen on the calibration half at threshold ${sweep.threshold} (${sweep.rulesTried} tried; best recall with FPR <= ` +
            `${pct(sweep.targetFpr)}, alone and in pairs <= 1%): ${describe(sweep.chosen.rule)}; calibration recall ` +
            `${pct(sweep.chosen.calibration.recall)}, FPR ${pct(sweep.chosen.calibration.falsePositiveRate)}, ` +
            `in pairs ${pct(sweep.chosen.calibration.pairFalsePositiveRate ?? 0)}.`
        : `No per-person rule keeps the FPR at or below ${pct(sweep.targetFpr)} (alone and in pairs 1%) on the calibration half.`,
    );
    if (sweep.chosen) lines.push(row('that rule on the report half', sweep.chosen.report));
  }
  return lines.join('\n');
}
