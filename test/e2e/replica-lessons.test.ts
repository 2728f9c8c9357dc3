// Every published export variant teaches through the one family layer, with
// as few steps as show it. The replica whose output depends strongly on its
// input (-sharp) shows each of the 11 variants lowering the loss of its
// teaching photos (fixed, without augmentation) in 10 steps on 2 photos, by
// 0.7 to 1.8 nats when measured. On the std-0.02 replicas a concept moves
// the loss by only about 5e-4: float and weight-only variants still lower it
// in 2 steps, while under dynamic activation quantization (q8, int8, uint8,
// genai int4) that change is below the quantization noise of a few steps,
// so there the lesson must run and move the loss; `npm run bench exports`
// runs the full check (4 photos, 30 steps) on every variant of every replica.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, type DecodedImage } from '../../src/image/decode.ts';
import { defaultTraining, teachLesson } from '../../src/teach/job.ts';
import { TeachableExport } from '../../src/teach/teachable-export.ts';
import { SHARED_DATA } from '../support/paths.ts';
import { ALL_REPLICA_VARIANTS, describeVariant, variantFolder, type ReplicaVariant } from '../support/replicas.ts';

let scratch: string;
let photos: DecodedImage[];

beforeAll(async () => {
  scratch = mkdtempSync(path.join(tmpdir(), 'myvlm-replica-lessons-'));
  photos = await Promise.all(
    [3, 1].map(async (i) =>
      decodeImage(readFileSync(path.join(SHARED_DATA, `myvlm/concepts/billy_dog/billy_dog_${i}.jpg`))),
    ),
  );
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Variants whose activations are quantized per call: a std-0.02 replica's concept signal is below their noise in a few steps. */
function quantizesActivations(variant: ReplicaVariant): boolean {
  return 'dtype' in variant ? ['q8', 'int8', 'uint8'].includes(variant.dtype) : variant.extra === 'genai-int4';
}

async function lesson(
  variant: ReplicaVariant,
  steps: number,
  count: number,
): Promise<{ lossStart: number; lossEnd: number; moved: number }> {
  const { dir, dtype } = variantFolder(variant, scratch);
  const vlm = await TeachableExport.open(dir, { cacheDir: path.join(scratch, 'cache'), dtype });
  try {
    const training = { ...defaultTraining('caption', vlm.model.family), steps, checkpointEvery: steps };
    const outcome = await teachLesson(vlm, {
      concept: { identifier: 'sks', name: 'Rex', kind: 'object' },
      task: 'caption',
      training,
      photos: photos.slice(0, count).map((image) => ({ image, caption: 'Rex on the sofa.' })),
    });
    expect(outcome.state.step).toBe(steps);
    return {
      lossStart: outcome.lossStart,
      lossEnd: outcome.lossEnd,
      moved: Math.abs(outcome.lossEnd - outcome.lossStart),
    };
  } finally {
    await vlm.release();
  }
}

describe.each(ALL_REPLICA_VARIANTS.map((v) => [describeVariant(v), v] as const))('%s', (_name, variant) => {
  if (variant.folder === 'llava-interleave-qwen-tiny-sharp') {
    it('lowers the loss of its teaching photos in 10 steps on 2 photos', async () => {
      const { lossStart, lossEnd } = await lesson(variant, 10, 2);
      expect(lossEnd).toBeLessThan(lossStart - 0.1);
    });
  } else if (!quantizesActivations(variant)) {
    it('lowers the loss of its teaching photo in 2 steps', async () => {
      const { lossStart, lossEnd } = await lesson(variant, 2, 1);
      expect(Number.isFinite(lossStart)).toBe(true);
      expect(lossEnd).toBeLessThan(lossStart);
    });
  } else {
    it('runs a lesson that moves the loss of its teaching photo', async () => {
      const { lossStart, lossEnd, moved } = await lesson(variant, 2, 1);
      expect(Number.isFinite(lossStart) && Number.isFinite(lossEnd)).toBe(true);
      expect(moved).toBeGreaterThan(0);
    });
  }
});
