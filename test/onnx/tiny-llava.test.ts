// The tiny LLaVA directory against the real consumers: transformers.js loads
// and generates with it offline, the project's session loop gives the same
// logits and tokens, the KV cache agrees with full recomputation, and the
// decoder graph matches an independent LLaMA implementation.
import { testCard } from '../support/images.ts';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import {
  AutoConfig,
  AutoModelForImageTextToText,
  AutoProcessor,
  env,
  RawImage,
  type Processor,
  type PreTrainedModel,
  type Tensor,
} from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyLlava, type TinyVlmDirectory } from '../../src/onnx/tiny/factory.ts';
import { argmax, VlmSessionLoop } from '../../src/onnx/session-loop.ts';
import { openExport, type OpenedExport } from '../support/exports.ts';
import { readModel } from '../../src/onnx/model-io.ts';
import { attentionSoftmaxName } from '../../src/onnx/tiny/decoder.ts';
import { maxAbsDiff, referenceLogits } from './reference-llama.ts';

env.allowRemoteModels = false;

let scratch: string;
let tiny: TinyVlmDirectory;
let processor: Processor;
let model: PreTrainedModel;
let loop: VlmSessionLoop;
let opened: OpenedExport;
let inputs: { input_ids: Tensor; attention_mask: Tensor; pixel_values: Tensor };
let promptIds: number[];
let pixels: ort.Tensor;

function asRawImage(image: { width: number; height: number; data: Uint8Array }): RawImage {
  return new RawImage(new Uint8ClampedArray(image.data), image.width, image.height, 3);
}

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'myvlm-tiny-llava-'));
  tiny = await writeTinyLlava(path.join(scratch, 'llava'), { seed: 7 });
  processor = await AutoProcessor.from_pretrained(tiny.dir);
  model = await AutoModelForImageTextToText.from_pretrained(tiny.dir, { dtype: 'fp32' });
  opened = await openExport(tiny.dir);
  loop = opened.model.loop;
  const prompt = processor.apply_chat_template(
    [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'Please caption this image of sks.' }] }],
    {
      add_generation_prompt: true,
    },
  ) as string;
  inputs = (await processor(asRawImage(testCard(48, 40)), prompt)) as typeof inputs;
  promptIds = Array.from(inputs.input_ids.data as BigInt64Array, Number);
  pixels = new ort.Tensor('float32', inputs.pixel_values.data as Float32Array, inputs.pixel_values.dims);
});

afterAll(async () => {
  await model?.dispose();
  await opened?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('tiny LLaVA in transformers.js', () => {
  it('loads offline as LlavaForConditionalGeneration with a LlavaProcessor that expands <image>', async () => {
    // Also by model id under env.localModelPath, the way a cache folder of real downloads is read.
    env.localModelPath = scratch;
    const config = await AutoConfig.from_pretrained('llava');
    expect(config.model_type).toBe('llava');
    expect(model.constructor.name).toBe('LlavaForConditionalGeneration');
    expect(processor.constructor.name).toBe('LlavaProcessor');
    expect(inputs.pixel_values.dims).toEqual([1, 3, 32, 32]);
    expect(promptIds[0]).toBe(tiny.tokenIds.bos);
    expect(promptIds.filter((id) => id === tiny.tokenIds.image)).toHaveLength(tiny.sizes.imageTokens);
    expect(
      processor.tokenizer?.decode(
        promptIds.filter((id) => id !== tiny.tokenIds.image),
        { skip_special_tokens: true },
      ),
    ).toBe('USER : Please caption this image of sks. ASSISTANT :');
  });

  it('generates with generate(), and the session loop gives the same tokens', async () => {
    // No stop token: both must produce exactly 12 tokens, whatever a random model picks.
    const sequences = (await model.generate({
      ...inputs,
      max_new_tokens: 12,
      do_sample: false,
      eos_token_id: [],
    })) as Tensor;
    const theirs = Array.from(sequences.data as BigInt64Array, Number).slice(promptIds.length);
    expect(theirs).toHaveLength(12);
    const ours = await loop.generate({ inputIds: promptIds, pixelValues: pixels, maxNewTokens: 12, stopTokenIds: [] });
    expect(ours.stoppedBy).toBe('length');
    expect(ours.tokens).toEqual(theirs);
    // With the model's own stop token both stop at the same place too.
    const stopping = (await model.generate({ ...inputs, max_new_tokens: 12, do_sample: false })) as Tensor;
    const stopped = await loop.generate({ inputIds: promptIds, pixelValues: pixels, maxNewTokens: 12 });
    expect(stopped.tokens).toEqual(Array.from(stopping.data as BigInt64Array, Number).slice(promptIds.length));
  });

  it('gives the same logits through the three ONNX graphs as through transformers.js', async () => {
    const theirs = (await model.forward(inputs)) as { logits: Tensor };
    const ours = await loop.prefill({ inputIds: promptIds, pixelValues: pixels });
    expect(ours.logits.dims).toEqual(theirs.logits.dims);
    expect(maxAbsDiff(ours.logits.data as Float32Array, theirs.logits.data as Float32Array)).toBeLessThan(1e-5);
  });
});

describe('session loop stages', () => {
  it('takes ready image features, with extra rows appended after the image tokens (concept injection)', async () => {
    const features = await loop.encodeImage(pixels);
    expect(features.dims).toEqual([1, tiny.sizes.imageTokens, tiny.sizes.hiddenSize]);
    const vanilla = await loop.prefill({ inputIds: promptIds, pixelValues: pixels });
    const same = await loop.prefill({ inputIds: promptIds, imageFeatures: features });
    expect(maxAbsDiff(same.logits.data as Float32Array, vanilla.logits.data as Float32Array)).toBe(0);

    // One more row (a rescaled copy of the first image token) and one more placeholder right after the image.
    const hidden = tiny.sizes.hiddenSize;
    const rows = new Float32Array((tiny.sizes.imageTokens + 1) * hidden);
    rows.set(features.data as Float32Array);
    rows.set(
      (features.data as Float32Array).subarray(0, hidden).map((v) => -v),
      tiny.sizes.imageTokens * hidden,
    );
    const extended = new ort.Tensor('float32', rows, [1, tiny.sizes.imageTokens + 1, hidden]);
    const lastImage = promptIds.lastIndexOf(tiny.tokenIds.image);
    const ids = [...promptIds.slice(0, lastImage + 1), tiny.tokenIds.image, ...promptIds.slice(lastImage + 1)];
    const injected = await loop.prefill({ inputIds: ids, imageFeatures: extended });
    expect(injected.logits.dims[1]).toBe(promptIds.length + 1);
    expect(maxAbsDiff(lastLogitsOf(injected.logits), lastLogitsOf(vanilla.logits))).toBeGreaterThan(1e-3);
    await expect(loop.prefill({ inputIds: promptIds, imageFeatures: extended })).rejects.toThrow(
      /image placeholders but the image gives/,
    );
  });

  it('lets the caller choose tokens (sampling) and reports them as they come', async () => {
    const seen: number[] = [];
    let asked = 0;
    const pickToken = () => ((asked += 1), 42);
    const generation = await loop.generate({
      inputIds: promptIds,
      pixelValues: pixels,
      maxNewTokens: 4,
      stopTokenIds: [],
      pickToken,
      onToken: (t) => seen.push(t),
    });
    expect(generation.tokens).toEqual([42, 42, 42, 42]);
    expect(seen).toEqual([42, 42, 42, 42]);
    expect(asked).toBe(4);
  });
});

function lastLogitsOf(logits: ort.Tensor): Float32Array {
  const vocab = logits.dims[2];
  return (logits.data as Float32Array).subarray(logits.data.length - vocab);
}

describe('tiny LLaVA decoder', () => {
  it('decodes with the KV cache to the same logits, step by step, as recomputing the whole sequence', async () => {
    // Greedy, keeping each step's logits as the loop hands them to the token choice.
    const stepLogits: Float32Array[] = [];
    const pickToken = (logits: ArrayLike<number>) => (stepLogits.push(Float32Array.from(logits)), argmax(logits));
    const generation = await loop.generate({
      inputIds: promptIds,
      pixelValues: pixels,
      maxNewTokens: 8,
      stopTokenIds: [],
      pickToken,
    });
    expect(stepLogits).toHaveLength(8);
    const sequence = [...promptIds, ...generation.tokens.slice(0, -1)];
    const full = await loop.prefill({ inputIds: sequence, pixelValues: pixels });
    const vocab = tiny.sizes.vocabSize;
    const all = full.logits.data as Float32Array;
    stepLogits.forEach((step, k) => {
      const position = promptIds.length - 1 + k;
      expect(maxAbsDiff(step, all.subarray(position * vocab, (position + 1) * vocab))).toBeLessThan(1e-4);
    });
    // Feeding a known caption a few tokens at a time through the cache agrees too (multi-token steps).
    const caption =
      processor.tokenizer?.encode('sks sitting on a blue sofa at the beach', { add_special_tokens: false }) ?? [];
    let step = await loop.prefill({ inputIds: promptIds, pixelValues: pixels });
    const chunks = [caption.slice(0, 3), caption.slice(3, 4), caption.slice(4)];
    const whole = await loop.prefill({ inputIds: [...promptIds, ...caption], pixelValues: pixels });
    let offset = promptIds.length;
    for (const chunk of chunks) {
      step = await loop.forward(await loop.embed(chunk), step.cache);
      const expected = (whole.logits.data as Float32Array).subarray(offset * vocab, (offset + chunk.length) * vocab);
      expect(maxAbsDiff(step.logits.data as Float32Array, expected)).toBeLessThan(1e-4);
      offset += chunk.length;
    }
    expect(step.cache.length).toBe(promptIds.length + caption.length);
  });

  it('computes what an independent LLaMA implementation computes', async () => {
    const decoder = await readModel(path.join(tiny.dir, 'onnx/decoder_model_merged.onnx'));
    const embeds = await loop.embed(promptIds.slice(0, 12));
    const positions = Array.from({ length: 12 }, (_, i) => i);
    const ours = await loop.forward(embeds, loop.emptyCache());
    const reference = referenceLogits(
      decoder.graph,
      tiny.sizes,
      Float64Array.from(embeds.data as Float32Array),
      positions,
    );
    expect(maxAbsDiff(ours.logits.data as Float32Array, reference)).toBeLessThan(1e-4);
  });

  it('keeps one named Softmax per layer holding [batch, heads, query, key] probabilities', async () => {
    const decoder = await readModel(path.join(tiny.dir, 'onnx/decoder_model_merged.onnx'));
    const softmaxes = decoder.graph.nodes.filter((n) => n.opType === 'Softmax').map((n) => n.name);
    expect(softmaxes).toEqual([attentionSoftmaxName(0), attentionSoftmaxName(1)]);
    // Expose layer 0's probabilities as an extra output and check they are causal rows that sum to one.
    const probabilities = decoder.graph.nodes.find((n) => n.name === attentionSoftmaxName(0))?.outputs[0] ?? '';
    expect(decoder.graph.producer(probabilities)?.opType).toBe('Softmax');
    decoder.graph.addOutput(probabilities, 'float32', [
      'batch_size',
      tiny.sizes.heads,
      'sequence_length',
      'total_sequence_length',
    ]);
    expect(decoder.graph.nodes.every((n) => n.domain === '')).toBe(true);
    const session = await ort.InferenceSession.create(decoder.toBytes());
    const probe = new VlmSessionLoop({ ...loop.sessions, decoder: session }, loop.config);
    const feeds = await probe.embed([1, 50, 60, 70]);
    const out = await session.run({
      inputs_embeds: feeds,
      attention_mask: new ort.Tensor('int64', BigInt64Array.of(1n, 1n, 1n, 1n), [1, 4]),
      position_ids: new ort.Tensor('int64', BigInt64Array.of(0n, 1n, 2n, 3n), [1, 4]),
      ...probe.emptyCache().tensors,
    });
    const p = out[probabilities];
    expect(p.dims).toEqual([1, tiny.sizes.heads, 4, 4]);
    const data = p.data as Float32Array;
    for (let row = 0; row < tiny.sizes.heads * 4; row++) {
      const query = row % 4;
      const values = Array.from(data.subarray(row * 4, row * 4 + 4));
      expect(values.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      expect(values.slice(query + 1).every((v) => v === 0)).toBe(true);
    }
    await session.release();
  });

  it('writes the same bytes for the same seed and different weights for another', async () => {
    const again = await writeTinyLlava(path.join(scratch, 'again'), { seed: 7 });
    const other = await writeTinyLlava(path.join(scratch, 'other'), { seed: 8 });
    for (const file of [
      'onnx/decoder_model_merged.onnx',
      'onnx/vision_encoder.onnx',
      'tokenizer.json',
      'config.json',
    ]) {
      expect((await readFile(path.join(again.dir, file))).equals(await readFile(path.join(tiny.dir, file)))).toBe(true);
    }
    expect(
      (await readFile(path.join(other.dir, 'onnx/decoder_model_merged.onnx'))).equals(
        await readFile(path.join(tiny.dir, 'onnx/decoder_model_merged.onnx')),
      ),
    ).toBe(false);
  });
});
