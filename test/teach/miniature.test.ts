// MyVLM on the tiny LLaVA, end to end (src/teach/miniature/): pretrain a tiny
// captioner that never saw the identifier, teach it from 4 generated photos
// with the product's lesson code, caption new held-out scenes with the taught
// vector, a random vector of the same norm, and none. Single seeds are
// fragile, so the gate is a rate over seeds, and it is the claim the
// miniature supports (docs/teaching.md section 6): the taught vector makes
// held-out captions name the concept in the taught form, while a random
// vector and no vector do not. That the vector is specific to the concept
// (`specific`, TINY_BARS.otherWithVector) is measured but not claimed: it fails.
// Each seed pretrains a captioner for about two minutes on two cores; three
// seeds is the least that makes a rate.
import { describe, expect, it } from 'vitest';
import { runTinyTeachExperiment } from '../../src/teach/miniature/experiment.ts';

const SEEDS = [0, 1, 2];
/** Seeds that must show the steering. */
const REQUIRED = 2;

describe('teaching a concept embedding on the tiny LLaVA', () => {
  it(`makes held-out captions name a never-seen identifier on at least ${REQUIRED} of ${SEEDS.length} seeds, unlike a random vector or none`, async () => {
    let steered = 0;
    for (const seed of SEEDS) {
      const progress: number[] = [];
      const result = await runTinyTeachExperiment({ seed, onProgress: (p) => progress.push(p.step) });
      expect(progress).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
      expect(result.identifier).toBe('sks');
      if (result.steers) steered += 1;
    }
    expect(steered).toBeGreaterThanOrEqual(REQUIRED);
  }, 900_000);

  it('refuses an identifier the captioner was pretrained on', async () => {
    await expect(runTinyTeachExperiment({ identifier: 'Anna' })).rejects.toThrow(/never saw: sks or bear/);
  });
});
