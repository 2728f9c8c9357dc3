// A tiny LLaVA that can caption, for the miniature MyVLM experiment. MyVLM
// steers a *pretrained* language model with one token; a randomly initialized
// tiny model has nothing to steer. So the experiment first pretrains the
// generated decoder, with the same gradient graphs teaching uses (here with
// respect to the decoder's layer weights), on synthetic scenes captioned
// "a red ball on the grass." or "a person on the sofa.".
//
// What a real LLaVA brings to MyVLM and a random tiny one lacks is the
// ability to name a thing after a word of its prompt when the picture calls
// for it ("Please caption this image of sks." -> "sks on the beach."). The
// pretraining teaches exactly that, and never with the test identifier:
// the prompt always names something ("Please caption this image of Anna."),
// with a name drawn from a pool of ordinary vocabulary words, and a third of
// the examples carry one extra visual row after the image (the slot concept
// tokens use) holding the mean image feature of ANOTHER photo of the same
// thing: then, and only then, the caption uses the prompt's name ("Anna on
// the grass."). A third carry another thing's row (a mismatch: the plain
// caption), a third no row (the plain caption). The identifiers a run may
// teach (HELD_OUT_IDENTIFIERS) are never drawn as names, so they never
// appear in a pretraining prompt or caption.
//
// Input and output embeddings are tied and frozen: a word's output row is its
// generated input row, never trained, so copying a word it never produced is
// possible only through a general copy, as in a real LLM.
import { readFile } from 'node:fs/promises';
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
import type { ImageFeatures } from '../../vlm/export/vlm-export.ts';
import { VlmExport } from '../../vlm/export/vlm-export.ts';
import { fillConcept, teachingPrompts } from '../../vlm/prompts.ts';
import {
  SCENE_COLORS,
  SCENE_OBJECTS,
  SCENE_PLACES,
  syntheticScene,
  type ObjectLook,
  type SyntheticScene,
} from './scenes.ts';
import { augmentPhoto } from '../trainer.ts';

const logger = moduleLogger('tiny-captioner');

/** Identifiers the miniature may teach: never a pretraining name, so never in a pretraining prompt or caption. */
export const HELD_OUT_IDENTIFIERS = ['sks', 'bear'] as const;

/** Pretraining settings; defaults in the comments. */
export interface TinyCaptionerOptions {
  /** Seed of the model, scenes and batches (default 0). */
  seed?: number;
  /** Pretraining steps (default 1500). */
  steps?: number;
  /** Sequences per step (default 24). */
  batchSize?: number;
  /** Distinct training examples (default 3000). */
  scenes?: number;
  /** Peak Adam learning rate, decayed to zero on a cosine (default 5e-3). */
  learningRate?: number;
  /** Tiny model sizes (factory defaults, with tied embeddings). */
  model?: TinyVlmOptions;
  onProgress?: (step: number, steps: number, loss: number) => void;
}

/** What was written. */
export interface TinyCaptioner {
  dir: string;
  /** Mean loss of the last 20 pretraining steps. */
  finalLoss: number;
  trainSeconds: number;
  /** How many distinct words served as names. */
  names: number;
}

/** Pretraining optimizer: plain Adam with a loose clip (these are not the paper's teaching settings). */
const PRETRAIN_CLIP_NORM = 1.0;
/** Peak pretraining learning rate. */
const PRETRAIN_LEARNING_RATE = 5e-3;
/** Share of scenes that show a person (the rest show an object). */
const PERSON_SHARE = 0.3;
/** Shares of examples whose extra row shows the same thing (named caption) and another thing (plain caption); the rest have none. */
const SLOT_SHARES = { same: 1 / 3, other: 1 / 3 } as const;
/** Noise added to the extra row, relative to its norm per dimension. */
const SLOT_NOISE = 0.5;

/** The caption of a scene that shows no concept: what a captioner says before it is personalized. */
export function sceneCaption(scene: SyntheticScene): string {
  if (scene.subject.kind === 'object') return `a ${scene.subject.color} ${scene.subject.object} on the ${scene.place}.`;
  if (scene.subject.kind === 'person') return `a person on the ${scene.place}.`;
  throw new RangeError('concept scenes are never part of pretraining');
}

/** The caption naming the scene's subject `name`, the form a personalized caption takes. */
export function namedCaption(scene: SyntheticScene, name: string): string {
  return `${name} on the ${scene.place}.`;
}

/**
 * Words drawn as names in pretraining: whole words of the tiny vocabulary
 * that no caption or instruction uses, without the held-out identifiers.
 */
export function pretrainingNames(vocabulary: readonly string[]): string[] {
  const taken = new Set(
    [
      ...SCENE_PLACES.map((p) => p.word),
      ...SCENE_COLORS.map((c) => c.word),
      ...SCENE_OBJECTS,
      'a',
      'on',
      'the',
      'person',
      ...teachingPrompts().captioning.llava.split(/\W+/),
      'USER',
      'ASSISTANT',
      'INST',
      'Img',
      ...HELD_OUT_IDENTIFIERS,
    ].map((w) => w.toLowerCase()),
  );
  return vocabulary.filter((w) => /^[A-Za-z]{2,}$/.test(w) && !taken.has(w.toLowerCase()));
}

/** A different object than `look` (at least one of colour, shape and checkers differs). */
function otherLook(look: ObjectLook, random: () => number): ObjectLook {
  for (;;) {
    const color = Math.floor(random() * SCENE_COLORS.length);
    const object = Math.floor(random() * SCENE_OBJECTS.length);
    const checks = random() < 0.5 ? Math.floor(random() * SCENE_COLORS.length) : color;
    if (color !== look.color || object !== look.object || checks !== look.checks) return { color, object, checks };
  }
}

/** The look of an object scene, as indexes. */
function lookOf(scene: SyntheticScene): ObjectLook {
  if (scene.subject.kind !== 'object') throw new RangeError('only object scenes have a look');
  const { color, object, checks } = scene.subject;
  const colorIndex = (word: string) => SCENE_COLORS.findIndex((c) => c.word === word);
  return { color: colorIndex(color), object: SCENE_OBJECTS.indexOf(object), checks: colorIndex(checks) };
}

/** Mean of an image's feature rows. */
function meanFeature(features: ImageFeatures, H: number): Float64Array {
  const mean = new Float64Array(H);
  for (let r = 0; r < features.count; r++)
    for (let k = 0; k < H; k++) mean[k] += features.rows[r * H + k] / features.count;
  return mean;
}

type FloatArray = Float32Array | Float64Array;

/** The tied output head: it stays the generated embedding table, so no word's output row is ever trained. */
const OUTPUT_HEAD = 'lm_head.weight';

/** Decoder weights worth training: every float initializer with more than one element, except fixed rotary tables and the tied head. */
function trainableWeights(model: OnnxModel): string[] {
  return model.graph.initializers
    .filter(
      (t) =>
        (t.dataType === 1 || t.dataType === 11) &&
        tensorDims(t).reduce((a, b) => a * b, 1) > 1 &&
        !(t.name ?? '').includes('rotary') &&
        t.name !== OUTPUT_HEAD,
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
  const steps = options.steps ?? 1500;
  const batchSize = options.batchSize ?? 24;
  const random = seededRandom(seed ^ 0x5eed);
  const tiny = await writeTinyLlava(dir, { seed, tieWordEmbeddings: true, ...options.model });
  const decoderFile = path.join(tiny.dir, graphPath('decoder', 'fp32'));
  const tokenizer = JSON.parse(await readFile(path.join(tiny.dir, 'tokenizer.json'), 'utf8')) as {
    model: { vocab: Record<string, number> };
  };
  const names = pretrainingNames(Object.keys(tokenizer.model.vocab));
  const sessions = new SessionPool();
  const vlm = await VlmExport.open(tiny.dir, { sessions });
  const started = Date.now();
  try {
    const H = vlm.hiddenSize;
    const dtype = vlm.float64 ? 'float64' : 'float32';
    const instructionOf = (name: string) => fillConcept(teachingPrompts().captioning.llava, name);
    // Photos are augmented like teaching photos are, so the captioner reads places and colours through them.
    const featuresOf = async (scene: SyntheticScene) =>
      (await vlm.features(augmentPhoto(scene.image, random))).features;
    const base = seed * 104_729 + 10_000;
    // Every example embedded once: [length, H] rows and labels.
    const examples: { embeds: FloatArray; labels: number[] }[] = [];
    const count = options.scenes ?? 3000;
    for (let i = 0; i < count; i++) {
      const scene = syntheticScene(base + i, random() < PERSON_SHARE ? 'person' : 'object');
      const name = names[Math.floor(random() * names.length)];
      const draw = random();
      const slot = draw < SLOT_SHARES.same ? 'same' : draw < SLOT_SHARES.same + SLOT_SHARES.other ? 'other' : 'none';
      // The extra row comes from another photo (another place, spot and size): of the same thing, or of another one.
      const otherSeed = base + count + i;
      let source: SyntheticScene | null = null;
      if (slot === 'same')
        source =
          scene.subject.kind === 'person'
            ? syntheticScene(otherSeed, 'person')
            : syntheticScene(otherSeed, 'object', 64, lookOf(scene));
      else if (slot === 'other')
        source =
          scene.subject.kind === 'person' || random() < PERSON_SHARE
            ? syntheticScene(otherSeed, scene.subject.kind === 'person' ? 'object' : 'person')
            : syntheticScene(otherSeed, 'object', 64, otherLook(lookOf(scene), random));
      const caption = slot === 'same' ? namedCaption(scene, name) : sceneCaption(scene);
      const example = vlm.prompts.example(instructionOf(name), caption, source ? 1 : 0);
      const features = await featuresOf(scene);
      const rows = features.count + (source ? 1 : 0);
      const merged = dtype === 'float64' ? new Float64Array(rows * H) : new Float32Array(rows * H);
      merged.set(features.rows.subarray(0, features.count * H));
      if (source) {
        const mean = meanFeature(await featuresOf(source), H);
        // Noise widens what the slot accepts, so a learned vector can land in it.
        const spread = (SLOT_NOISE * Math.hypot(...mean)) / Math.sqrt(H);
        for (let k = 0; k < H; k++) mean[k] += spread * normal(random);
        // Scaled like a concept token: the first image row's norm.
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
    logger.info({ dir: tiny.dir, steps, finalLoss, trainSeconds, names: names.length }, 'pretrained tiny captioner');
    return { dir: tiny.dir, finalLoss, trainSeconds, names: names.length };
  } finally {
    await sessions.dispose();
  }
}
