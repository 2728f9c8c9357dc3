// MyVLM on the tiny LLaVA, end to end: pretrain a tiny captioner, teach a
// concept it has never seen from 4 generated photos whose captions contain
// the identifier, then caption held-out photos with the concept token
// appended (its head firing). The paper's recall, in miniature.
import { describe, expect, it } from 'vitest';
import { runTinyTeachExperiment } from '../../src/teach/tiny-experiment.ts';

describe('teaching a concept embedding on the tiny LLaVA', () => {
  it('lowers the loss by 80% and makes held-out captions name the concept, leaving other outputs unchanged', async () => {
    const progress: number[] = [];
    const result = await runTinyTeachExperiment({ seed: 0, onProgress: (p) => progress.push(p.step) });
    expect(result.steps).toBe(100);
    expect(progress).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    // The untaught model describes the concept as some object: it does not say the identifier.
    expect(result.recallBeforeTeaching).toBeLessThanOrEqual(0.2);
    expect(result.lossDrop).toBeGreaterThanOrEqual(0.8);
    expect(result.recall).toBeGreaterThanOrEqual(0.8);
    expect(result.unchangedWithoutConcept).toBe(1);
    expect(result.samples.withConcept.some((c) => /\bsks\b/.test(c))).toBe(true);
  }, 120_000);
});
