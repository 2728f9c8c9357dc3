// The personalized VLM's generation against plain generation on the same
// tiny models: transformers.js generate() (the reference for LLaVA) and the
// project's plain session loop (the reference for MiniGPT-v2), with and
// without one concept token. Tokens per second and time to first token;
// the injection overhead (one concept vs none, same instruction) should stay
// within 5%.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import {
  AutoImageProcessor,
  AutoModelForImageTextToText,
  AutoProcessor,
  AutoTokenizer,
  BaseStreamer,
  RawImage,
  type PreTrainedModel,
  type Tensor,
} from '@huggingface/transformers';
import type { RgbImage } from '../src/image/decode.ts';
import type { ConceptRecord } from '../src/memory/concept.ts';
import { InternalError } from '../src/errors.ts';
import { SessionPool } from '../src/models/session.ts';
import type { VlmSessionLoop } from '../src/onnx/session-loop.ts';
import { VlmExport } from '../src/vlm/export/vlm-export.ts';
import type { TinyVlmOptions } from '../src/onnx/tiny/config.ts';
import { writeTinyLlava, writeTinyMiniGptV2 } from '../src/onnx/tiny/factory.ts';
import { openVlm } from '../src/vlm/load.ts';
import type { PersonalVlm } from '../src/vlm/personal-vlm.ts';
import { table, type BenchSection } from './harness.ts';

/** New tokens per generation: every variant generates exactly this many (stop tokens ignored). */
const NEW_TOKENS = 48;
const ROUNDS = 20;
const WARMUP = 2;
/**
 * Larger than the test models, so that model time (not bookkeeping)
 * dominates a step: a 6-layer, 512-wide language model (about 19 M
 * parameters) reading 64 image tokens.
 */
const BENCH_SIZES: TinyVlmOptions = {
  seed: 1,
  hiddenSize: 512,
  layers: 6,
  heads: 8,
  kvHeads: 4,
  imageSize: 64,
  patchSize: 8,
  visionHiddenSize: 128,
};
/** The captioning instruction of each family (ALGORITHM.md section 4), the same with and without the concept token. */
const LLAVA_INSTRUCTION = 'Please caption this image of sks.';
const MINIGPT_INSTRUCTION = '[caption] A short image caption of sks:';

/** One timed generation: total and first-token milliseconds. */
interface Sample {
  totalMs: number;
  firstTokenMs: number;
  /**
   * CPU time of the whole process during the call (all threads). Other
   * processes on a shared machine stretch wall time but hardly this, so the
   * overhead is also given in CPU time.
   */
  cpuMs: number;
}

/**
 * Runs the variants in alternation, forwards on even rounds and backwards on
 * odd ones (so load from other processes and any after-effect of the previous
 * run fall on all alike). Returns every variant's samples, aligned by round.
 */
async function interleaved(variants: ReadonlyArray<() => Promise<Omit<Sample, 'cpuMs'>>>): Promise<Sample[][]> {
  const samples = variants.map(() => [] as Sample[]);
  for (let round = 0; round < ROUNDS + WARMUP; round++) {
    const order = variants.map((_, i) => i);
    if (round % 2 === 1) order.reverse();
    for (const i of order) {
      const cpu = process.cpuUsage();
      const sample = await variants[i]();
      const used = process.cpuUsage(cpu);
      if (round >= WARMUP) samples[i].push({ ...sample, cpuMs: (used.user + used.system) / 1000 });
    }
  }
  return samples;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Median total and first-token times of one variant. */
function summary(samples: readonly Sample[]): Sample {
  return {
    totalMs: median(samples.map((s) => s.totalMs)),
    firstTokenMs: median(samples.map((s) => s.firstTokenMs)),
    cpuMs: median(samples.map((s) => s.cpuMs)),
  };
}

/**
 * The injection overhead as the median, over rounds, of the time with one
 * concept over the time without, run back to back in the same round (equal
 * token counts, so this is the tokens/s ratio); pairing cancels slow changes
 * in machine load.
 */
function pairedOverhead(without: readonly Sample[], withConcept: readonly Sample[]): string {
  const percent = (key: 'totalMs' | 'cpuMs') =>
    (100 * (median(without.map((s, round) => withConcept[round][key] / s[key])) - 1)).toFixed(1);
  return `${percent('totalMs')}% wall / ${percent('cpuMs')}% CPU`;
}

function photo(size: number): RgbImage {
  const data = new Uint8Array(size * size * 3).map((_, i) => (i * 37) % 251);
  return { width: size, height: size, data };
}

function rex(modelId: string, hidden: number): ConceptRecord {
  const now = new Date().toISOString();
  const vector = Float32Array.from({ length: hidden }, (_, i) => Math.sin(i * 0.37) + 0.1);
  return {
    id: 'rex',
    scope: 'bench',
    name: 'Rex',
    identifier: 'sks',
    kind: 'object',
    owner: 'bench',
    createdAt: now,
    updatedAt: now,
    version: 1,
    head: null,
    embeddings: { [modelId]: { vector, steps: 0, finalLoss: null, updatedAt: now } },
    facts: [],
    photos: [],
  };
}

/** Our generation through PersonalVlm, greedy, exactly NEW_TOKENS tokens. */
function ours(vlm: PersonalVlm, image: RgbImage, concepts: ConceptRecord[]): () => Promise<Omit<Sample, 'cpuMs'>> {
  const instruction = vlm.family.id === 'minigpt-v2' ? MINIGPT_INSTRUCTION : LLAVA_INSTRUCTION;
  return async () => {
    const started = performance.now();
    let firstTokenMs = Number.NaN;
    const onToken = () => {
      if (Number.isNaN(firstTokenMs)) firstTokenMs = performance.now() - started;
    };
    const answer = await vlm.generate({
      image,
      concepts,
      instruction,
      sample: false,
      maxNewTokens: NEW_TOKENS,
      ignoreStopTokens: true,
      onToken,
    });
    if (answer.generation.tokens.length !== NEW_TOKENS)
      throw new InternalError('A variant generated a different number of tokens.');
    return { totalMs: performance.now() - started, firstTokenMs };
  };
}

class FirstToken extends BaseStreamer {
  private calls = 0;
  at = Number.NaN;
  constructor(private readonly started: number) {
    super();
  }
  override put(): void {
    // The first put is the prompt; the second is the first new token.
    if (++this.calls === 2) this.at = performance.now() - this.started;
  }
  override end(): void {}
}

/** Vanilla transformers.js: its processor and generate() on the prompt of our no-concept variant. */
function vanillaTransformers(
  dir: string,
  model: PreTrainedModel,
  image: RgbImage,
): () => Promise<Omit<Sample, 'cpuMs'>> {
  let processor: Awaited<ReturnType<typeof AutoProcessor.from_pretrained>> | null = null;
  return async () => {
    processor ??= await AutoProcessor.from_pretrained(dir, { local_files_only: true });
    const started = performance.now();
    // The processor is typed as returning any; for one photo and one prompt it gives these three tensors.
    const inputs = (await processor(
      new RawImage(image.data, image.width, image.height, 3),
      `USER: <image>\n${LLAVA_INSTRUCTION} ASSISTANT:`,
    )) as { input_ids: Tensor; attention_mask: Tensor; pixel_values: Tensor };
    const streamer = new FirstToken(started);
    // generate() takes any BaseStreamer, but its typings (through GenerationConfig) ask for a TextStreamer.
    const anyStreamer = streamer as unknown as NonNullable<Parameters<PreTrainedModel['generate']>[0]['streamer']>;
    await model.generate({
      ...inputs,
      do_sample: false,
      max_new_tokens: NEW_TOKENS,
      eos_token_id: [],
      streamer: anyStreamer,
    });
    return { totalMs: performance.now() - started, firstTokenMs: streamer.at };
  };
}

/** The plain session loop (VlmSessionLoop.generate), with the model's own tokenizer and image processor. */
async function plainLoop(
  dir: string,
  loop: VlmSessionLoop,
  image: RgbImage,
  prompt: string,
): Promise<() => Promise<Omit<Sample, 'cpuMs'>>> {
  const tokenizer = await AutoTokenizer.from_pretrained(dir, { local_files_only: true });
  const images = await AutoImageProcessor.from_pretrained(dir, { local_files_only: true });
  return async () => {
    const started = performance.now();
    const { pixel_values: values } = (await images(new RawImage(image.data, image.width, image.height, 3))) as {
      pixel_values: Tensor;
    };
    const pixels = new ort.Tensor('float32', values.data as Float32Array, values.dims);
    const features = await loop.encodeImage(pixels);
    const rows = features.dims[1];
    const ids = tokenizer
      .encode(prompt)
      .flatMap((id) => (id === loop.config.imageTokenId ? new Array<number>(rows).fill(id) : [id]));
    let firstTokenMs = Number.NaN;
    const onToken = () => {
      if (Number.isNaN(firstTokenMs)) firstTokenMs = performance.now() - started;
    };
    await loop.generate({
      inputIds: ids,
      imageFeatures: features,
      maxNewTokens: NEW_TOKENS,
      stopTokenIds: [],
      onToken,
    });
    return { totalMs: performance.now() - started, firstTokenMs };
  };
}

export default async function vlmBenchmark(): Promise<BenchSection> {
  const scratch = await mkdtemp(path.join(tmpdir(), 'myvlm-bench-vlm-'));
  const sessions = new SessionPool({ executionProvider: 'cpu', intraOpThreads: 1, interOpThreads: 1 });
  const resolve = { cacheDir: scratch, allowDownload: false };
  const opened: Array<{ dispose(): Promise<unknown> }> = [];
  try {
    const llavaDir = (await writeTinyLlava(path.join(scratch, 'llava'), BENCH_SIZES)).dir;
    const minigptDir = (await writeTinyMiniGptV2(path.join(scratch, 'minigpt'), BENCH_SIZES)).dir;
    const image = photo(96);
    const llava = await openVlm(llavaDir, { resolve, sessions });
    const minigpt = await openVlm(minigptDir, { resolve, sessions });
    const vanilla = await AutoModelForImageTextToText.from_pretrained(llavaDir, {
      dtype: 'fp32',
      local_files_only: true,
      session_options: { intraOpNumThreads: 1 },
    });
    const { loop } = await VlmExport.open(minigptDir, { sessions });
    opened.push(llava, minigpt, vanilla);
    const concept = (vlm: PersonalVlm) => [rex(vlm.id, vlm.hiddenSize)];

    const llavaRuns = await interleaved([
      vanillaTransformers(llavaDir, vanilla, image),
      ours(llava, image, []),
      ours(llava, image, concept(llava)),
    ]);
    const miniRuns = await interleaved([
      await plainLoop(minigptDir, loop, image, `[INST] <Img><ImageHere></Img> ${MINIGPT_INSTRUCTION} [/INST]`),
      ours(minigpt, image, []),
      ours(minigpt, image, concept(minigpt)),
    ]);

    const llavaSummary = llavaRuns.map(summary);
    const mini = miniRuns.map(summary);
    const tps = (s: Sample) => (NEW_TOKENS * 1000) / s.totalMs;
    const row = (label: string, s: Sample, reference: Sample) => [
      label,
      tps(s),
      s.firstTokenMs,
      s.cpuMs / NEW_TOKENS,
      tps(s) / tps(reference),
    ];
    const rows = [
      row('LLaVA: transformers.js generate() (reference)', llavaSummary[0], llavaSummary[0]),
      row('LLaVA: ours, no concept', llavaSummary[1], llavaSummary[0]),
      row('LLaVA: ours, 1 concept', llavaSummary[2], llavaSummary[0]),
      row('MiniGPT-v2: plain session loop (reference)', mini[0], mini[0]),
      row('MiniGPT-v2: ours, no concept', mini[1], mini[0]),
      row('MiniGPT-v2: ours, 1 concept', mini[2], mini[0]),
    ];
    const markdown = [
      `Tiny models with seeded random weights (hidden ${BENCH_SIZES.hiddenSize}, ${BENCH_SIZES.layers} layers, ` +
        `64 image tokens), one CPU thread per session, greedy, ${NEW_TOKENS} new tokens, ` +
        `the same instruction (the concept variants add exactly one token); medians of ${ROUNDS} interleaved rounds. ` +
        'Times run from the call (image preprocessing and tokenization included) to the first and the last token.',
      '',
      table(['variant', 'tokens/s', 'first token (ms)', 'CPU ms per token', 'tokens/s vs reference'], rows),
      '',
      'Injection overhead (median over rounds of the time with one concept / without - 1, ' +
        'the two run back to back; target within 5%): ' +
        `LLaVA ${pairedOverhead(llavaRuns[1], llavaRuns[2])}, MiniGPT-v2 ${pairedOverhead(miniRuns[1], miniRuns[2])}.`,
    ].join('\n');
    return { title: 'Personalized VLM generation (concept-token injection)', markdown };
  } finally {
    for (const item of opened) await item.dispose();
    await sessions.dispose();
    await rm(scratch, { recursive: true, force: true });
  }
}
