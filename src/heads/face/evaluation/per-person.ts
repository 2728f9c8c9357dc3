// Choosing the per-person threshold rule's constants on the calibration half:
// a grid of (maxLowering, margin) at the threshold in use, and the rule with
// the best recall that keeps the false-positive aim.
import type { PerPersonRule } from '../../../models/catalog/faces.ts';
import { TARGET_FALSE_POSITIVE_RATE, type FaceEvalResult } from './protocol.ts';

/**
 * The false-positive rate (all people taught together) a per-person rule must
 * keep on the calibration half: the aim for the shipped default, at
 * most 0.5%. The rate with each person taught alone must also stay under
 * `TARGET_FALSE_POSITIVE_RATE`, as for the global threshold.
 */
export const PER_PERSON_TARGET_FPR = 0.005;

/**
 * The rules a sweep tries: lowering by 0.01 to 0.30 below the threshold (both
 * recognizers' useful ranges fit: dlib's genuine and impostor similarities lie
 * within 0.1 of each other, MobileFaceNet's spread wider), keeping a margin of
 * -0.05 to +0.10 over the nearest other person's keys, in steps of 0.01.
 */
export function perPersonRuleGrid(): PerPersonRule[] {
  const round = (v: number) => Math.round(v * 1000) / 1000;
  const rules: PerPersonRule[] = [];
  for (let lower = 1; lower <= 30; lower++)
    for (let margin = -5; margin <= 10; margin++)
      rules.push({ maxLowering: round(lower / 100), margin: round(margin / 100) });
  return rules;
}

/**
 * Of a grid's results (run without `pairs`), the rule with the best recall
 * whose FPR is at most `maxFpr`, whose taught-alone FPR is at most 1%, and
 * whose FPR in scopes of two people is at most 1% too (the bound the global
 * threshold's taught-alone rate keeps: a person's margin to the others of a
 * small scope says nothing about the strangers in its photos). Ties go to
 * the smaller lowering, then the larger margin (the more careful rule).
 * `withPairs` runs a rule again counting scopes of two; it is called on the
 * candidates in order of preference until one keeps the bound, and that run
 * comes back. Null when none does.
 */
export function bestPerPersonRule(
  results: readonly FaceEvalResult[],
  withPairs: (rule: PerPersonRule) => FaceEvalResult,
  maxFpr = PER_PERSON_TARGET_FPR,
): FaceEvalResult | null {
  const candidates = results
    .filter(
      (r) => r.perPerson && r.falsePositiveRate <= maxFpr && r.aloneFalsePositiveRate <= TARGET_FALSE_POSITIVE_RATE,
    )
    .sort(
      (a, b) =>
        b.recall - a.recall ||
        (a.perPerson?.maxLowering ?? 0) - (b.perPerson?.maxLowering ?? 0) ||
        (b.perPerson?.margin ?? 0) - (a.perPerson?.margin ?? 0),
    );
  for (const candidate of candidates) {
    const checked = withPairs(candidate.perPerson as PerPersonRule);
    if ((checked.pairFalsePositiveRate ?? Infinity) <= TARGET_FALSE_POSITIVE_RATE) return checked;
  }
  return null;
}
