// The personalized VLM on the tiny LLaVA, run by the project's session loop:
// without a firing concept it reads exactly the prompt and pixels vanilla
// transformers.js prepares and decodes greedily to the same tokens; with
// concepts the decoder reads one more row per concept, at the first image
// token's norm, and the logits move.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  AutoModelForImageTextToText,
  AutoProcessor,
  random,
  RawImage,
  type PreTrainedModel,
  type Processor,
  type Tensor,
} from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyLlava, type TinyVlmDirectory } from '../../src/onnx/tiny/factory.ts';
import { SessionPool } from '../../src/models/session.ts';
import { openVlm } from '../../src/vlm/load.ts';
import type { PersonalVlm } from '../../src/vlm/personal-vlm.ts';
import { concept, cosine, l2, recordDecoderCalls, row, testCard, vector } from './support.ts';

let scratch: string;
let tiny: TinyVlmDirectory;
let vlm: PersonalVlm;
let vanilla: PreTrainedModel;
let processor: Processor;
let sessions: SessionPool;
let vanillaInputs: { input_ids: Tensor; attention_mask: Tensor; pixel_values: Tensor };

const photo = testCard(48, 40);

async function vanillaTokens(options: Record<string, unknown>, seed: number): Promise<number[]> {
  // transformers.js types its shared generator's methods as any; seed(n) is what it documents.
  (random as unknown as { seed(n: number): void }).seed(seed);
  const sequences = (await vanilla.generate({ ...vanillaInputs, ...options })) as Tensor;
  return Array.from(sequences.data as BigInt64Array, Number).slice(vanillaInputs.input_ids.dims[1]);
}

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'myvlm-vlm-llava-'));
  tiny = await writeTinyLlava(path.join(scratch, 'llava'), { seed: 11 });
  sessions = new SessionPool();
  vlm = await openVlm(tiny.dir, { resolve: { cacheDir: scratch, allowDownload: false }, sessions });
  vanilla = await AutoModelForImageTextToText.from_pretrained(tiny.dir, { dtype: 'fp32', local_files_only: true });
  processor = await AutoProcessor.from_pretrained(tiny.dir, { local_files_only: true });
  const prompt = processor.apply_chat_template(
    [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'Please caption this image.' }] }],
    { add_generation_prompt: true },
  ) as string;
  vanillaInputs = (await processor(
    new RawImage(photo.data, photo.width, photo.height, 3),
    prompt,
  )) as typeof vanillaInputs;
});

afterAll(async () => {
  await vlm?.dispose();
  await vanilla?.dispose();
  await sessions?.dispose();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('tiny LLaVA without a firing concept', () => {
  it("runs its own chat template on the project's session loop and names its embeddings after the folder", () => {
    expect(vlm.family.id).toBe('llava-vicuna');
    expect(vlm.model.prompts.templateSource).toBe('tokenizer_config.json');
    expect(vlm.id).toBe('local:llava');
    expect(vlm.hiddenSize).toBe(tiny.sizes.hiddenSize);
  });

  it('reads exactly the prompt and pixels of vanilla transformers.js, and decodes greedily to its very tokens', async () => {
    const pixels = (await vlm.model.images.prepare(photo)).pixelValues;
    expect(pixels.dims).toEqual(vanillaInputs.pixel_values.dims);
    expect(Array.from(pixels.data as Float32Array)).toEqual(
      Array.from(vanillaInputs.pixel_values.data as Float32Array),
    );
    const greedy = await vlm.caption({
      image: photo,
      concepts: [],
      sample: false,
      maxNewTokens: 12,
      ignoreStopTokens: true,
    });
    expect(greedy.prompt).toBe('USER: <image>\nPlease caption this image. ASSISTANT:');
    expect(vlm.model.prompts.prompt('Please caption this image.').ids).toEqual(
      Array.from(vanillaInputs.input_ids.data as BigInt64Array, Number),
    );
    expect(greedy.generation.tokens).toEqual(
      await vanillaTokens({ do_sample: false, max_new_tokens: 12, eos_token_id: [] }, 0),
    );
    const stopped = await vlm.caption({ image: photo, concepts: [], sample: false, maxNewTokens: 20 });
    expect(stopped.generation.tokens).toEqual(await vanillaTokens({ do_sample: false, max_new_tokens: 20 }, 0));
  });

  it('samples with the family defaults, repeatably under a seed', async () => {
    // The family defaults: sampling with temperature 0.2 and top-p 0.7, stopping at the model's eos.
    const hot = { sample: true, temperature: 1.5, topP: 1, maxNewTokens: 16, ignoreStopTokens: true };
    const five = await vlm.caption({ image: photo, concepts: [], seed: 5, ...hot });
    expect(five.generation.tokens).toHaveLength(16);
    expect((await vlm.caption({ image: photo, concepts: [], seed: 5, ...hot })).generation.tokens).toEqual(
      five.generation.tokens,
    );
    expect((await vlm.caption({ image: photo, concepts: [], seed: 6, ...hot })).generation.tokens).not.toEqual(
      five.generation.tokens,
    );
  });

  it('injects nothing for a concept that has no embedding for this model, and says so', async () => {
    const other = concept('Rex', 'sks', 'some-other-vlm', vector(tiny.sizes.hiddenSize, 1));
    const answer = await vlm.caption({ image: photo, concepts: [other], seed: 1, maxNewTokens: 20 });
    expect(answer.injected).toEqual([]);
    expect(answer.skipped.map((s) => [s.concept.name, s.reason])).toEqual([
      ['Rex', 'it has not been taught to this vision-language model yet'],
    ]);
    expect(answer.prompt).toBe('USER: <image>\nPlease caption this image. ASSISTANT:');
    const untaught = await vlm.caption({ image: photo, concepts: [], seed: 1, maxNewTokens: 20 });
    expect(answer.generation.tokens).toEqual(untaught.generation.tokens);
  });
});

describe('tiny LLaVA with firing concepts', () => {
  it('feeds the decoder one more row per concept, at the first image token norm, in order, and the logits move', async () => {
    const rex = concept('Rex', 'sks', vlm.id, vector(tiny.sizes.hiddenSize, 1));
    const anna = concept('Anna', 'Anna', vlm.id, vector(tiny.sizes.hiddenSize, 2, 0.01));
    const options = { image: photo, sample: false, maxNewTokens: 4, ignoreStopTokens: true } as const;
    const recorder = recordDecoderCalls();
    try {
      const plain = await vlm.caption({ ...options, concepts: [] });
      const one = await vlm.caption({ ...options, concepts: [rex] });
      const two = await vlm.caption({ ...options, concepts: [anna, rex] });
      expect(one.prompt).toBe('USER: <image>\nPlease caption this image of sks. ASSISTANT:');
      expect(two.prompt).toBe('USER: <image>\nPlease caption this image of Anna and sks. ASSISTANT:');
      const [p0, p1, p2] = recorder.prefills();
      expect(recorder.prefills()).toHaveLength(3);
      const imageRows = tiny.sizes.imageTokens;
      expect(plain.generation.imageTokens).toBe(imageRows);

      // The prompts differ by " of sks" (and " of Anna and sks"), so compare each with its own plain prompt's length.
      const textTokens = (answer: typeof one) =>
        answer.generation.promptTokens - answer.generation.imageTokens - answer.generation.conceptTokens;
      expect(p1.inputsEmbeds.dims[1]).toBe(textTokens(one) + imageRows + 1);
      expect(p2.inputsEmbeds.dims[1]).toBe(textTokens(two) + imageRows + 2);
      expect(p0.inputsEmbeds.dims[1]).toBe(textTokens(plain) + imageRows);

      // "USER :" precedes the image: the image rows start at the same position in every prompt.
      const start = processor.tokenizer?.encode(one.prompt).indexOf(tiny.tokenIds.image) ?? -1;
      expect(start).toBeGreaterThan(0);
      const first = row(p1.inputsEmbeds, start);
      expect(Array.from(first)).toEqual(Array.from(row(p0.inputsEmbeds, start)));
      const conceptRow = row(p1.inputsEmbeds, start + imageRows);
      expect(l2(conceptRow)).toBeCloseTo(l2(first), 4);
      expect(one.generation.referenceNorm).toBeCloseTo(l2(first), 4);
      expect(cosine(conceptRow, rex.embeddings[vlm.id].vector)).toBeCloseTo(1, 5);
      // Two concepts: Anna's row, then Rex's, both at the same norm.
      expect(cosine(row(p2.inputsEmbeds, start + imageRows), anna.embeddings[vlm.id].vector)).toBeCloseTo(1, 5);
      expect(cosine(row(p2.inputsEmbeds, start + imageRows + 1), rex.embeddings[vlm.id].vector)).toBeCloseTo(1, 5);
      expect(l2(row(p2.inputsEmbeds, start + imageRows))).toBeCloseTo(l2(first), 4);

      // The concept moves the next-token logits.
      const vocab = tiny.sizes.vocabSize;
      const lastLogits = (call: typeof p0) => Array.from((call.logits.data as Float32Array).slice(-vocab));
      const diff = Math.max(...lastLogits(p1).map((v, i) => Math.abs(v - lastLogits(p0)[i])));
      expect(diff).toBeGreaterThan(1e-3);
    } finally {
      recorder.stop();
    }
  });

  it('streams tokens as they are chosen and answers with the display name', async () => {
    const rex = concept('Rex', 'sks', vlm.id, vector(tiny.sizes.hiddenSize, 1));
    const tokens: number[] = [];
    const partials: string[] = [];
    const answer = await vlm.ask({
      image: photo,
      concepts: [rex],
      question: 'What is Rex holding?',
      seed: 3,
      maxNewTokens: 10,
      onToken: (t) => tokens.push(t),
      onText: (p) => partials.push(p),
    });
    expect(answer.prompt).toBe('USER: <image>\nWhat is sks holding? ASSISTANT:');
    expect(tokens).toEqual(answer.generation.tokens);
    expect(partials).toHaveLength(tokens.length);
    expect(answer.generation.firstTokenMs).not.toBeNull();
    expect(answer.generation.firstTokenMs ?? Infinity).toBeLessThanOrEqual(answer.generation.totalMs);
    expect(answer.text).not.toMatch(/\bsks\b/i);
  });
});
