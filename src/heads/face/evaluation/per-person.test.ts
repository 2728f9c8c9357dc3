import { describe, expect, it } from 'vitest';
import type { PerPersonRule } from '../../../models/catalog/faces.ts';
import { bestPerPersonRule, perPersonRuleGrid } from './per-person.ts';
import type { FaceEvalResult } from './protocol.ts';

/** The fields the choice reads; the rest of a result does not matter to it. */
function result(
  rule: PerPersonRule,
  recall: number,
  fpr: number,
  alone = 0,
  pairs: number | null = null,
): FaceEvalResult {
  return {
    perPerson: rule,
    recall,
    falsePositiveRate: fpr,
    aloneFalsePositiveRate: alone,
    pairFalsePositiveRate: pairs,
  } as FaceEvalResult;
}

describe('perPersonRuleGrid', () => {
  it('tries lowerings of 0.01 to 0.30 with margins of -0.05 to 0.10, in steps of 0.01', () => {
    const grid = perPersonRuleGrid();
    expect(grid).toHaveLength(30 * 16);
    expect(grid[0]).toEqual({ maxLowering: 0.01, margin: -0.05 });
    expect(grid.at(-1)).toEqual({ maxLowering: 0.3, margin: 0.1 });
    expect(grid).toContainEqual({ maxLowering: 0.07, margin: 0.03 });
  });
});

describe('bestPerPersonRule', () => {
  const loose = { maxLowering: 0.05, margin: 0 };
  const careful = { maxLowering: 0.02, margin: 0.01 };
  const tie = { maxLowering: 0.02, margin: 0.03 };
  const noisy = { maxLowering: 0.01, margin: 0 };

  it('takes the best recall under the FPR aims, checking scopes of two in order of preference', () => {
    const grid = [
      result(loose, 0.99, 0.004),
      result(careful, 0.98, 0.004),
      result(tie, 0.98, 0.003),
      result(noisy, 0.999, 0.006), // over the 0.5% aim
      result({ maxLowering: 0.03, margin: 0 }, 0.999, 0.001, 0.02), // over 1% taught alone
    ];
    const pairRates = new Map([
      [loose, 0.03],
      [tie, 0.008],
      [careful, 0.002],
    ]);
    const checked: PerPersonRule[] = [];
    const best = bestPerPersonRule(grid, (rule) => {
      checked.push(rule);
      return result(rule, 0, 0, 0, pairRates.get(rule) ?? null);
    });
    // loose fails in pairs; of the two at 0.98, the larger margin comes first and keeps the bound.
    expect(checked).toEqual([loose, tie]);
    expect(best?.perPerson).toBe(tie);
    expect(best?.pairFalsePositiveRate).toBe(0.008);
  });

  it('is null when no rule keeps the aims', () => {
    expect(bestPerPersonRule([result(loose, 0.99, 0.01)], () => result(loose, 0.99, 0))).toBeNull();
    expect(bestPerPersonRule([result(loose, 0.99, 0.001)], (rule) => result(rule, 0.99, 0, 0, 0.05))).toBeNull();
  });
});
