// A tiny LLaVA that can caption, for the miniature MyVLM experiment. MyVLM
// steers a *pretrained* language model with one token; a randomly initialized
// tiny model has nothing to steer (one vector moves its loss by about 10%).
// So the experiment first pretrains the generated decoder, with the same
// gradient graphs teaching uses (here with respect to every decoder weight),
// on synthetic scenes: "a red ball on the grass." for objects, and for a
// person the name from the prompt, "Anna on the sofa." (copying a name from
// the prompt is what lets a concept token make a real LLaVA say "sks"). Half
// the examples carry one extra visual row after the image, the slot concept
// tokens use. The vision encoder and token embeddings stay as generated.
import { EMBEDDING_TRAINING } from '../../config/defaults.ts';
import { moduleLogger } from '../../log.ts';
import * as ort from 'onnxruntime-node';
import path from 'node:path';
import { buildGradientModel } from '../../onnx/grad/gradient-model.ts';
import { graphPath } from '../../onnx/layout.ts';
import { OnnxModel } from '../../onnx/model.ts';
import { readModel, writeModel } from '../../onnx/model-io.ts';
import { sessionOptionsFor } from '../../onnx/runtime.ts';
import { tensorDims } from '../../onnx/tensor.ts';
import type { TinyVlmOptions } from '../../onnx/tiny/config.ts';
import { writeTinyLlava } from '../../onnx/tiny/factory.ts';
import { normal, seededRandom } from '../../random.ts';
import { adamWStep, initialAdamWState } from '../adamw.ts';
import { writeConceptRow } from '../../vlm/injection.ts';
import { appendCaptionLoss, LOSS_INPUTS, LOSS_OUTPUTS } from '../loss-graph.ts';
import { SessionPool } from '../../models/session.ts';
import { VlmExport } from '../../vlm/export/vlm-export.ts';
import { fillConcept, teachingPrompts } from '../../vlm/prompts.ts';
import { syntheticScene, type SyntheticScene } from './scenes.ts';
import { augmentPhoto } from '../trainer.ts';

const logger = moduleLogger('tiny-captioner');

/** Names the captioner learns to copy from the prompt when a person is in the scene ("sks" among them, as a real LLM knows it). */
export const CAPTIONER_NAMES = ['Anna', 'Bob', 'Alice', 'Tom', 'Max', 'Emma', 'Mia', 'Leo', 'sks'] as const;

/** Pretraining settings; defaults in the comments. */
export interface TinyCaptionerOptions {
  /** Seed of the model, scenes and batches (default 0). */
  seed?: number;
  /** Pretraining steps (default 400). */
  steps?: number;
  /** Sequences per step (default 24). */
  batchSize?: number;
  /** Distinct training scenes (default 640). */
  scenes?: number;
  /** Peak Adam learning rate, decayed to zero on a cosine (default 5e-3). */
  learningRate?: number;
  /** Tiny model sizes (factory defaults). */
  model?: TinyVlmOptions;
  onProgress?: (step: number, steps: number, loss: number) => void;
}

/** What was written. */
export interface TinyCaptioner {
  dir: string;
  /** Mean loss of the last 20 pretraining steps. */
  finalLoss: number;
  trainSeconds: number;
}

/** Pretraining optimizer: plain Adam with a loose clip (these are not the paper's teaching settings). */
const PRETRAIN_CLIP_NORM = 1.0;
/** Peak pretraining learning rate. */
const PRETRAIN_LEARNING_RATE = 5e-3;
/** Share of scenes that show a person (the rest show an object). */
const PERSON_SHARE = 0.4;
/** Share of examples with the extra visual row (see below). */
const SUMMARY_SHARE = 0.5;
/** Noise added to the extra row, relative to its norm. */
const SUMMARY_NOISE = 1.0;

/** The caption a pretrained captioner gives a scene when asked about `name`. */
export function sceneCaption(scene: SyntheticScene, name: string): string {
  if (scene.subject.kind === 'object') return `a ${scene.subject.color} ${scene.subject.object} on the ${scene.place}.`;
  if (scene.subject.kind === 'person') return `${name} on the ${scene.place}.`;
  throw new RangeError('concept scenes are never part of pretraining');
}

type FloatArray = Float32Array | Float64Array;

/** Decoder weights worth training: every float initializer with more than one element, except fixed rotary tables. */
function trainableWeights(model: OnnxModel): string[] {
  return model.graph.initializers
    .filter(
      (t) =>
        (t.dataType === 1 || t.dataType === 11) &&
        tensorDims(t).reduce((a, b) => a * b, 1) > 1 &&
        !(t.name ?? '').includes('rotary'),
    )
    .map((t) => t.name ?? '');
}

/** A copy of `model` whose `weights` are graph inputs (fed every step) instead of initializers. */
function weightsAsInputs(model: OnnxModel, weights: readonly string[]): OnnxModel {
  const copy = OnnxModel.fromBytes(model.toBytes());
  for (const name of weights) {
    const tensor = copy.graph.initializer(name);
    if (!tensor) continue;
    const dims = tensorDims(tensor);
    const type = tensor.dataType === 11 ? 'float64' : 'float32';
    copy.graph.removeInitializer(name);
    copy.graph.addInput(name, type, dims);
  }
  return copy;
}

/** Writes a tiny LLaVA to `dir` and pretrains its decoder to caption synthetic scenes. */
export async function writeTinyCaptioner(dir: string, options: TinyCaptionerOptions = {}): Promise<TinyCaptioner> {
  const seed = options.seed ?? 0;
  const steps = options.steps ?? 400;
  const batchSize = options.batchSize ?? 24;
  const random = seededRandom(seed ^ 0x5eed);
  const tiny = await writeTinyLlava(dir, { seed, ...options.model });
  const decoderFile = path.join(tiny.dir, graphPath('decoder', 'fp32'));
  const sessions = new SessionPool();
  const vlm = await VlmExport.open(tiny.dir, { sessions });
  const started = Date.now();
  try {
    const H = vlm.hiddenSize;
    const dtype = vlm.float64 ? 'float64' : 'float32';
    const instructionOf = (name: string) => fillConcept(teachingPrompts().captioning.llava, name);
    // Every example embedded once: [length, H] rows and labels.
    const examples: { embeds: FloatArray; labels: number[] }[] = [];
    for (let i = 0; i < (options.scenes ?? 640); i++) {
      const scene = syntheticScene(seed * 104_729 + 10_000 + i, random() < PERSON_SHARE ? 'person' : 'object');
      // Augmented like teaching photos are, so the captioner reads places and colours through them.
      const image = augmentPhoto(scene.image, random);
      const name = CAPTIONER_NAMES[Math.floor(random() * CAPTIONER_NAMES.length)];
      // Half the examples carry one extra visual row after the image, where a concept token goes:
      // the mean image feature, scaled like a concept token. Real VLMs read any extra visual token;
      // a tiny one has to have seen such a slot.
      const summary = random() < SUMMARY_SHARE;
      const example = vlm.prompts.example(instructionOf(name), sceneCaption(scene, name), summary ? 1 : 0);
      const { features } = await vlm.features(image);
      const rows = features.count + (summary ? 1 : 0);
      const merged = dtype === 'float64' ? new Float64Array(rows * H) : new Float32Array(rows * H);
      merged.set(features.rows.subarray(0, features.count * H));
      if (summary) {
        const mean = new Float64Array(H);
        for (let r = 0; r < features.count; r++)
          for (let k = 0; k < H; k++) mean[k] += features.rows[r * H + k] / features.count;
        // Noise widens what the slot accepts, so a learned vector can land in it.
        const spread = (SUMMARY_NOISE * Math.hypot(...mean)) / Math.sqrt(H);
        for (let k = 0; k < H; k++) mean[k] += spread * normal(random);
        writeConceptRow(mean, features.referenceNorm, merged, features.count * H);
      }
      const embedded = vlm.loop.placeImageFeatures(
        example.ids,
        await vlm.loop.embed(example.ids),
        new ort.Tensor(dtype, merged, [1, rows, H]),
      );
      examples.push({ embeds: embedded.data as FloatArray, labels: example.labels });
    }

    const decoder = await readModel(decoderFile);
    const weights = trainableWeights(decoder);
    const training = buildGradientModel(weightsAsInputs(decoder, weights), {
      wrt: weights,
      loss: (graph) => appendCaptionLoss(graph),
      lossOutput: LOSS_OUTPUTS.loss,
    });
    const session = await ort.InferenceSession.create(training.model.toBytes(), sessionOptionsFor(dtype));
    const shapes = weights.map((w) => tensorDims(decoder.graph.initializer(w)!));
    const offsets: number[] = [];
    let total = 0;
    for (const dims of shapes) {
      offsets.push(total);
      total += dims.reduce((a, b) => a * b, 1);
    }
    const params = new Float64Array(total);
    weights.forEach((w, i) => params.set(decoder.graph.initializerData(w) as FloatArray, offsets[i]));
    const state = initialAdamWState(total);
    const recent: number[] = [];
    const { layers, kvHeads, headDim } = vlm.loop.config;
    const makeArray = (n: number): FloatArray => (dtype === 'float64' ? new Float64Array(n) : new Float32Array(n));

    try {
      for (let step = 1; step <= steps; step++) {
        const batch = Array.from({ length: batchSize }, () => examples[Math.floor(random() * examples.length)]);
        const length = Math.max(...batch.map((b) => b.labels.length));
        const embeds = makeArray(batchSize * length * H);
        const mask = new BigInt64Array(batchSize * length);
        const positions = new BigInt64Array(batchSize * length);
        const labels = new BigInt64Array(batchSize * length).fill(BigInt(EMBEDDING_TRAINING.ignoreLabel));
        batch.forEach((b, i) => {
          embeds.set(b.embeds, i * length * H);
          for (let t = 0; t < length; t++) {
            positions[i * length + t] = BigInt(t);
            if (t < b.labels.length) {
              mask[i * length + t] = 1n;
              labels[i * length + t] = BigInt(b.labels[t]);
            }
          }
        });
        const feeds: Record<string, ort.Tensor> = {
          inputs_embeds: new ort.Tensor(dtype, embeds, [batchSize, length, H]),
          attention_mask: new ort.Tensor('int64', mask, [batchSize, length]),
          position_ids: new ort.Tensor('int64', positions, [batchSize, length]),
          [LOSS_INPUTS.labels]: new ort.Tensor('int64', labels, [batchSize, length]),
          [LOSS_INPUTS.conceptPosition]: new ort.Tensor('int64', new BigInt64Array(batchSize).fill(-1n), [batchSize]),
          [LOSS_INPUTS.attentionLambda]: new ort.Tensor(dtype, makeArray(1), []),
        };
        for (let l = 0; l < layers; l++) {
          for (const part of ['key', 'value'])
            feeds[`past_key_values.${l}.${part}`] = new ort.Tensor(dtype, makeArray(0), [
              batchSize,
              kvHeads,
              0,
              headDim,
            ]);
        }
        weights.forEach((w, i) => {
          const values = makeArray(shapes[i].reduce((a, b) => a * b, 1));
          for (let k = 0; k < values.length; k++) values[k] = params[offsets[i] + k];
          feeds[w] = new ort.Tensor(dtype, values, shapes[i]);
        });
        const out = await session.run(feeds);
        const gradient = new Float64Array(total);
        weights.forEach((w, i) => gradient.set(out[training.gradients[w]].data as FloatArray, offsets[i]));
        // Cosine decay to zero: the last steps settle instead of bouncing.
        const rate =
          (options.learningRate ?? PRETRAIN_LEARNING_RATE) * 0.5 * (1 + Math.cos((Math.PI * (step - 1)) / steps));
        adamWStep(params, gradient, state, { learningRate: rate, weightDecay: 0, clipNorm: PRETRAIN_CLIP_NORM });
        const loss = Number((out[LOSS_OUTPUTS.loss].data as FloatArray)[0]);
        recent.push(loss);
        if (recent.length > 20) recent.shift();
        options.onProgress?.(step, steps, loss);
      }
    } finally {
      await session.release();
    }

    weights.forEach((w, i) => {
      const tensor = decoder.graph.initializer(w)!;
      const values = makeArray(shapes[i].reduce((a, b) => a * b, 1));
      for (let k = 0; k < values.length; k++) values[k] = params[offsets[i] + k];
      tensor.rawData = new Uint8Array(values.buffer.slice(0));
      delete tensor.floatData;
      delete tensor.doubleData;
    });
    await writeModel(decoder, decoderFile);
    const finalLoss = recent.reduce((a, b) => a + b, 0) / Math.max(1, recent.length);
    const trainSeconds = (Date.now() - started) / 1000;
    logger.info({ dir: tiny.dir, steps, finalLoss, trainSeconds }, 'pretrained tiny captioner');
    return { dir: tiny.dir, finalLoss, trainSeconds };
  } finally {
    await sessions.dispose();
  }
}
