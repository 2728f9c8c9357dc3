// MyVLM on the tiny LLaVA, end to end: pretrain a tiny captioner, teach a
// concept it has never seen from 4 generated photos whose captions contain
// the identifier, then caption held-out photos with the concept token
// appended (its head firing). The paper's recall, in miniature, over five
// seeds: single seeds are fragile (a rounding change in the loss graph can
// turn one seed's pretraining into a weaker captioner), so the bars hold for
// the median, and the controls hold for every seed.
import { describe, expect, it } from 'vitest';
import { runTinyTeachExperiment, type TinyExperimentResult } from '../../src/teach/miniature/experiment.ts';

const SEEDS = [0, 1, 2, 3, 4];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

describe('teaching a concept embedding on the tiny LLaVA', () => {
  it('lowers the loss by 80% and makes held-out captions name the concept (medians of 5 seeds), leaving other outputs unchanged', async () => {
    const runs: TinyExperimentResult[] = [];
    for (const seed of SEEDS) {
      const progress: number[] = [];
      const result = await runTinyTeachExperiment({ seed, onProgress: (p) => progress.push(p.step) });
      expect(progress).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
      expect(result.steps).toBe(100);
      // Controls, every seed: the untaught model rarely says the identifier, and answers without the concept do not change.
      expect(result.recallBeforeTeaching).toBeLessThanOrEqual(0.2);
      expect(result.unchangedWithoutConcept).toBe(1);
      runs.push(result);
    }
    expect(median(runs.map((r) => r.lossDrop))).toBeGreaterThanOrEqual(0.8);
    expect(median(runs.map((r) => r.recall))).toBeGreaterThanOrEqual(0.8);
    expect(runs.some((r) => r.samples.withConcept.some((c) => /\bsks\b/.test(c)))).toBe(true);
  }, 600_000);
});
