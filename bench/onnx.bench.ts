// Generation speed of a tiny LLaVA (4 layers, hidden 128, grouped-query
// attention, about 570 tokens of vocabulary) through transformers.js
// `generate()` and through the project's own session loop, on the same files,
// prompt and image, greedy, a fixed number of new tokens.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { AutoModelForImageTextToText, AutoProcessor, env, RawImage, type Tensor } from '@huggingface/transformers';
import { measure, table, type BenchSection } from './harness.ts';
import { writeTinyLlava } from '../src/onnx/tiny/factory.ts';
import { SessionPool } from '../src/models/session.ts';
import { VlmExport } from '../src/vlm/export/vlm-export.ts';

/** New tokens per generation call. */
const NEW_TOKENS = 32;
/** The tiny model's sizes: small but not trivial. */
const SIZES = { seed: 1, layers: 4, hiddenSize: 128, heads: 4, kvHeads: 2, intermediateSize: 256, imageSize: 64, patchSize: 8, visionHiddenSize: 64, visionLayers: 3 };

export default async function (): Promise<BenchSection> {
  env.allowRemoteModels = false;
  const scratch = await mkdtemp(path.join(tmpdir(), 'myvlm-bench-onnx-'));
  try {
    const tiny = await writeTinyLlava(path.join(scratch, 'llava'), SIZES);
    const processor = await AutoProcessor.from_pretrained(tiny.dir);
    const model = await AutoModelForImageTextToText.from_pretrained(tiny.dir, { dtype: 'fp32' });
    const sessions = new SessionPool();
    const { loop } = await VlmExport.open(tiny.dir, { sessions });
    const image = new RawImage(new Uint8ClampedArray(80 * 64 * 3).map((_, i) => (i * 29) % 256), 80, 64, 3);
    const prompt = processor.apply_chat_template([{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'Please caption this image of sks.' }] }], {
      add_generation_prompt: true,
    }) as string;
    const inputs = (await processor(image, prompt)) as { input_ids: Tensor; pixel_values: Tensor };
    const ids = Array.from(inputs.input_ids.data as BigInt64Array, Number);
    const pixels = new ort.Tensor('float32', inputs.pixel_values.data as Float32Array, inputs.pixel_values.dims);

    const options = { warmup: 2, iterations: 10, budgetMs: 15_000 };
    const theirs = await measure(() => model.generate({ ...inputs, max_new_tokens: NEW_TOKENS, do_sample: false, eos_token_id: [] }), options);
    const ours = await measure(() => loop.generate({ inputIds: ids, pixelValues: pixels, maxNewTokens: NEW_TOKENS, stopTokenIds: [] }), options);
    const theirsPrefill = await measure(() => model.forward(inputs), options);
    const oursPrefill = await measure(() => loop.prefill({ inputIds: ids, pixelValues: pixels }), options);
    await model.dispose();
    await sessions.dispose();

    const rate = (ms: number): number => NEW_TOKENS / (ms / 1000);
    const s = tiny.sizes;
    const markdown = [
      `Tiny LLaVA: ${s.layers} layers, hidden ${s.hiddenSize}, ${s.heads} heads / ${s.kvHeads} kv heads, vocabulary ${s.vocabSize}, ` +
        `${s.imageTokens} image tokens, prompt ${ids.length} tokens, ${NEW_TOKENS} new tokens per call (greedy, no early stop), CPU.`,
      '',
      table(
        ['path', 'generate median ms', 'tokens/s', 'prefill median ms', 'speed vs transformers.js'],
        [
          ['transformers.js generate()', theirs.medianMs, rate(theirs.medianMs), theirsPrefill.medianMs, 1],
          ['VlmSessionLoop.generate()', ours.medianMs, rate(ours.medianMs), oursPrefill.medianMs, theirs.medianMs / ours.medianMs],
        ],
      ),
    ].join('\n');
    return { title: 'Tiny VLM generation: transformers.js vs the project session loop', markdown };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
