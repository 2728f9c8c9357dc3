// Plain-text reports of the face evaluation: the headline figures next to the
// paper's, group-photo results, per-identity rows, and a threshold sweep.
import { FACE } from '../../../config/defaults.ts';
import { bestUnderFalsePositiveRate, type FaceEvalResult, type FalsePositiveMeasure } from './protocol.ts';

export interface EvalSetup {
  dataset: string;
  detector: string;
  recognizer: string;
  flipAverage: boolean;
  minRecognizableFace: number;
  photos: number;
  embedSeconds: number;
}

const pct = (v: number) => `${(100 * v).toFixed(2)}%`;

/** The report of one evaluation at one threshold. */
export function formatEvalReport(setup: EvalSetup, r: FaceEvalResult): string {
  const g = r.groups;
  const lines = [
    `Faces in ${setup.dataset}: ${r.identities} identities, ${r.shots} teaching photo(s) each, seed(s) ${r.seeds.join(', ')}`,
    `Detector ${setup.detector}, recognizer ${setup.recognizer}${setup.flipAverage ? ' (flip-averaged)' : ''}, ` +
      `threshold ${r.threshold}, faces from ${setup.minRecognizableFace} px`,
    `Embedded ${setup.photos} photos in ${setup.embedSeconds.toFixed(1)} s; ${r.photosWithoutFace} identity/stranger photo(s) had no detected face.`,
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
