// MiniGPT-v2, the paper's grounding model, teaches through the same family
// layer as LLaVA: its own [INST] template, four grouped image rows, the
// concept row at the mean image-token norm, and its own attention weight.
// No public ONNX export of it exists, so its tiny generated export is the test.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyMiniGptV2 } from '../../src/onnx/tiny/factory.ts';
import { defaultTraining, teachLesson } from '../../src/teach/job.ts';
import { syntheticScene } from '../../src/teach/miniature/scenes.ts';
import { TeachableExport } from '../../src/teach/teachable-export.ts';
import { referenceNorm } from '../../src/vlm/injection.ts';

let scratch: string;
let vlm: TeachableExport;

beforeAll(async () => {
  scratch = mkdtempSync(path.join(tmpdir(), 'myvlm-minigpt-lesson-'));
  const tiny = await writeTinyMiniGptV2(path.join(scratch, 'model'), { seed: 3 });
  vlm = await TeachableExport.open(tiny.dir, { cacheDir: path.join(scratch, 'cache') });
});
afterAll(async () => {
  await vlm?.release();
  rmSync(scratch, { recursive: true, force: true });
});

describe('teaching the tiny MiniGPT-v2', () => {
  it('writes its training sequences in its own template, the concept right after the four image rows', () => {
    const example = vlm.model.prompts.example('[caption] A short image caption of sks:', 'sks on the grass.');
    expect(vlm.model.prompts.templateSource).toBe('tokenizer_config.json');
    expect(vlm.model.prompts.decode(example.ids, true)).toBe(
      '<s> [INST] <Img> <ImageHere> <ImageHere> <ImageHere> <ImageHere> <ImageHere> </Img> ' +
        '[ caption ] A short image caption of sks : [/INST] sks on the grass. </s>',
    );
    expect(vlm.model.imageRows).toBe(4);
    const first = example.ids.indexOf(vlm.model.loop.config.imageTokenId);
    expect(example.conceptPosition).toBe(first + 4);
    expect(
      vlm.model.prompts.decode(
        example.ids.filter((_, i) => example.labels[i] !== -100),
        true,
      ),
    ).toBe('sks on the grass. </s>');
  });

  it('scales the concept row to the mean image-token norm and lowers the loss with its own attention weight', async () => {
    const features = await vlm.imageFeatures(syntheticScene(1, 'concept').image);
    expect(features.referenceNorm).toBeCloseTo(
      referenceNorm(features.rows, features.count, vlm.hiddenSize, 'mean-image-token'),
      6,
    );
    expect(features.referenceNorm).not.toBeCloseTo(
      referenceNorm(features.rows, features.count, vlm.hiddenSize, 'first-image-token'),
      3,
    );
    const training = { ...defaultTraining('caption', vlm.model.family), steps: 10 };
    expect(training.lambda).toBe(1.0);
    const photos = [0, 1].map((i) => ({ image: syntheticScene(i, 'concept').image, caption: 'sks on the grass.' }));
    const outcome = await teachLesson(vlm, {
      concept: { identifier: 'sks', name: 'Rex', kind: 'object' },
      task: 'caption',
      training,
      photos,
    });
    expect(outcome.lossEnd).toBeLessThan(outcome.lossStart - 0.1);
  });
});
