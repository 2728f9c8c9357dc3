// The teaching pieces on a generated tiny LLaVA: training sequences from the
// model's own chat template, the concept-vector gradient through the whole
// model (float64, central differences), and a training run that resumes
// from a checkpoint exactly where it stopped.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyLlava, type TinyVlmDirectory } from '../../src/onnx/tiny/factory.ts';
import { normal, seededRandom } from '../../src/random.ts';
import { initialConceptVector } from '../../src/teach/concept-vector.ts';
import { TeachableExport } from '../../src/teach/teachable-export.ts';
import { syntheticScene } from '../../src/teach/miniature/scenes.ts';
import { vqaTargets, type PhotoTargets } from '../../src/teach/targets.ts';
import { trainConceptEmbedding, type TrainingState } from '../../src/teach/trainer.ts';

let scratch: string;
let tiny: TinyVlmDirectory;
let vlm: TeachableExport;

beforeAll(async () => {
  scratch = mkdtempSync(path.join(tmpdir(), 'myvlm-trainer-'));
  tiny = await writeTinyLlava(path.join(scratch, 'model'), { seed: 2, dtype: 'float64' });
  vlm = await TeachableExport.open(tiny.dir, { cacheDir: path.join(scratch, 'cache') });
});
afterAll(async () => {
  await vlm?.release();
  rmSync(scratch, { recursive: true, force: true });
});

const instruction = 'Please caption this image of sks.';

describe('training sequences', () => {
  it('mask everything but the answer and place the concept right after the image rows', () => {
    const example = vlm.model.prompts.example(instruction, 'sks on the grass.', 1);
    const image = tiny.tokenIds.image;
    const first = example.ids.indexOf(image);
    const rows = example.ids.filter((id) => id === image).length;
    expect(rows).toBe(tiny.sizes.imageTokens + 1);
    expect(example.conceptPosition).toBe(first + tiny.sizes.imageTokens);
    const answer = example.labels.flatMap((l, i) => (l === -100 ? [] : [i]));
    expect(vlm.model.prompts.decode(answer.map((i) => example.ids[i]))).toBe('sks on the grass.');
    expect(example.labels.at(-1)).toBe(tiny.tokenIds.eos);
    expect(answer[0]).toBe(vlm.model.prompts.prompt(instruction, { conceptRows: 1 }).ids.length);
  });
});

describe('the concept-vector gradient through the tiny decoder (float64)', () => {
  it('matches central differences of the loss, attention regularization on', async () => {
    const features = await Promise.all([0, 1, 2].map((i) => vlm.imageFeatures(syntheticScene(i, 'concept').image)));
    const batch = [
      { features: features[0], instruction, target: 'sks on the grass.' },
      { features: features[1], instruction, target: 'sks on a red table next to the sofa.' },
      { features: features[2], instruction: 'What color is sks?', target: 'it is blue.' },
    ];
    const v = initialConceptVector(vlm.hiddenSize, 4);
    const lambda = 0.7;
    const at = await vlm.lossAndGradient(batch, v, lambda);
    expect(at.attentionLoss).toBeGreaterThan(0);
    expect(at.loss).toBeCloseTo(at.captionLoss + at.attentionLoss, 10);
    const random = seededRandom(9);
    for (let d = 0; d < 3; d++) {
      const direction = Float64Array.from({ length: v.length }, () => normal(random));
      const eps = 1e-5;
      const plus = v.map((x, i) => x + eps * direction[i]);
      const minus = v.map((x, i) => x - eps * direction[i]);
      const numeric =
        ((await vlm.lossAndGradient(batch, plus, lambda)).loss -
          (await vlm.lossAndGradient(batch, minus, lambda)).loss) /
        (2 * eps);
      const analytic = at.gradient.reduce((s, g, i) => s + g * direction[i], 0);
      expect(Math.abs(analytic - numeric) / Math.max(Math.abs(analytic), 1e-8)).toBeLessThan(1e-5);
    }
  });
});

describe('training runs', () => {
  const photos = (): PhotoTargets[] =>
    [0, 1].map((i) => ({
      image: syntheticScene(10 + i, 'concept').image,
      choices: [
        { instruction, target: 'sks on the grass.' },
        { instruction, target: 'sks on the bed.' },
      ],
    }));

  it('resumed from a checkpoint, end exactly where an uninterrupted run ends', async () => {
    const checkpoints: TrainingState[] = [];
    const straight = await trainConceptEmbedding(
      vlm,
      photos(),
      { steps: 6, checkpointEvery: 3, seed: 1 },
      {
        onCheckpoint: (s) => void checkpoints.push(s),
      },
    );
    expect(checkpoints.map((c) => c.step)).toEqual([3, 6]);
    const resumed = await trainConceptEmbedding(
      vlm,
      photos(),
      { steps: 6, checkpointEvery: 3, seed: 1 },
      { resume: checkpoints[0] },
    );
    expect(resumed.step).toBe(6);
    expect(Array.from(resumed.vector)).toEqual(Array.from(straight.vector));
    expect(resumed.losses).toEqual(straight.losses);
  });

  it('stops between steps when its signal is aborted', async () => {
    const controller = new AbortController();
    const seen: number[] = [];
    const run = trainConceptEmbedding(
      vlm,
      photos(),
      { steps: 50 },
      {
        signal: controller.signal,
        onProgress: (p) => {
          seen.push(p.step);
          if (p.step === 2) controller.abort(new Error('forgotten'));
        },
      },
    );
    await expect(run).rejects.toThrow('forgotten');
    expect(seen).toEqual([1, 2]);
  });
});

describe('VQA targets', () => {
  it('ask the ten questions of the kind about the class phrase and keep the identifier in instructions', async () => {
    const targets = await vqaTargets(vlm, [{ image: syntheticScene(3, 'concept').image, caption: null }], {
      identifier: 'sks',
      name: 'Rex',
      kind: 'object',
      classPhrase: 'the ball',
    });
    expect(targets).toHaveLength(1);
    const { choices } = targets[0];
    expect(choices.length).toBeGreaterThan(0);
    expect(choices.length).toBeLessThanOrEqual(10);
    for (const c of choices) {
      expect(c.instruction).toMatch(/\bsks\b/);
      expect(c.target).toBe(c.target.toLowerCase());
    }
    expect(choices[0].instruction).toBe('What color is sks?');
  });
});
