// A teaching step runs the positions before the concept token forward only,
// through the answering decoder, and hands their key/value cache to the
// teaching graph (TeachableExport's prefix cache). That must not change what
// is learned: on every variant of every replica, the loss and the gradient of
// the concept vector equal those of the whole sequence run through the
// teaching graph, for a batch of two photos with captions of different
// lengths (so the suffix is padded), in both attention directions.
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, type RgbImage } from '../../src/image/decode.ts';
import { seededRandom, normal } from '../../src/random.ts';
import type { AttentionDirection } from '../../src/teach/loss-graph.ts';
import { TeachableExport } from '../../src/teach/teachable-export.ts';
import type { StepResult, TrainingExample } from '../../src/teach/teachable.ts';
import { SHARED_DATA } from '../support/paths.ts';
import { relativeError } from '../support/numbers.ts';
import { ALL_REPLICA_VARIANTS, describeVariant, variantFolder, type ReplicaVariant } from '../support/replicas.ts';

let scratch: string;
let photos: RgbImage[];

beforeAll(async () => {
  scratch = mkdtempSync(path.join(tmpdir(), 'myvlm-prefix-cache-'));
  photos = await Promise.all(
    [3, 1].map(async (i) =>
      decodeImage(readFileSync(path.join(SHARED_DATA, `myvlm/concepts/billy_dog/billy_dog_${i}.jpg`))),
    ),
  );
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** One step's result with and without the prefix cache, on the same photos, vector and lambda. */
async function bothWays(
  variant: ReplicaVariant,
  direction: AttentionDirection,
): Promise<{ cached: StepResult; whole: StepResult }> {
  const { dir, dtype } = variantFolder(variant, scratch);
  const open = (prefixCache: boolean) =>
    TeachableExport.open(dir, { cacheDir: path.join(scratch, 'cache'), dtype, direction, prefixCache });
  const [cachedVlm, wholeVlm] = [await open(true), await open(false)];
  try {
    const features = await Promise.all(photos.map((photo) => cachedVlm.imageFeatures(photo)));
    const batch: TrainingExample[] = [
      {
        features: features[0],
        instruction: 'Please caption this image of sks.',
        target: 'sks is lying on the grass next to a red ball in the sun.',
      },
      { features: features[1], instruction: 'What is sks doing?', target: 'sks is sleeping.' },
    ];
    const random = seededRandom(3);
    const vector = Float64Array.from({ length: cachedVlm.hiddenSize }, () => normal(random));
    // A lambda at which the attention term moves the gradient as much as the caption term does on these random weights.
    const lambda = 50;
    return {
      cached: await cachedVlm.lossAndGradient(batch, vector, lambda),
      whole: await wholeVlm.lossAndGradient(batch, vector, lambda),
    };
  } finally {
    await cachedVlm.release();
    await wholeVlm.release();
  }
}

/**
 * How closely the two agree. Float graphs compute the same sums in another
 * grouping. Half-precision graphs round the cache to float16 where the whole
 * sequence keeps it in float32. Graphs that quantize activations dynamically
 * (q8, int8, uint8, and the genai int4 decoder's MatMulNBits at accuracy level
 * 4) pick one int8 scale per tensor: with a cache, the suffix gets its own
 * scale instead of sharing the image rows', which is a different rounding,
 * not an error. On the sharp replica (weights at std 0.5, activations in the
 * hundreds) that rounding moves the gradient's direction a lot, so there
 * only the loss is compared.
 */
function tolerance(variant: ReplicaVariant): { loss: number; gradient: number | null } {
  const kind = 'dtype' in variant ? variant.dtype : variant.extra;
  const dynamic = ['q8', 'int8', 'uint8', 'genai-int4'].includes(kind);
  if (dynamic)
    return variant.folder === 'llava-interleave-qwen-tiny-sharp'
      ? { loss: 3e-2, gradient: null }
      : { loss: 1e-3, gradient: 1e-2 };
  if (kind === 'fp16' || kind === 'q4f16') return { loss: 1e-4, gradient: 1e-2 };
  return { loss: 1e-5, gradient: 1e-4 };
}

describe('the prefix cache of a teaching step', () => {
  for (const variant of ALL_REPLICA_VARIANTS) {
    it(`${describeVariant(variant)}: gives the loss and the gradient of the whole sequence`, async () => {
      const { cached, whole } = await bothWays(variant, 'row');
      const allowed = tolerance(variant);
      expect(whole.attentionLoss).toBeGreaterThan(0);
      expect(Math.abs(cached.loss - whole.loss) / whole.loss).toBeLessThan(allowed.loss);
      expect(Math.abs(cached.attentionLoss - whole.attentionLoss) / whole.attentionLoss).toBeLessThan(
        Math.max(allowed.loss, 1e-5),
      );
      if (allowed.gradient !== null)
        expect(relativeError(cached.gradient, whole.gradient)).toBeLessThan(allowed.gradient);
    });
  }

  it('in the column direction too: the concept column past the cached keys, averaged over the whole sequence', async () => {
    const { cached, whole } = await bothWays({ folder: 'llava-1.5-tiny', dtype: 'fp32' }, 'column');
    expect(whole.attentionLoss).toBeGreaterThan(0);
    expect(Math.abs(cached.attentionLoss - whole.attentionLoss) / whole.attentionLoss).toBeLessThan(1e-5);
    expect(Math.abs(cached.loss - whole.loss) / whole.loss).toBeLessThan(1e-5);
    expect(relativeError(cached.gradient, whole.gradient)).toBeLessThan(1e-4);
  });
});
