// Answering and teaching run one family layer: for the same photo and
// concept, a real-format export's decoder reads the same pixels, the same
// token ids and the same input rows whether it is answering or being taught,
// and the concept row sits exactly where answering puts it.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fillConcept, teachingPrompts } from '../../src/vlm/prompts.ts';
import { decodeImage } from '../../src/image/decode.ts';
import { SessionPool } from '../../src/models/session.ts';
import { TeachableExport } from '../../src/teach/teachable-export.ts';
import { openVlm } from '../../src/vlm/load.ts';
import { concept, l2, vector } from '../vlm/support.ts';
import { SHARED_DATA, SHARED_MODELS } from '../support/paths.ts';

const REPLICAS = path.join(SHARED_MODELS, 'vlm-replicas');

/** Every feed of every ONNX Runtime session run in this process, by input name. */
function recordFeeds(): { feeds: Record<string, ort.Tensor>[]; stop(): void } {
  const feeds: Record<string, ort.Tensor>[] = [];
  const prototype = (ort.InferenceSession as unknown as { prototype: ort.InferenceSession }).prototype;
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with .apply(this), on the session it belongs to
  const original = prototype.run;
  const spy = vi.spyOn(prototype, 'run').mockImplementation(async function (
    this: ort.InferenceSession,
    ...args: Parameters<ort.InferenceSession['run']>
  ) {
    feeds.push(args[0]);
    return (original as (...a: unknown[]) => Promise<ort.InferenceSession.ReturnType>).apply(this, args);
  });
  return { feeds, stop: () => spy.mockRestore() };
}

const floats = (t: ort.Tensor, from = 0, to = t.data.length) => Array.from((t.data as Float32Array).subarray(from, to));

afterEach(() => vi.restoreAllMocks());

describe('teaching and answering feed a real export identically', () => {
  for (const replica of ['llava-interleave-qwen-tiny', 'llava-1.5-tiny']) {
    it(`${replica}: same pixels, same prompt ids, same decoder rows, the concept row in the same place`, async () => {
      const dir = path.join(REPLICAS, replica);
      const photo = await decodeImage(readFileSync(path.join(SHARED_DATA, 'myvlm/concepts/billy_dog/billy_dog_2.jpg')));
      const cacheDir = mkdtempSync(path.join(tmpdir(), 'myvlm-parity-'));
      const sessions = new SessionPool();
      const answering = await openVlm(dir, { resolve: { cacheDir, allowDownload: false }, sessions });
      const teaching = await TeachableExport.open(dir, { cacheDir });
      try {
        // A direction exactly representable in float32, as stored embeddings are.
        const stored = vector(answering.hiddenSize, 3);
        const rex = concept('Rex', 'sks', answering.id, stored);

        const answerFeeds = recordFeeds();
        const answer = await answering.caption({ image: photo, concepts: [rex], sample: false, maxNewTokens: 1 });
        answerFeeds.stop();
        const teachFeeds = recordFeeds();
        const features = await teaching.imageFeatures(photo);
        const instruction = fillConcept(teachingPrompts().captioning[teaching.model.family.captionPrompt], 'sks');
        await teaching.lossAndGradient(
          [{ features, instruction, target: 'sks on the sofa.' }],
          Float64Array.from(stored),
          0.0075,
        );
        teachFeeds.stop();

        const pixels = (list: Record<string, ort.Tensor>[]) =>
          list.filter((f) => f.pixel_values).map((f) => f.pixel_values);
        expect(pixels(answerFeeds.feeds)).toHaveLength(1);
        expect(pixels(teachFeeds.feeds)).toHaveLength(1);
        expect(floats(pixels(teachFeeds.feeds)[0])).toEqual(floats(pixels(answerFeeds.feeds)[0]));

        // The same prompt: answering's ids are the start of the teaching sequence, up to where the answer begins.
        const asked = answering.model.prompts.prompt(instruction, { conceptRows: 1 });
        expect(answer.prompt).toBe(asked.text);
        const taught = teaching.model.prompts.example(instruction, 'sks on the sofa.', 1);
        expect(taught.ids.slice(0, asked.ids.length)).toEqual(asked.ids);
        expect(taught.labels.slice(0, asked.ids.length).every((l) => l === -100)).toBe(true);
        expect(taught.conceptPosition).toBe(asked.conceptPosition);
        expect(asked.conceptPosition).toBe(
          asked.ids.indexOf(answering.model.loop.config.imageTokenId) + answering.model.imageRows,
        );

        // The decoder rows: answering's prefill is, row for row, the start of what teaching reads: the rows before the
        // concept go through the answering decoder (the prefix cache), the rest through the teaching graph.
        const prefill = answerFeeds.feeds.find((f) => f.inputs_embeds && f.inputs_embeds.dims[1] > 1)?.inputs_embeds;
        const prefixRows = teachFeeds.feeds.find((f) => f.inputs_embeds && !f.labels)?.inputs_embeds;
        const suffixRows = teachFeeds.feeds.find((f) => f.labels)?.inputs_embeds;
        if (!prefill || !prefixRows || !suffixRows) throw new Error('a decoder feed is missing');
        const H = answering.hiddenSize;
        expect(prefill.dims[1]).toBe(asked.ids.length);
        expect(prefixRows.dims[1]).toBe(asked.conceptPosition);
        const taughtRows = [...floats(prefixRows), ...floats(suffixRows)];
        expect(taughtRows.slice(0, asked.ids.length * H)).toEqual(floats(prefill));
        const conceptRow = floats(prefill, asked.conceptPosition * H, (asked.conceptPosition + 1) * H);
        expect(l2(conceptRow)).toBeCloseTo(features.referenceNorm, 4);
        expect(l2(conceptRow)).toBeCloseTo(answer.generation.referenceNorm, 6);
      } finally {
        await answering.dispose();
        await sessions.dispose();
        await teaching.release();
        rmSync(cacheDir, { recursive: true, force: true });
      }
    });
  }
});
