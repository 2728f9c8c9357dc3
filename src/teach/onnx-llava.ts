// A LLaVA-family ONNX export (vision_encoder + embed_tokens + decoder, the
// transformers.js layout) as a TeachableVlm. Generation runs the project's
// session loop; training runs the teaching model derived from the decoder
// (forward + MyVLM loss + backward, see loss-graph.ts), cached on disk next
// to the decoder's weights so they are stored once.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { AutoTokenizer } from '@huggingface/transformers';
import { UserError } from '../errors.ts';
import type { RgbImage } from '../image/decode.ts';
import { toModelInput, type Preprocess } from '../image/tensor.ts';
import { moduleLogger } from '../log.ts';
import { writeGradientModel } from '../onnx/grad/gradient-model.ts';
import { VLM_GRAPH_FILES } from '../onnx/layout.ts';
import { readModel } from '../onnx/model-io.ts';
import { sessionOptionsFor } from '../onnx/runtime.ts';
import { VlmSessionLoop } from '../onnx/session-loop.ts';
import { ChatTokens, type ChatTokenizer } from './chat-tokens.ts';
import { referenceNorm, writeConceptRow } from '../vlm/injection.ts';
import { accumulateVectorGradient } from './concept-vector.ts';
import { buildTeachingModel, LOSS_INPUTS, LOSS_OUTPUTS, type AttentionDirection } from './loss-graph.ts';
import type { AnswerRequest, ImageFeatures, StepResult, TeachableVlm, TrainingExample } from './teachable.ts';

const logger = moduleLogger('teach-llava');

/** How to open a LLaVA export for teaching; defaults in the comments. */
export interface OnnxLlavaOptions {
  /** Id embeddings are stored under (default: the folder name). */
  modelId?: string;
  /** Folder for the derived teaching model (default: the decoder's own folder, so its weights file is shared). */
  cacheDir?: string;
  /** Attention regularization direction (default EMBEDDING_TRAINING.attentionDirection). */
  direction?: AttentionDirection;
}

type FloatArray = Float32Array | Float64Array;

/** Bumped whenever the gradient builder or the loss graph changes, so cached teaching models are rebuilt. */
export const TEACHING_MODEL_VERSION = 1;

/** CLIP-style preprocessing read from preprocessor_config.json. */
export function preprocessFromConfig(config: Record<string, unknown>): Preprocess {
  const size = (config.crop_size ?? config.size) as Record<string, number> | undefined;
  const shortest = (config.size as Record<string, number> | undefined)?.shortest_edge;
  const width = size?.width ?? size?.shortest_edge ?? shortest;
  const height = size?.height ?? size?.shortest_edge ?? shortest;
  if (!width || !height) throw new UserError('The model\'s preprocessor_config.json gives no image size.');
  const mean = (config.image_mean as number[] | undefined) ?? [0.5, 0.5, 0.5];
  const std = (config.image_std as number[] | undefined) ?? [0.5, 0.5, 0.5];
  return {
    resize: config.do_center_crop === false ? 'stretch' : 'center-crop',
    width,
    height,
    shorterSide: shortest,
    channels: 'rgb',
    scale: typeof config.rescale_factor === 'number' ? config.rescale_factor : 1 / 255,
    mean: [mean[0], mean[1], mean[2]],
    std: [std[0], std[1], std[2]],
    kernel: config.resample === 3 ? 'cubic' : 'linear',
  };
}

function readJson(file: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (cause) {
    throw new UserError(`Cannot read ${path.basename(file)} of the model in ${path.dirname(file)}.`, { cause });
  }
}

/**
 * The teaching model file for a decoder, built when missing or older than
 * the decoder. Written atomically; an interrupted build leaves no file.
 */
export async function ensureTeachingModel(decoderFile: string, cacheDir: string, direction: AttentionDirection): Promise<string> {
  const file = path.join(cacheDir, `${path.basename(decoderFile, '.onnx')}.teach-v${TEACHING_MODEL_VERSION}-${direction}.onnx`);
  if (existsSync(file) && statSync(file).mtimeMs >= statSync(decoderFile).mtimeMs) return file;
  const started = Date.now();
  const decoder = await readModel(decoderFile);
  const teaching = buildTeachingModel(decoder, { direction });
  writeGradientModel(teaching.model, file);
  logger.info({ file, nodes: teaching.model.graph.nodes.length, layers: teaching.attentionLayers, ms: Date.now() - started }, 'built teaching model');
  return file;
}

/** A LLaVA ONNX export that concept embeddings can be taught on. */
export class OnnxLlavaVlm implements TeachableVlm {
  private teachingSession: Promise<ort.InferenceSession> | undefined;

  private constructor(
    readonly modelId: string,
    readonly loop: VlmSessionLoop,
    readonly tokens: ChatTokens,
    private readonly preprocess: Preprocess,
    readonly hiddenSize: number,
    private readonly teachingFile: () => Promise<string>,
  ) {}

  /** Opens an export folder (config.json, tokenizer, preprocessor_config.json, onnx/). */
  static async open(dir: string, options: OnnxLlavaOptions = {}): Promise<OnnxLlavaVlm> {
    const root = path.resolve(dir);
    const config = readJson(path.join(root, 'config.json'));
    const text = (config.text_config ?? config) as Record<string, unknown>;
    const hiddenSize = Number(text.hidden_size);
    if (!(hiddenSize > 0)) throw new UserError(`The model in ${root} has no hidden_size in config.json.`);
    const preprocess = preprocessFromConfig(readJson(path.join(root, 'preprocessor_config.json')));
    const loop = await VlmSessionLoop.open(root);
    const tokenizer = (await AutoTokenizer.from_pretrained(root, { local_files_only: true })) as unknown as ChatTokenizer;
    const pixels = 3 * preprocess.width * preprocess.height;
    const blank = loop.config.dtype === 'float64' ? new Float64Array(pixels) : new Float32Array(pixels);
    const probe = await loop.encodeImage(new ort.Tensor(loop.config.dtype, blank, [1, 3, preprocess.height, preprocess.width]));
    const imageRows = probe.dims[1];
    const tokens = new ChatTokens(tokenizer, loop.config.imageTokenId, imageRows);
    const decoderFile = path.join(root, VLM_GRAPH_FILES.decoder);
    const cacheDir = options.cacheDir ?? path.dirname(decoderFile);
    const direction = options.direction ?? 'row';
    let built: Promise<string> | undefined;
    const teachingFile = () => (built ??= ensureTeachingModel(decoderFile, cacheDir, direction));
    return new OnnxLlavaVlm(options.modelId ?? path.basename(root), loop, tokens, preprocess, hiddenSize, teachingFile);
  }

  private get dtype(): 'float32' | 'float64' {
    return this.loop.config.dtype;
  }

  private newArray(length: number): FloatArray {
    return this.dtype === 'float64' ? new Float64Array(length) : new Float32Array(length);
  }

  async imageFeatures(image: RgbImage): Promise<ImageFeatures> {
    const input = await toModelInput(image, this.preprocess);
    // Pixels go in the model's floating type (the float64 test models take float64 pixels).
    const pixels = this.dtype === 'float64' ? Float64Array.from(input.data) : input.data;
    const features = await this.loop.encodeImage(new ort.Tensor(this.dtype, pixels, input.dims));
    const rows = features.data as FloatArray;
    const count = features.dims[1];
    return { rows, count, referenceNorm: referenceNorm(rows, count, this.hiddenSize, 'first-image-token') };
  }

  /** Image rows followed by one scaled row per concept, as [1, rows, hidden]. */
  private featuresWithConcepts(image: ImageFeatures, concepts: readonly Float64Array[]): ort.Tensor {
    const H = this.hiddenSize;
    const out = this.newArray((image.count + concepts.length) * H);
    out.set(image.rows.subarray(0, image.count * H));
    concepts.forEach((vector, i) => writeConceptRow(vector, image.referenceNorm, out, (image.count + i) * H));
    return new ort.Tensor(this.dtype, out, [1, image.count + concepts.length, H]);
  }

  private async session(): Promise<ort.InferenceSession> {
    this.teachingSession ??= this.teachingFile().then((file) => ort.InferenceSession.create(file, sessionOptionsFor(this.dtype)));
    return this.teachingSession;
  }

  async lossAndGradient(batch: readonly TrainingExample[], vector: Float64Array, lambda: number): Promise<StepResult> {
    if (batch.length === 0) throw new RangeError('an empty batch has no loss');
    const H = this.hiddenSize;
    const examples = batch.map((b) => this.tokens.example(b.instruction, b.target, 1));
    const length = Math.max(...examples.map((e) => e.inputIds.length));
    const B = batch.length;
    const embeds = this.newArray(B * length * H);
    const mask = new BigInt64Array(B * length);
    const positions = new BigInt64Array(B * length);
    const labels = new BigInt64Array(B * length).fill(-100n);
    const conceptPositions = new BigInt64Array(B);
    for (let b = 0; b < B; b++) {
      const example = examples[b];
      const embedded = await this.loop.embed(example.inputIds);
      const merged = this.loop.placeImageFeatures(example.inputIds, embedded, this.featuresWithConcepts(batch[b].features, [vector]));
      embeds.set(merged.data as FloatArray, b * length * H);
      for (let t = 0; t < length; t++) {
        positions[b * length + t] = BigInt(t);
        if (t < example.inputIds.length) {
          mask[b * length + t] = 1n;
          labels[b * length + t] = BigInt(example.labels[t]);
        }
      }
      conceptPositions[b] = BigInt(example.conceptPosition);
    }
    const { layers, kvHeads, headDim } = this.loop.config;
    const feeds: Record<string, ort.Tensor> = {
      inputs_embeds: new ort.Tensor(this.dtype, embeds, [B, length, H]),
      attention_mask: new ort.Tensor('int64', mask, [B, length]),
      position_ids: new ort.Tensor('int64', positions, [B, length]),
      [LOSS_INPUTS.labels]: new ort.Tensor('int64', labels, [B, length]),
      [LOSS_INPUTS.conceptPosition]: new ort.Tensor('int64', conceptPositions, [B]),
      [LOSS_INPUTS.attentionLambda]: new ort.Tensor(this.dtype, this.dtype === 'float64' ? Float64Array.of(lambda) : Float32Array.of(lambda), []),
    };
    for (let i = 0; i < layers; i++) {
      for (const part of ['key', 'value']) feeds[`past_key_values.${i}.${part}`] = new ort.Tensor(this.dtype, this.newArray(0), [B, kvHeads, 0, headDim]);
    }
    const session = await this.session();
    const out = await session.run(feeds);
    const gradients = out.inputs_embeds_grad.data as FloatArray;
    const gradient = new Float64Array(H);
    for (let b = 0; b < B; b++) {
      const at = (b * length + examples[b].conceptPosition) * H;
      accumulateVectorGradient(vector, batch[b].features.referenceNorm, gradients.subarray(at, at + H), gradient);
    }
    const value = (name: string) => Number((out[name].data as FloatArray)[0]);
    return { loss: value(LOSS_OUTPUTS.loss), captionLoss: value(LOSS_OUTPUTS.caption), attentionLoss: value(LOSS_OUTPUTS.attention), gradient };
  }

  async answer(request: AnswerRequest): Promise<string> {
    const concepts = request.concepts ?? [];
    const { ids } = this.tokens.promptIds(request.instruction, { withImage: Boolean(request.image), conceptRows: request.image ? concepts.length : 0 });
    const generation = await this.loop.generate({
      inputIds: ids,
      imageFeatures: request.image ? this.featuresWithConcepts(request.image, concepts) : undefined,
      maxNewTokens: request.maxNewTokens ?? 32,
    });
    return this.tokens.decode(generation.tokens);
  }

  async release(): Promise<void> {
    const teaching = this.teachingSession;
    this.teachingSession = undefined;
    await Promise.all([this.loop.release(), teaching?.then((s) => s.release())]);
  }
}
