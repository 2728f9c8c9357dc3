// Cost of teaching, per tiny LLaVA size: one training step against one
// forward pass of the same decoder on the same batch (4 photos, as the paper
// batches them), and the peak memory of the gradient session against the
// inference session. Memory is measured in fresh child processes (peak RSS
// growth while creating the session and running it), so the two do not mix.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { graphPath } from '../src/onnx/layout.ts';
import { sessionOptionsFor } from '../src/onnx/runtime.ts';
import { writeTinyLlava } from '../src/onnx/tiny/factory.ts';
import type { TinyVlmOptions } from '../src/onnx/tiny/config.ts';
import { seededRandom } from '../src/random.ts';
import { ensureTeachingGraph } from '../src/teach/teaching-graph.ts';
import { TeachableExport } from '../src/teach/teachable-export.ts';
import { syntheticScene } from '../src/teach/synthetic-photos.ts';
import { trainConceptEmbedding } from '../src/teach/trainer.ts';
import { measure, table, type BenchSection } from './harness.ts';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const SIZES: { name: string; options: TinyVlmOptions }[] = [
  { name: 'default (64 wide, 2 layers)', options: {} },
  { name: 'small (128 wide, 4 layers)', options: { hiddenSize: 128, layers: 4, heads: 4, kvHeads: 2 } },
  { name: 'medium (256 wide, 6 layers)', options: { hiddenSize: 256, layers: 6, heads: 8, kvHeads: 4 } },
];
/** Sequences per step (the paper's 4 teaching photos) and tokens per sequence (image rows + prompt + caption). */
const BATCH = 4;
const LENGTH = 40;

interface Shape {
  hidden: number;
  layers: number;
  kvHeads: number;
  headDim: number;
}

/** Feeds for the decoder (and, with `teaching`, the loss inputs) on a random batch. */
function feeds(shape: Shape, teaching: boolean): Record<string, ort.Tensor> {
  const random = seededRandom(1);
  const { hidden, layers, kvHeads, headDim } = shape;
  const ids = (f: (b: number, t: number) => number) => new ort.Tensor('int64', BigInt64Array.from({ length: BATCH * LENGTH }, (_, i) => BigInt(f(Math.floor(i / LENGTH), i % LENGTH))), [BATCH, LENGTH]);
  const out: Record<string, ort.Tensor> = {
    inputs_embeds: new ort.Tensor('float32', Float32Array.from({ length: BATCH * LENGTH * hidden }, () => random() - 0.5), [BATCH, LENGTH, hidden]),
    attention_mask: ids(() => 1),
    position_ids: ids((_b, t) => t),
  };
  for (let l = 0; l < layers; l++) {
    for (const part of ['key', 'value']) out[`past_key_values.${l}.${part}`] = new ort.Tensor('float32', new Float32Array(0), [BATCH, kvHeads, 0, headDim]);
  }
  if (teaching) {
    out.labels = ids((_b, t) => (t >= LENGTH - 8 ? 5 + t : -100));
    out.concept_position = new ort.Tensor('int64', BigInt64Array.from({ length: BATCH }, () => 17n), [BATCH]);
    out.attention_lambda = new ort.Tensor('float32', Float32Array.of(0.0075), []);
  }
  return out;
}

/** Peak resident-memory growth (MiB) of a fresh process that loads `file` and runs it `runs` times. */
function peakMemoryMiB(file: string, shape: Shape, teaching: boolean): number {
  const script = `
    import * as ort from 'onnxruntime-node';
    import { feedsFor } from ${JSON.stringify(path.join(REPO_ROOT, 'bench/teach.bench.ts'))};
    const before = process.resourceUsage().maxRSS;
    const session = await ort.InferenceSession.create(${JSON.stringify(file)}, { executionProviders: ['cpu'], graphOptimizationLevel: 'all' });
    const input = feedsFor(${JSON.stringify(shape)}, ${teaching});
    for (let i = 0; i < 3; i++) await session.run(input);
    process.stdout.write(String((process.resourceUsage().maxRSS - before) / 1024));
  `;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, MYVLM_LOG_LEVEL: 'silent' } });
  if (child.status !== 0) throw new Error(`memory probe failed: ${child.stderr}`);
  return Number(child.stdout.trim());
}

/** Exported for the memory probe's child process. */
export const feedsFor = feeds;

export default async function teachBenchmark(): Promise<BenchSection> {
  const scratch = mkdtempSync(path.join(tmpdir(), 'myvlm-bench-teach-'));
  const rows: (string | number)[][] = [];
  try {
    for (const size of SIZES) {
      const tiny = await writeTinyLlava(path.join(scratch, size.name.split(' ')[0]), { seed: 0, ...size.options });
      const decoderFile = path.join(tiny.dir, graphPath('decoder', 'fp32'));
      const teachingFile = await ensureTeachingGraph(decoderFile, path.join(scratch, 'cache'), 'row');
      const shape: Shape = { hidden: tiny.sizes.hiddenSize, layers: tiny.sizes.layers, kvHeads: tiny.sizes.kvHeads, headDim: tiny.sizes.headDim };
      const options = sessionOptionsFor('float32');
      const forward = await ort.InferenceSession.create(decoderFile, options);
      const teaching = await ort.InferenceSession.create(teachingFile, options);
      const forwardFeeds = feeds(shape, false);
      const teachingFeeds = feeds(shape, true);
      const forwardTime = await measure(() => forward.run(forwardFeeds), { iterations: 20 });
      const gradientTime = await measure(() => teaching.run(teachingFeeds), { iterations: 20 });
      await forward.release();
      await teaching.release();

      // A whole trainer step: 4 augmented photos through the vision encoder, embedding, gradient pass, AdamW.
      const vlm = await TeachableExport.open(tiny.dir, { cacheDir: path.join(scratch, 'cache') });
      const photos = [0, 1, 2, 3].map((i) => ({ image: syntheticScene(i, 'concept').image, choices: [{ instruction: 'Please caption this image of sks.', target: 'sks on the grass next to a red ball.' }] }));
      const stamps: number[] = [];
      await trainConceptEmbedding(vlm, photos, { steps: 12 }, { onProgress: () => void stamps.push(performance.now()) });
      await vlm.release();
      const stepMs = (stamps[stamps.length - 1] - stamps[1]) / (stamps.length - 2);

      const forwardMemory = peakMemoryMiB(decoderFile, shape, false);
      const gradientMemory = peakMemoryMiB(teachingFile, shape, true);
      const params = (tiny.sizes.layers * (2 * tiny.sizes.hiddenSize ** 2 + 2 * tiny.sizes.hiddenSize * tiny.sizes.kvHeads * tiny.sizes.headDim + 3 * tiny.sizes.hiddenSize * tiny.sizes.intermediateSize) + tiny.sizes.hiddenSize * tiny.sizes.vocabSize) / 1e6;
      rows.push([
        size.name,
        params,
        forwardTime.medianMs,
        gradientTime.medianMs,
        gradientTime.medianMs / forwardTime.medianMs,
        stepMs,
        stepMs / forwardTime.medianMs,
        forwardMemory,
        gradientMemory,
        gradientMemory / forwardMemory,
      ]);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return {
    title: 'Teaching: gradient pass and training step against a forward pass (tiny LLaVA, float32, CPU)',
    markdown: [
      `Batch ${BATCH} x ${LENGTH} tokens. "Gradient pass": the teaching model (decoder + MyVLM loss + backward to inputs_embeds). "Training step": a whole trainer step (4 augmented photos through the vision encoder, embedding, gradient pass, AdamW). Memory: peak RSS growth of a fresh process that creates the session and runs it 3 times.`,
      '',
      table(
        ['size', 'decoder M params', 'forward ms', 'gradient pass ms', 'gradient / forward', 'training step ms', 'step / forward', 'inference peak MiB', 'gradient peak MiB', 'memory ratio'],
        rows,
      ),
    ].join('\n'),
  };
}
