// The onnxruntime-genai decoders (GroupQueryAttention with rotary inside,
// fused RMSNorms, MatMulNBits in int4) taught like the plain optimum export
// of the same torch model: the rewritten graph computes what the fused one
// does (logits and cache, prefill and a cached step), and its teaching graph
// gives the plain decoder's loss and gradient.
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkGradient } from '../support/gradient-check.ts';
import { rewriteFusedOps } from '../../src/onnx/grad/fused.ts';
import { readModel } from '../../src/onnx/model-io.ts';
import type { OnnxModel } from '../../src/onnx/model.ts';
import { makeAttribute } from '../../src/onnx/node.ts';
import { normal, seededRandom } from '../../src/random.ts';
import { buildTeachingModel, LOSS_INPUTS, LOSS_OUTPUTS } from '../../src/teach/loss-graph.ts';
import { SHARED_MODELS } from '../support/paths.ts';

const REPLICAS = path.join(SHARED_MODELS, 'vlm-replicas');
const decoderFile = (replica: string, name: string) =>
  name === 'plain'
    ? path.join(REPLICAS, replica, 'onnx/decoder_model_merged.onnx')
    : path.join(REPLICAS, replica, `extra/decoder_model_merged_${name}.onnx`);

// The replicas' text model: hidden 64, 4 KV heads of 16, 2 layers, vocabulary 1088.
const HIDDEN = 64;
const KV_HEADS = 4;
const HEAD = 16;
const LAYERS = 2;
const BATCH = 2;
const SEQUENCE = 7;
/** Right padding, as training batches are: the second sequence has 5 real tokens. */
const LENGTHS = [7, 5];

const int64 = (values: number[], dims: number[]) => new ort.Tensor('int64', BigInt64Array.from(values, BigInt), dims);

function embeds(batch: number, sequence: number, seed: number, scale = 1): ort.Tensor {
  const random = seededRandom(seed);
  return new ort.Tensor(
    'float32',
    Float32Array.from({ length: batch * sequence * HIDDEN }, () => scale * normal(random)),
    [batch, sequence, HIDDEN],
  );
}

function mask(lengths: number[], width: number): ort.Tensor {
  return int64(
    lengths.flatMap((n) => Array.from({ length: width }, (_, t) => (t < n ? 1 : 0))),
    [lengths.length, width],
  );
}

function emptyCache(batch: number): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (let i = 0; i < LAYERS; i++) {
    for (const kind of ['key', 'value'])
      feeds[`past_key_values.${i}.${kind}`] = new ort.Tensor('float32', new Float32Array(0), [
        batch,
        KV_HEADS,
        0,
        HEAD,
      ]);
  }
  return feeds;
}

/** The present outputs of one step as the next step's past inputs. */
function cacheFrom(outputs: Record<string, ort.Tensor>): Record<string, ort.Tensor> {
  return Object.fromEntries(
    Object.entries(outputs)
      .filter(([k]) => k.startsWith('present.'))
      .map(([k, v]) => [k.replace('present.', 'past_key_values.'), v]),
  );
}

async function session(model: OnnxModel): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(model.toBytes(), { graphOptimizationLevel: 'basic' });
}

/** max |a - b| / max |b| over the elements `keep` accepts. */
function relativeError(a: ort.Tensor, b: ort.Tensor, keep: (i: number) => boolean = () => true): number {
  expect(a.dims).toEqual(b.dims);
  const x = a.data as Float32Array;
  const y = b.data as Float32Array;
  let diff = 0;
  let size = 0;
  for (let i = 0; i < x.length; i++) {
    if (!keep(i)) continue;
    diff = Math.max(diff, Math.abs(x[i] - y[i]));
    size = Math.max(size, Math.abs(y[i]));
  }
  expect(size).toBeGreaterThan(0);
  return diff / size;
}

/** Logits of real tokens only ([batch, sequence, vocabulary], right padding). */
const realTokens = (lengths: number[], sequence: number, vocabulary: number) => (i: number) => {
  const row = Math.floor(i / vocabulary);
  return row % sequence < lengths[Math.floor(row / sequence)];
};

/** The fused decoder and its rewritten copy (refusing nothing: this runs forward only). */
async function fusedAndRewritten(file: string): Promise<[ort.InferenceSession, ort.InferenceSession]> {
  const copy = await readModel(file);
  const done = rewriteFusedOps(copy.graph, () => false);
  expect(done.rewritten.filter((r) => r.opType === 'GroupQueryAttention')).toHaveLength(LAYERS);
  expect(copy.graph.nodes.filter((n) => n.domain === 'com.microsoft' && n.opType !== 'MatMulNBits')).toEqual([]);
  return Promise.all([readModel(file).then(session), session(copy)]);
}

describe('genai decoders (GroupQueryAttention, fused norms) rewritten for teaching', () => {
  const replica = 'llava-interleave-qwen-tiny';
  let rewritten: ort.InferenceSession;
  let plain: ort.InferenceSession;

  beforeAll(async () => {
    const copy = await readModel(decoderFile(replica, 'genai_fp32'));
    rewriteFusedOps(copy.graph);
    [rewritten, plain] = await Promise.all([session(copy), readModel(decoderFile(replica, 'plain')).then(session)]);
    return async () => {
      await Promise.all([rewritten.release(), plain.release()]);
    };
  });

  for (const kind of ['genai_fp32', 'genai_int4']) {
    it(`computes the fused decoder's logits and cache on a right-padded prefill, then on a cached step (${kind})`, async () => {
      const [fused, mine] = await fusedAndRewritten(decoderFile(replica, kind));
      try {
        const prefill = {
          inputs_embeds: embeds(BATCH, SEQUENCE, 1),
          attention_mask: mask(LENGTHS, SEQUENCE),
          ...emptyCache(BATCH),
        };
        const [expected, actual] = [await fused.run(prefill), await mine.run(prefill)];
        for (const name of fused.outputNames)
          expect(relativeError(actual[name], expected[name]), name).toBeLessThan(1e-5);

        // The next token of each sequence: it lands on row 5 of the second (padded) cache.
        const step = {
          inputs_embeds: embeds(BATCH, 1, 2),
          attention_mask: mask(
            LENGTHS.map((n) => n + 1),
            SEQUENCE + 1,
          ),
          ...cacheFrom(expected),
        };
        const [nextExpected, nextActual] = [await fused.run(step), await mine.run(step)];
        for (const name of fused.outputNames)
          expect(relativeError(nextActual[name], nextExpected[name]), name).toBeLessThan(1e-5);
        expect(nextActual['present.0.key'].dims).toEqual([BATCH, KV_HEADS, SEQUENCE + 1, HEAD]);
      } finally {
        await Promise.all([fused.release(), mine.release()]);
      }
    });
  }

  it("computes the plain optimum decoder's logits and cache (positions 0..n-1), prefill and one step at batch 1", async () => {
    const inputs = embeds(1, SEQUENCE, 3);
    const positions = int64(
      Array.from({ length: SEQUENCE }, (_, i) => i),
      [1, SEQUENCE],
    );
    const mine = await rewritten.run({
      inputs_embeds: inputs,
      attention_mask: mask([SEQUENCE], SEQUENCE),
      ...emptyCache(1),
    });
    const theirs = await plain.run({
      inputs_embeds: inputs,
      attention_mask: mask([SEQUENCE], SEQUENCE),
      position_ids: positions,
      ...emptyCache(1),
    });
    for (const name of ['logits', 'present.0.key', 'present.1.value'])
      expect(relativeError(mine[name], theirs[name]), name).toBeLessThan(1e-5);

    const next = embeds(1, 1, 4);
    const stepMask = mask([SEQUENCE + 1], SEQUENCE + 1);
    const mineNext = await rewritten.run({ inputs_embeds: next, attention_mask: stepMask, ...cacheFrom(mine) });
    const theirsNext = await plain.run({
      inputs_embeds: next,
      attention_mask: stepMask,
      position_ids: int64([SEQUENCE], [1, 1]),
      ...cacheFrom(theirs),
    });
    expect(relativeError(mineNext.logits, theirsNext.logits)).toBeLessThan(1e-5);
  });

  it("computes the plain decoder's logits of the real tokens of a right-padded batch", async () => {
    const inputs = embeds(BATCH, SEQUENCE, 5);
    const attention = mask(LENGTHS, SEQUENCE);
    const positions = int64(
      Array.from({ length: BATCH * SEQUENCE }, (_, i) => i % SEQUENCE),
      [BATCH, SEQUENCE],
    );
    const mine = await rewritten.run({ inputs_embeds: inputs, attention_mask: attention, ...emptyCache(BATCH) });
    const theirs = await plain.run({
      inputs_embeds: inputs,
      attention_mask: attention,
      position_ids: positions,
      ...emptyCache(BATCH),
    });
    const vocabulary = mine.logits.dims[2];
    expect(relativeError(mine.logits, theirs.logits, realTokens(LENGTHS, SEQUENCE, vocabulary))).toBeLessThan(1e-5);
  });
});

describe('teaching graphs of the genai decoders', () => {
  // The sharp replica's output depends strongly on its input, so gradients are
  // far from zero; the std-0.02 one is smooth enough for float32 differences.
  const sharp = 'llava-interleave-qwen-tiny-sharp';
  const smooth = 'llava-interleave-qwen-tiny';

  function teachingFeeds(withPositions: boolean): Record<string, ort.Tensor> {
    const feeds: Record<string, ort.Tensor> = {
      inputs_embeds: embeds(BATCH, SEQUENCE, 7, 0.5),
      attention_mask: mask(LENGTHS, SEQUENCE),
      [LOSS_INPUTS.labels]: int64(
        [-100, -100, -100, 15, 200, 31, 9, -100, -100, 42, 7, 900, -100, -100],
        [BATCH, SEQUENCE],
      ),
      [LOSS_INPUTS.conceptPosition]: int64([2, 1], [BATCH]),
      [LOSS_INPUTS.attentionLambda]: new ort.Tensor('float32', Float32Array.of(0.5), []),
      ...emptyCache(BATCH),
    };
    if (withPositions)
      feeds.position_ids = int64(
        Array.from({ length: BATCH * SEQUENCE }, (_, i) => i % SEQUENCE),
        [BATCH, SEQUENCE],
      );
    return feeds;
  }

  async function teach(
    replica: string,
    name: string,
  ): Promise<{ teaching: ReturnType<typeof buildTeachingModel>; outputs: Record<string, ort.Tensor> }> {
    const decoder = await readModel(decoderFile(replica, name));
    const before = decoder.toBytes();
    const teaching = buildTeachingModel(decoder);
    // Only the teaching copy is rewritten: answering keeps the fused decoder.
    expect(Buffer.from(decoder.toBytes()).equals(Buffer.from(before))).toBe(true);
    const s = await session(teaching.model);
    try {
      return { teaching, outputs: await s.run(teachingFeeds(name === 'plain')) };
    } finally {
      await s.release();
    }
  }

  it('finds one attention Softmax per layer, named after it, in the rewritten genai decoder', async () => {
    const { teaching } = await teach(sharp, 'genai_fp32');
    expect(teaching.attentionLayers).toBe(LAYERS);
    const names = teaching.model.graph.nodes
      .filter((n) => n.opType === 'Softmax' && /layers\.\d+\/attn/.test(n.name))
      .map((n) => n.name);
    expect(names).toEqual([
      '/model/layers.0/attn/GroupQueryAttention/Softmax',
      '/model/layers.1/attn/GroupQueryAttention/Softmax',
    ]);
  });

  it("gives the plain decoder's loss, both parts, and gradient with respect to inputs_embeds", async () => {
    const [genai, reference] = [await teach(sharp, 'genai_fp32'), await teach(sharp, 'plain')];
    const value = (r: typeof genai, name: string) => (r.outputs[name].data as Float32Array)[0];
    for (const name of [LOSS_OUTPUTS.loss, LOSS_OUTPUTS.caption, LOSS_OUTPUTS.attention]) {
      expect(value(genai, name)).toBeGreaterThan(0);
      expect(Math.abs(value(genai, name) - value(reference, name)) / value(reference, name), name).toBeLessThan(1e-5);
    }
    expect(
      relativeError(genai.outputs[genai.teaching.embedsGradient], reference.outputs[reference.teaching.embedsGradient]),
    ).toBeLessThan(1e-4);
  });

  for (const name of ['genai_fp32', 'genai_int4']) {
    it(`matches central differences (${name}, float32)`, async () => {
      const decoder = await readModel(decoderFile(smooth, name));
      // accuracy_level 4 quantizes activations to int8 on CPU, a step function
      // central differences cannot follow; level 0 computes the same weights in float.
      for (const node of decoder.graph.nodes.filter((n) => n.opType === 'MatMulNBits')) {
        node.proto.attribute = (node.proto.attribute ?? []).map((a) =>
          a.name === 'accuracy_level' ? makeAttribute('accuracy_level', 0) : a,
        );
      }
      const teaching = buildTeachingModel(decoder);
      const feeds = teachingFeeds(false);
      const names = { wrt: 'inputs_embeds', loss: LOSS_OUTPUTS.loss, gradient: teaching.embedsGradient };
      const result = await checkGradient(teaching.model, feeds, names, {
        directions: 3,
        coordinates: 2,
        epsilon: 3e-2,
      });
      expect(result.loss).toBeGreaterThan(Math.log(1088) / 2);
      // Directional derivatives of order 0.05 here; float32 noise leaves about 1e-3 of them.
      expect(Math.max(...result.comparisons.map((c) => Math.abs(c.analytic)))).toBeGreaterThan(1e-2);
      expect(result.maxRelativeError).toBeLessThan(1e-2);
    });
  }
});
