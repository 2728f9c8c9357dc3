// The float64 variant, the one gradient checks run on: all three graphs run
// in ONNX Runtime on CPU, hold the same weights as the float32 variant, and
// match the independent LLaMA implementation to double precision.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildTinyVlm,
  writeTinyLlava,
  writeTinyMiniGptV2,
  type TinyVlmDirectory,
} from '../../src/onnx/tiny/factory.ts';
import type { VlmSessionLoop } from '../../src/onnx/session-loop.ts';
import { openExport, type OpenedExport } from '../support/exports.ts';
import { checkModel } from '../support/onnx-check.ts';
import { sessionOptionsFor } from '../../src/onnx/runtime.ts';
import { maxAbsDiff, referenceLogits } from './reference-llama.ts';

let scratch: string;
let double: TinyVlmDirectory;
let single: TinyVlmDirectory;
let loop64: VlmSessionLoop;
let loop32: VlmSessionLoop;
let opened: OpenedExport[] = [];

/** Sizes that exercise grouped-query attention with three query heads per key/value head. */
const SIZES = { seed: 11, layers: 2, hiddenSize: 48, heads: 6, kvHeads: 2, tieWordEmbeddings: true };

const image = (type: 'float32' | 'float64'): ort.Tensor => {
  const values = Array.from({ length: 3 * 32 * 32 }, (_, i) => Math.sin(i * 0.05));
  return new ort.Tensor(
    type,
    type === 'float64' ? Float64Array.from(values) : Float32Array.from(values),
    [1, 3, 32, 32],
  );
};

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'myvlm-tiny-f64-'));
  double = await writeTinyLlava(path.join(scratch, 'f64'), { ...SIZES, dtype: 'float64' });
  single = await writeTinyLlava(path.join(scratch, 'f32'), SIZES);
  opened = [await openExport(double.dir), await openExport(single.dir)];
  [loop64, loop32] = opened.map((o) => o.model.loop);
});

afterAll(async () => {
  for (const o of opened) await o.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('tiny model in float64', () => {
  it('runs all three graphs in ONNX Runtime on CPU with float64 tensors throughout', async () => {
    expect(opened[0].model.float64).toBe(true);
    const prompt = [1, 20, 30, ...new Array<number>(double.sizes.imageTokens).fill(double.tokenIds.image), 40, 50];
    const step = await loop64.prefill({ inputIds: prompt, pixelValues: image('float64') });
    expect(step.logits.type).toBe('float64');
    expect(step.logits.dims).toEqual([1, prompt.length, double.sizes.vocabSize]);
    expect(step.cache.tensors['past_key_values.1.value'].type).toBe('float64');
    const generation = await loop64.generate({
      inputIds: prompt,
      pixelValues: image('float64'),
      maxNewTokens: 5,
      stopTokenIds: [],
    });
    expect(generation.tokens).toHaveLength(5);
    // The same seed in float32 holds the same weights, rounded: logits agree to float32 precision.
    const step32 = await loop32.prefill({ inputIds: prompt, pixelValues: image('float32') });
    expect(maxAbsDiff(step.logits.data as Float64Array, step32.logits.data as Float32Array)).toBeLessThan(1e-3);
  });

  it('matches the independent LLaMA implementation and its own cache to double precision', async () => {
    const { graphs, sizes } = buildTinyVlm('llava', { ...SIZES, dtype: 'float64' });
    const ids = [1, 60, 61, 62, 63, 64, 65];
    const embeds = await loop64.embed(ids);
    const full = await loop64.forward(embeds, loop64.emptyCache());
    const reference = referenceLogits(
      graphs.decoder.graph,
      sizes,
      embeds.data as Float64Array,
      ids.map((_, i) => i),
    );
    expect(maxAbsDiff(full.logits.data as Float64Array, reference)).toBeLessThan(1e-10);
    let step = await loop64.forward(await loop64.embed(ids.slice(0, 4)), loop64.emptyCache());
    step = await loop64.forward(await loop64.embed(ids.slice(4)), step.cache);
    const vocab = sizes.vocabSize;
    expect(
      maxAbsDiff(step.logits.data as Float64Array, (full.logits.data as Float64Array).subarray(4 * vocab)),
    ).toBeLessThan(1e-12);
  });

  it('masks left padding: a padded row of a batch gives the logits of the same sequence alone', async () => {
    const { graphs, sizes } = buildTinyVlm('llava', { ...SIZES, dtype: 'float64' });
    const session = await ort.InferenceSession.create(graphs.decoder.toBytes(), sessionOptionsFor('float64'));
    const hidden = sizes.hiddenSize;
    const embeds = (rows: number, seed: number): Float64Array =>
      Float64Array.from({ length: rows * hidden }, (_, i) => Math.sin(seed + i * 0.7));
    const empty = (batch: number): Record<string, ort.Tensor> => {
      const cache: Record<string, ort.Tensor> = {};
      for (let i = 0; i < sizes.layers; i++)
        for (const part of ['key', 'value'])
          cache[`past_key_values.${i}.${part}`] = new ort.Tensor('float64', new Float64Array(0), [
            batch,
            sizes.kvHeads,
            0,
            sizes.headDim,
          ]);
      return cache;
    };
    const long = embeds(5, 1);
    const short = embeds(3, 2);
    // Batch of two: the short sequence left-padded by two positions (their embeddings are junk).
    const padded = new Float64Array(10 * hidden);
    padded.set(long, 0);
    padded.set(embeds(2, 99), 5 * hidden);
    padded.set(short, 7 * hidden);
    const batch = await session.run({
      inputs_embeds: new ort.Tensor('float64', padded, [2, 5, hidden]),
      attention_mask: new ort.Tensor('int64', BigInt64Array.from([1, 1, 1, 1, 1, 0, 0, 1, 1, 1], BigInt), [2, 5]),
      position_ids: new ort.Tensor('int64', BigInt64Array.from([0, 1, 2, 3, 4, 1, 1, 0, 1, 2], BigInt), [2, 5]),
      ...empty(2),
    });
    const alone = await session.run({
      inputs_embeds: new ort.Tensor('float64', short, [1, 3, hidden]),
      attention_mask: new ort.Tensor('int64', BigInt64Array.from([1, 1, 1], BigInt), [1, 3]),
      position_ids: new ort.Tensor('int64', BigInt64Array.from([0, 1, 2], BigInt), [1, 3]),
      ...empty(1),
    });
    const vocab = sizes.vocabSize;
    const batched = batch.logits.data as Float64Array;
    expect(maxAbsDiff(batched.subarray((5 + 2) * vocab, 10 * vocab), alone.logits.data as Float64Array)).toBeLessThan(
      1e-10,
    );
    expect(Number.isFinite(batched[5 * vocab])).toBe(true);
    await session.release();
  });

  it('builds a float64 MiniGPT-v2 whose graphs pass the structural and runtime checks', async () => {
    const { graphs } = buildTinyVlm('minigpt-v2', { dtype: 'float64', layers: 1 });
    const dims = { batch_size: 2, sequence_length: 3, past_sequence_length: 4, total_sequence_length: 7 };
    for (const model of [graphs.visionEncoder, graphs.embedTokens, graphs.decoder]) {
      const check = await checkModel(model, { run: { dims } });
      expect(check.problems).toEqual([]);
      expect(check.runtimeOutputs.every((o) => !o.isTensor || o.type === 'float64' || o.type === 'int64')).toBe(true);
    }
    const written = await writeTinyMiniGptV2(path.join(scratch, 'minigpt64'), { dtype: 'float64', layers: 1 });
    const opened = await openExport(written.dir);
    const features = await opened.model.loop.encodeImage(image('float64'));
    expect(features.type).toBe('float64');
    expect(features.dims).toEqual([1, written.sizes.imageTokens, written.sizes.hiddenSize]);
    await opened.close();
  });
});
