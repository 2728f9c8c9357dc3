// The MiniGPT-v2-style tiny model: its own prompt format through the session
// loop, and vision tokens grouped four at a time before llama_proj.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { AutoTokenizer, env, type PreTrainedTokenizer } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyMiniGptV2, type TinyVlmDirectory } from '../../src/onnx/tiny/factory.ts';
import type { VlmSessionLoop } from '../../src/onnx/session-loop.ts';
import { expandPlaceholders, openExport, type OpenedExport } from '../support/exports.ts';
import { readModel } from '../../src/onnx/model-io.ts';
import { MINIGPT_V2_TOKEN_GROUP } from '../../src/onnx/tiny/config.ts';
import { OperatorError } from '../../src/errors.ts';
import { maxAbsDiff } from './reference-llama.ts';

env.allowRemoteModels = false;

let scratch: string;
let tiny: TinyVlmDirectory;
let tokenizer: PreTrainedTokenizer;
let loop: VlmSessionLoop;
let opened: OpenedExport;

const pixels = (size: number): ort.Tensor =>
  new ort.Tensor(
    'float32',
    new Float32Array(3 * size * size).map((_, i) => Math.cos(i * 0.37)),
    [1, 3, size, size],
  );

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'myvlm-tiny-minigpt-'));
  tiny = await writeTinyMiniGptV2(path.join(scratch, 'minigpt'), { seed: 5, imageSize: 32, patchSize: 8 });
  tokenizer = await AutoTokenizer.from_pretrained(tiny.dir);
  opened = await openExport(tiny.dir);
  loop = opened.model.loop;
});

afterAll(async () => {
  await opened?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('tiny MiniGPT-v2', () => {
  it('describes itself as MiniGPT-v2 with a quarter as many image tokens as patches', async () => {
    const config = JSON.parse(await readFile(path.join(tiny.dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(config.model_type).toBe('minigpt_v2');
    expect(config.vision_token_group).toBe(MINIGPT_V2_TOKEN_GROUP);
    expect(config.image_token_index).toBe(tiny.tokenIds.image);
    expect(tiny.sizes.patches).toBe(16);
    expect(tiny.sizes.imageTokens).toBe(4);
    const features = await loop.encodeImage(pixels(32));
    expect(features.dims).toEqual([1, 4, tiny.sizes.hiddenSize]);
  });

  it('formats the [INST] prompt and generates through the session loop', async () => {
    const prompt = tokenizer.apply_chat_template<false>(
      [
        {
          role: 'user',
          content: [{ type: 'image' }, { type: 'text', text: '[caption] A short image caption of Bob:' }],
        },
      ],
      { tokenize: false },
    );
    expect(prompt).toBe('[INST] <Img><ImageHere></Img> [caption] A short image caption of Bob: [/INST]');
    const ids = tokenizer.encode(prompt);
    expect(ids.filter((id) => id === tiny.tokenIds.image)).toHaveLength(1);
    const expanded = expandPlaceholders(ids, tiny.tokenIds.image, tiny.sizes.imageTokens);
    expect(expanded).toHaveLength(ids.length + tiny.sizes.imageTokens - 1);
    const generation = await loop.generate({
      inputIds: expanded,
      pixelValues: pixels(32),
      maxNewTokens: 6,
      stopTokenIds: [],
    });
    expect(generation.tokens).toHaveLength(6);
    expect(generation.tokens.every((t) => t >= 0 && t < tiny.sizes.vocabSize)).toBe(true);
    // The unexpanded prompt has one placeholder for four feature rows: a clear refusal.
    await expect(loop.generate({ inputIds: ids, pixelValues: pixels(32), maxNewTokens: 1 })).rejects.toThrow(
      OperatorError,
    );
  });

  it('concatenates four neighbouring vision tokens before llama_proj', async () => {
    const vision = await readModel(path.join(tiny.dir, 'onnx/vision_encoder.onnx'));
    const g = vision.graph;
    const lnVision =
      g.nodes.find((n) => n.opType === 'LayerNormalization' && n.name.startsWith('/ln_vision'))?.outputs[0] ?? '';
    g.addOutput(lnVision, 'float32', ['batch_size', tiny.sizes.patches + 1, tiny.sizes.visionHiddenSize]);
    const session = await ort.InferenceSession.create(vision.toBytes());
    const out = await session.run({ pixel_values: pixels(32) });
    await session.release();
    const tokens = out[lnVision].data as Float32Array;
    const width = tiny.sizes.visionHiddenSize;
    const hidden = tiny.sizes.hiddenSize;
    const weight = g.initializerData('llama_proj.weight') as Float32Array;
    const bias = g.initializerData('llama_proj.bias') as Float32Array;
    const expected = new Float64Array(tiny.sizes.imageTokens * hidden);
    for (let t = 0; t < tiny.sizes.imageTokens; t++) {
      // Image token t reads patches 4t..4t+3 (after the class token), side by side.
      const grouped = Array.from({ length: MINIGPT_V2_TOKEN_GROUP }, (_, k) =>
        Array.from(tokens.subarray((1 + 4 * t + k) * width, (2 + 4 * t + k) * width)),
      ).flat();
      for (let h = 0; h < hidden; h++) {
        let sum = bias[h];
        for (let i = 0; i < grouped.length; i++) sum += grouped[i] * weight[i * hidden + h];
        expected[t * hidden + h] = sum;
      }
    }
    expect(maxAbsDiff(out.image_features.data as Float32Array, expected)).toBeLessThan(1e-4);
  });
});
