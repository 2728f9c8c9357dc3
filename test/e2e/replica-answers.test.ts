// Every published export variant, as the replicas of the real exports hold
// them, answers through the one family layer: fp32, fp16, q8/int8/uint8, q4,
// q4f16 and bnb4 of each replica, plus the decoders other tools write (the
// onnxruntime transformer optimizer's, and the onnxruntime-genai builder's
// with fused attention in fp32 and int4): a caption, a question and a REC
// prompt, each with a concept token injected.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, type DecodedImage } from '../../src/image/decode.ts';
import { SessionPool } from '../../src/models/session.ts';
import { openVlm } from '../../src/vlm/load.ts';
import { concept, vector } from '../vlm/support.ts';
import { SHARED_DATA } from '../support/paths.ts';
import { ALL_REPLICA_VARIANTS, describeVariant, variantFolder } from '../support/replicas.ts';

/** Image rows per photo: SigLIP at 384 px (27 x 27 patches), CLIP at 336 px (24 x 24, class token dropped). */
const IMAGE_ROWS: Record<string, number> = {
  'llava-interleave-qwen-tiny': 729,
  'llava-interleave-qwen-tiny-sharp': 729,
  'llava-1.5-tiny': 576,
};

let scratch: string;
let photo: DecodedImage;

beforeAll(async () => {
  scratch = mkdtempSync(path.join(tmpdir(), 'myvlm-replica-answers-'));
  photo = await decodeImage(readFileSync(path.join(SHARED_DATA, 'myvlm/concepts/billy_dog/billy_dog_3.jpg')));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe.each(ALL_REPLICA_VARIANTS.map((v) => [describeVariant(v), v] as const))('%s', (_name, variant) => {
  it('answers a caption, a question and a REC prompt with a concept token injected', async () => {
    const { dir, dtype } = variantFolder(variant, scratch);
    const sessions = new SessionPool();
    const vlm = await openVlm(dir, { resolve: { cacheDir: scratch, allowDownload: false }, sessions, dtype });
    try {
      expect(vlm.model.dtypes.decoder).toBe(dtype);
      const rex = concept('Rex', 'sks', vlm.id, vector(vlm.hiddenSize, 2));
      const caption = await vlm.caption({ image: photo, concepts: [rex], maxNewTokens: 6 });
      expect(caption.prompt).toContain('Please caption this image of sks.');
      expect(caption.injected.map((c) => c.name)).toEqual(['Rex']);
      expect(caption.generation.imageTokens).toBe(IMAGE_ROWS[variant.folder]);
      expect(caption.generation.conceptTokens).toBe(1);
      expect(caption.generation.referenceNorm).toBeGreaterThan(0);
      expect(caption.generation.tokens.length).toBeGreaterThan(0);
      const answer = await vlm.ask({
        image: photo,
        concepts: [rex],
        question: 'What is Rex holding?',
        maxNewTokens: 4,
      });
      expect(answer.prompt).toContain('What is sks holding?');
      expect(answer.generation.tokens.length).toBeGreaterThan(0);
      const where = await vlm.refer({ image: photo, target: rex, maxNewTokens: 4 });
      expect(where.generation.conceptTokens).toBe(1);
      // Random weights write no box: the answer says why instead of inventing one.
      expect(where.located === null ? where.problem : 'a box').toBeTruthy();
    } finally {
      await vlm.dispose();
      await sessions.dispose();
    }
  });
});
