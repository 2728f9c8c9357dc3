// Generation speed of a tiny LLaVA (4 layers, hidden 128, grouped-query
// attention, about 570 tokens of vocabulary) through transformers.js
// `generate()` and through the project's own session loop, on the same files,
// prompt and image, greedy, a fixed number of new tokens. With
// MYVLM_BENCH_FULLSIZE=<folder>, also on the full-size replica in fp32 and q4.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { AutoModelForImageTextToText, AutoProcessor, env, RawImage, type Tensor } from '@huggingface/transformers';
import { measure, table, type BenchSection, type MeasureOptions, type Timing } from './harness.ts';
import type { VlmDtype } from '../src/config/settings.ts';
import { writeTinyLlava } from '../src/onnx/tiny/factory.ts';
import { SessionPool } from '../src/models/session.ts';
import { VlmExport } from '../src/vlm/export/vlm-export.ts';

/** New tokens per generation call. */
const NEW_TOKENS = 32;
/** New tokens per call on the full-size replica, and the precisions measured there. */
const FULL_SIZE_NEW_TOKENS = 16;
const FULL_SIZE_DTYPES: VlmDtype[] = ['fp32', 'q4'];
/** The tiny model's sizes: small but not trivial. */
const SIZES = {
  seed: 1,
  layers: 4,
  hiddenSize: 128,
  heads: 4,
  kvHeads: 2,
  intermediateSize: 256,
  imageSize: 64,
  patchSize: 8,
  visionHiddenSize: 64,
  visionLayers: 3,
};

interface Comparison {
  promptTokens: number;
  theirs: Timing;
  ours: Timing;
  theirsPrefill: Timing;
  oursPrefill: Timing;
}

/** transformers.js and the session loop on the same export folder and precision, greedy, `newTokens` per call. */
async function compare(dir: string, dtype: VlmDtype, newTokens: number, options: MeasureOptions): Promise<Comparison> {
  const processor = await AutoProcessor.from_pretrained(dir);
  const model = await AutoModelForImageTextToText.from_pretrained(dir, { dtype });
  const sessions = new SessionPool();
  try {
    const { loop, prompts } = await VlmExport.open(dir, { sessions, dtype });
    const image = new RawImage(
      new Uint8ClampedArray(80 * 64 * 3).map((_, i) => (i * 29) % 256),
      80,
      64,
      3,
    );
    // The model's own chat template as the product renders it (transformers.js' processor applies the tokenizer's
    // template, which for the llava-hf layout lacks the image), with one <image> for the processor to expand.
    const prompt = prompts.prompt('Please caption this image of sks.', { withImage: true, conceptRows: 0 }).text;
    const inputs = (await processor(image, prompt)) as { input_ids: Tensor; pixel_values: Tensor };
    const ids = Array.from(inputs.input_ids.data as BigInt64Array, Number);
    const pixels = new ort.Tensor('float32', inputs.pixel_values.data as Float32Array, inputs.pixel_values.dims);
    return {
      promptTokens: ids.length,
      theirs: await measure(
        () => model.generate({ ...inputs, max_new_tokens: newTokens, do_sample: false, eos_token_id: [] }),
        options,
      ),
      ours: await measure(
        () => loop.generate({ inputIds: ids, pixelValues: pixels, maxNewTokens: newTokens, stopTokenIds: [] }),
        options,
      ),
      theirsPrefill: await measure(() => model.forward(inputs), options),
      oursPrefill: await measure(() => loop.prefill({ inputIds: ids, pixelValues: pixels }), options),
    };
  } finally {
    await model.dispose();
    await sessions.dispose();
  }
}

function rows(label: string, newTokens: number, c: Comparison): (string | number)[][] {
  const rate = (ms: number): number => newTokens / (ms / 1000);
  return [
    [`${label}: transformers.js generate()`, c.theirs.medianMs, rate(c.theirs.medianMs), c.theirsPrefill.medianMs, 1],
    [
      `${label}: VlmSessionLoop.generate()`,
      c.ours.medianMs,
      rate(c.ours.medianMs),
      c.oursPrefill.medianMs,
      c.theirs.medianMs / c.ours.medianMs,
    ],
  ];
}

const HEADER = ['path', 'generate median ms', 'tokens/s', 'prefill median ms', 'speed vs transformers.js'];

export default async function (): Promise<BenchSection> {
  env.allowRemoteModels = false;
  const scratch = await mkdtemp(path.join(tmpdir(), 'myvlm-bench-onnx-'));
  try {
    const tiny = await writeTinyLlava(path.join(scratch, 'llava'), SIZES);
    const small = await compare(tiny.dir, 'fp32', NEW_TOKENS, { warmup: 2, iterations: 10, budgetMs: 15_000 });
    const s = tiny.sizes;
    const markdown = [
      `Tiny LLaVA: ${s.layers} layers, hidden ${s.hiddenSize}, ${s.heads} heads / ${s.kvHeads} kv heads, vocabulary ${s.vocabSize}, ` +
        `${s.imageTokens} image tokens, prompt ${small.promptTokens} tokens, ${NEW_TOKENS} new tokens per call (greedy, no early stop), CPU.`,
      '',
      table(HEADER, rows('tiny fp32', NEW_TOKENS, small)),
    ];
    const fullSize = process.env.MYVLM_BENCH_FULLSIZE;
    if (fullSize) {
      const full: (string | number)[][] = [];
      for (const dtype of FULL_SIZE_DTYPES)
        full.push(
          ...rows(
            `full size ${dtype}`,
            FULL_SIZE_NEW_TOKENS,
            await compare(fullSize, dtype, FULL_SIZE_NEW_TOKENS, { warmup: 1, iterations: 3, budgetMs: 60_000 }),
          ),
        );
      markdown.push(
        '',
        `The full-size replica of llava-interleave-qwen-0.5b (${path.basename(fullSize)}: ` +
          'Qwen1.5-0.5B + SigLIP-so400m, random weights, 729 image rows), ' +
          `${FULL_SIZE_NEW_TOKENS} new tokens per call, median of 3 after 1 warm-up:`,
        '',
        table(HEADER, full),
      );
    }
    return { title: 'VLM generation: transformers.js vs the project session loop', markdown: markdown.join('\n') };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
