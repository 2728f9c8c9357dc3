// What teaching costs on an export, measured against answering on the same
// files in the same run: one training step (augmentation, vision encoder,
// prefix cache, teaching graph, AdamW) divided by one answering forward of the
// same batch and sequence (vision encoder and the decoder over the whole
// sequences, as answering's prefill runs them), and the peak memory of a
// process that teaches divided by that of a process that answers. Memory is
// measured in fresh child processes (teaching-cost-probe.ts), so the two never
// share a heap. `myvlm bench teach` and `npm run bench -- teach` print it.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { EMBEDDING_TRAINING } from '../config/defaults.ts';
import { fillConcept, teachingPrompts } from '../vlm/prompts.ts';
import { OperatorError } from '../errors.ts';
import type { RgbImage } from '../image/decode.ts';
import type { GraphDtypes } from '../onnx/layout.ts';
import type { VlmDtype } from '../config/settings.ts';
import { floatData } from '../onnx/runtime.ts';
import { seededRandom } from '../random.ts';
import type { RuntimeOptions } from '../models/session.ts';
import { describeDtypes } from '../vlm/export/variants.ts';
import { TeachableExport } from './teachable-export.ts';
import { trainConceptEmbedding } from './trainer.ts';
import type { PhotoTargets } from './targets.ts';

/** What to measure; defaults in the comments. */
export interface TeachingCostOptions {
  /** The export folder. */
  dir: string;
  /** Precision of its graphs (default the most exact present). */
  dtype?: VlmDtype | GraphDtypes | null;
  /** Where the derived graphs are cached. */
  cacheDir: string;
  runtime?: RuntimeOptions;
  /** Photos per step (default the paper's EMBEDDING_TRAINING.maxPhotosPerStep, 4). */
  batch?: number;
  /** Training steps timed after the first (default 3); the first builds and opens the graphs. */
  steps?: number;
  /** Also measure peak memory in child processes (default true). */
  memory?: boolean;
}

/** Peak memory of one child process, MiB above what it held before opening the export. */
export interface PeakMemory {
  /**
   * Growth of the peak resident set (VmHWM on Linux). Pages of a file mapped twice
   * (the prefix and teaching graphs both map the decoder's weights) count twice here.
   */
  rssMiB: number;
  /** Growth of the proportional set size at its sampled peak (every 50 ms; Linux only): mapped pages count once. */
  pssMiB: number | null;
}

/** The measurement, as `myvlm bench teach --json` prints it. */
export interface TeachingCost {
  dir: string;
  dtype: string;
  batch: number;
  /** Tokens per sequence: the prompt with its image rows, the concept row and the answer. */
  sequence: number;
  /** Of which run forward only, as the prefix cache. */
  prefix: number;
  /** Median of `steps` training steps. */
  stepMs: number;
  /** Median answering forward of the same batch and sequence. */
  forwardMs: number;
  stepOverForward: number;
  /** A lesson of EMBEDDING_TRAINING.steps steps at stepMs, projected. */
  lessonMs: number;
  answering: PeakMemory | null;
  teaching: PeakMemory | null;
  /** Teaching over answering peak: PSS where it was sampled, else RSS. */
  memoryRatio: number | null;
}

/** A photo-sized picture (the processor resizes it; its content does not change the cost), different per index. */
export function costPhoto(index: number): RgbImage {
  const width = 640;
  const height = 480;
  const random = seededRandom(index + 1);
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = (random() * 256) | 0;
  return { width, height, data };
}

/** The lesson every measurement runs: `batch` photos, each with one captioning instruction and one target. */
export function costLesson(vlm: TeachableExport, batch: number): PhotoTargets[] {
  const identifier = 'sks';
  const instruction = fillConcept(teachingPrompts().captioning[vlm.model.family.captionPrompt], identifier);
  const target = `${identifier} is lying on the grass next to a red ball.`;
  return Array.from({ length: batch }, (_, i) => ({ image: costPhoto(i), choices: [{ instruction, target }] }));
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Times training steps and answering forwards on one export, in this process, then memory in two child processes. */
export async function measureTeachingCost(options: TeachingCostOptions): Promise<TeachingCost> {
  const batch = options.batch ?? EMBEDDING_TRAINING.maxPhotosPerStep;
  const steps = options.steps ?? 3;
  const vlm = await TeachableExport.open(options.dir, {
    cacheDir: options.cacheDir,
    runtime: options.runtime,
    dtype: options.dtype ?? null,
  });
  let timing: Pick<TeachingCost, 'dtype' | 'sequence' | 'prefix' | 'stepMs' | 'forwardMs'>;
  try {
    const lesson = costLesson(vlm, batch);
    const stamps: number[] = [performance.now()];
    await trainConceptEmbedding(
      vlm,
      lesson,
      { steps: steps + 1 },
      { onProgress: () => void stamps.push(performance.now()) },
    );
    const stepMs = median(stamps.slice(2).map((t, i) => t - stamps[i + 1]));

    const { model } = vlm;
    const example = model.prompts.example(lesson[0].choices[0].instruction, lesson[0].choices[0].target, 1);
    const forward = async (): Promise<void> => {
      const H = model.hiddenSize;
      const L = example.ids.length;
      const rows = model.float64 ? new Float64Array(batch * L * H) : new Float32Array(batch * L * H);
      for (let b = 0; b < batch; b++) {
        const features = await vlm.imageFeatures(lesson[b].image);
        rows.set(
          floatData(
            model.loop.placeImageFeatures(
              example.ids,
              await model.loop.embed(example.ids),
              model.withConcepts(features, [new Float64Array(H).fill(1)]),
            ),
          ),
          b * L * H,
        );
      }
      await model.loop.forward(
        new ort.Tensor(model.float64 ? 'float64' : 'float32', rows, [batch, L, H]),
        model.loop.emptyCache(batch),
      );
    };
    await forward();
    const forwards: number[] = [];
    for (let i = 0; i < steps; i++) {
      const started = performance.now();
      await forward();
      forwards.push(performance.now() - started);
    }
    timing = {
      dtype: describeDtypes(model.dtypes),
      sequence: example.ids.length,
      prefix: example.conceptPosition,
      stepMs,
      forwardMs: median(forwards),
    };
  } finally {
    await vlm.release();
  }
  const measureMemory = options.memory ?? true;
  const answering = measureMemory ? await peakMemory('answer', options, batch) : null;
  const teaching = measureMemory ? await peakMemory('teach', options, batch) : null;
  const ratio =
    answering && teaching
      ? answering.pssMiB !== null && teaching.pssMiB !== null
        ? teaching.pssMiB / answering.pssMiB
        : teaching.rssMiB / answering.rssMiB
      : null;
  return {
    dir: options.dir,
    ...timing,
    batch,
    stepOverForward: timing.stepMs / timing.forwardMs,
    lessonMs: EMBEDDING_TRAINING.steps * timing.stepMs,
    answering,
    teaching,
    memoryRatio: ratio,
  };
}

/** What a memory probe child is asked to do. */
export interface ProbeRequest {
  mode: 'answer' | 'teach';
  dir: string;
  dtype: VlmDtype | GraphDtypes | null;
  cacheDir: string;
  runtime: RuntimeOptions | undefined;
  batch: number;
}

const PROBE = fileURLToPath(new URL('./teaching-cost-probe.ts', import.meta.url));

/** Runs the probe in a fresh process (TypeScript through the tsx loader this process runs with) and reads its one JSON line. */
function peakMemory(mode: ProbeRequest['mode'], options: TeachingCostOptions, batch: number): Promise<PeakMemory> {
  const request: ProbeRequest = {
    mode,
    dir: path.resolve(options.dir),
    dtype: options.dtype ?? null,
    cacheDir: options.cacheDir,
    runtime: options.runtime,
    batch,
  };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), PROBE, JSON.stringify(request)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, MYVLM_LOG_LEVEL: 'silent' },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0)
        return reject(
          new OperatorError(
            `The ${mode} memory probe exited with code ${code}: ${err.trim().split('\n').slice(-3).join(' ')}`,
          ),
        );
      try {
        resolve(JSON.parse(out.trim().split('\n').at(-1) ?? '') as PeakMemory);
      } catch {
        reject(new OperatorError(`The ${mode} memory probe printed no result: ${out.slice(-200)}`));
      }
    });
  });
}
