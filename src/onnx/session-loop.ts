// The project's own generation loop over a three-graph VLM export
// (vision_encoder, embed_tokens, decoder_model_merged), driven directly with
// onnxruntime-node. It exposes every stage (encode the image, embed tokens,
// place image features, prefill, step) so that concept injection can append
// rows to the image features and the teaching code can reuse the pieces.
// One sequence at a time (batch 1); greedy unless the caller picks tokens.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { UserError } from '../errors.ts';
import { VLM_GRAPH_FILES } from './layout.ts';
import { int64Values } from './tensor.ts';
import { sessionOptionsFor } from './runtime.ts';

/** The three sessions of a VLM export. */
export interface VlmSessions {
  visionEncoder: ort.InferenceSession;
  embedTokens: ort.InferenceSession;
  decoder: ort.InferenceSession;
}

/** What the loop needs to know about the language model. */
export interface VlmLoopConfig {
  layers: number;
  kvHeads: number;
  headDim: number;
  /** Token id whose positions receive image-feature rows. */
  imageTokenId: number;
  /** Generation stops after any of these. */
  eosTokenIds: number[];
  /** Floating type of embeddings, cache and logits. */
  dtype: 'float32' | 'float64';
}

/** The decoder's key/value cache after `length` positions. */
export interface KvCache {
  length: number;
  /** `past_key_values.N.key/value` tensors, [1, kvHeads, length, headDim]. */
  tensors: Record<string, ort.Tensor>;
}

/** One decoder call's result. */
export interface DecoderStep {
  /** [1, positions, vocab] */
  logits: ort.Tensor;
  cache: KvCache;
}

/** Input of `generate`: token ids with image placeholders already expanded, and the image. */
export interface GenerateRequest {
  inputIds: readonly number[];
  /** [1, 3, S, S] pixels, or... */
  pixelValues?: ort.Tensor;
  /** ...image features computed (and possibly extended with concept rows) by the caller, [rows, hidden] or [1, rows, hidden]. */
  imageFeatures?: ort.Tensor;
  /** Default 32. */
  maxNewTokens?: number;
  /** Tokens that end generation; default the model's eos ids ([] generates exactly `maxNewTokens`). */
  stopTokenIds?: readonly number[];
  /** Chooses the next token from the last position's logits; default greedy (`argmax`). */
  pickToken?: (logits: Float32Array | Float64Array) => number;
  /** Called with each new token as it is chosen. */
  onToken?: (token: number) => void;
}

/** Output of `generate`. */
export interface Generation {
  /** New tokens only (the final stop token included when one was produced). */
  tokens: number[];
  stoppedBy: 'eos' | 'length';
  /** Logits of every decoder call's last position, [vocab] each (the prefill's first). */
  stepLogits: (Float32Array | Float64Array)[];
}

type FloatArray = Float32Array | Float64Array;

/** Reads the loop settings from an export's config.json (and generation_config.json when present). */
export function loopConfigFromJson(config: Record<string, unknown>, generation: Record<string, unknown> = {}): VlmLoopConfig {
  const text = (config.text_config ?? config) as Record<string, unknown>;
  const num = (value: unknown, name: string): number => {
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new UserError(`The model's config.json has no usable "${name}".`);
    return value;
  };
  const heads = num(text.num_attention_heads, 'num_attention_heads');
  const eos = generation.eos_token_id ?? text.eos_token_id ?? config.eos_token_id;
  const dtype = (text.torch_dtype ?? config.torch_dtype) === 'float64' ? 'float64' : 'float32';
  return {
    layers: num(text.num_hidden_layers, 'num_hidden_layers'),
    kvHeads: num(text.num_key_value_heads ?? heads, 'num_key_value_heads'),
    headDim: num(text.head_dim ?? num(text.hidden_size, 'hidden_size') / heads, 'head_dim'),
    imageTokenId: num(config.image_token_index ?? config.image_token_id, 'image_token_index'),
    eosTokenIds: Array.isArray(eos) ? eos.map((e) => num(e, 'eos_token_id')) : eos === undefined ? [] : [num(eos, 'eos_token_id')],
    dtype,
  };
}

/** Replaces each single placeholder by `count` copies (the expansion LLaVA's processor does). */
export function expandImagePlaceholder(inputIds: readonly number[], imageTokenId: number, count: number): number[] {
  return inputIds.flatMap((id) => (id === imageTokenId ? Array.from({ length: count }, () => imageTokenId) : [id]));
}

function int64Tensor(values: readonly number[], dims: readonly number[]): ort.Tensor {
  return new ort.Tensor('int64', int64Values(values), dims);
}

/** The last position's logits of a [1, positions, vocab] tensor. */
export function lastLogits(logits: ort.Tensor): FloatArray {
  const vocab = logits.dims[2];
  const data = logits.data as FloatArray;
  return data.slice(data.length - vocab);
}

/** Index of the largest value (the first one on ties). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** Generation (greedy by default) and its stages over the three sessions of a VLM. */
export class VlmSessionLoop {
  constructor(
    readonly sessions: VlmSessions,
    readonly config: VlmLoopConfig,
  ) {}

  /**
   * Opens an export directory (`config.json` + `onnx/*.onnx`). `createSession`
   * lets the caller route through its session pool; default: a fresh CPU
   * session with `sessionOptionsFor` the model's float type (float64 models
   * need it).
   */
  static async open(dir: string, options: { createSession?: (file: string) => Promise<ort.InferenceSession> } = {}): Promise<VlmSessionLoop> {
    const readJson = async (name: string, required: boolean): Promise<Record<string, unknown>> => {
      try {
        return JSON.parse(await readFile(path.join(dir, name), 'utf8')) as Record<string, unknown>;
      } catch (cause) {
        if (!required && (cause as NodeJS.ErrnoException).code === 'ENOENT') return {};
        throw new UserError(`Cannot read ${name} of the model in ${dir}.`, { cause });
      }
    };
    const config = loopConfigFromJson(await readJson('config.json', true), await readJson('generation_config.json', false));
    const create = options.createSession ?? ((file: string) => ort.InferenceSession.create(file, sessionOptionsFor(config.dtype)));
    const [visionEncoder, embedTokens, decoder] = await Promise.all(
      [VLM_GRAPH_FILES.visionEncoder, VLM_GRAPH_FILES.embedTokens, VLM_GRAPH_FILES.decoder].map((f) => create(path.join(dir, f))),
    );
    return new VlmSessionLoop({ visionEncoder, embedTokens, decoder }, config);
  }

  /** pixel_values [1, 3, S, S] -> image_features [1, tokens, hidden]. */
  async encodeImage(pixelValues: ort.Tensor): Promise<ort.Tensor> {
    const out = await this.sessions.visionEncoder.run({ pixel_values: pixelValues });
    return out.image_features;
  }

  /** Token ids -> inputs_embeds [1, ids, hidden]. */
  async embed(inputIds: readonly number[]): Promise<ort.Tensor> {
    const out = await this.sessions.embedTokens.run({ input_ids: int64Tensor(inputIds, [1, inputIds.length]) });
    return out.inputs_embeds;
  }

  /**
   * Writes image-feature rows, in order, over the embeddings at the image
   * placeholder positions. The counts must match: one placeholder per row
   * (concept rows included).
   */
  placeImageFeatures(inputIds: readonly number[], inputsEmbeds: ort.Tensor, imageFeatures: ort.Tensor): ort.Tensor {
    const hidden = inputsEmbeds.dims[2];
    const features = imageFeatures.data as FloatArray;
    const rows = features.length / hidden;
    const positions = inputIds.flatMap((id, i) => (id === this.config.imageTokenId ? [i] : []));
    if (positions.length !== rows || imageFeatures.dims[imageFeatures.dims.length - 1] !== hidden) {
      throw new UserError(`The prompt has ${positions.length} image placeholders but the image gives ${rows} feature rows of width ${imageFeatures.dims.at(-1)} (model width ${hidden}).`);
    }
    const merged = (inputsEmbeds.data as FloatArray).slice();
    positions.forEach((position, row) => merged.set(features.subarray(row * hidden, (row + 1) * hidden), position * hidden));
    return new ort.Tensor(inputsEmbeds.type as 'float32' | 'float64', merged, inputsEmbeds.dims);
  }

  /** A cache with no positions yet. */
  emptyCache(): KvCache {
    const tensors: Record<string, ort.Tensor> = {};
    const { layers, kvHeads, headDim, dtype } = this.config;
    for (let i = 0; i < layers; i++) {
      for (const part of ['key', 'value']) {
        tensors[`past_key_values.${i}.${part}`] = new ort.Tensor(dtype, dtype === 'float64' ? new Float64Array(0) : new Float32Array(0), [1, kvHeads, 0, headDim]);
      }
    }
    return { length: 0, tensors };
  }

  /**
   * One decoder call over `inputsEmbeds` [1, n, hidden] after the cached
   * positions: positions continue from the cache, nothing is masked.
   */
  async forward(inputsEmbeds: ort.Tensor, cache: KvCache): Promise<DecoderStep> {
    const n = inputsEmbeds.dims[1];
    const total = cache.length + n;
    const feeds: Record<string, ort.Tensor> = {
      inputs_embeds: inputsEmbeds,
      attention_mask: int64Tensor(new Array<number>(total).fill(1), [1, total]),
      position_ids: int64Tensor(Array.from({ length: n }, (_, i) => cache.length + i), [1, n]),
      ...cache.tensors,
    };
    const out = await this.sessions.decoder.run(feeds);
    const tensors: Record<string, ort.Tensor> = {};
    for (let i = 0; i < this.config.layers; i++) {
      tensors[`past_key_values.${i}.key`] = out[`present.${i}.key`];
      tensors[`past_key_values.${i}.value`] = out[`present.${i}.value`];
    }
    return { logits: out.logits, cache: { length: total, tensors } };
  }

  /** Embeds the prompt, places the image (pixels or ready features) and runs the decoder over it. */
  async prefill(request: Pick<GenerateRequest, 'inputIds' | 'pixelValues' | 'imageFeatures'>): Promise<DecoderStep> {
    let embeds = await this.embed(request.inputIds);
    const features = request.imageFeatures ?? (request.pixelValues ? await this.encodeImage(request.pixelValues) : undefined);
    if (features) embeds = this.placeImageFeatures(request.inputIds, embeds, features);
    else if (request.inputIds.includes(this.config.imageTokenId)) throw new UserError('The prompt has image placeholders but no image was given.');
    return this.forward(embeds, this.emptyCache());
  }

  /** Decoding with the KV cache (greedy unless `pickToken` says otherwise) until a stop token or `maxNewTokens`. */
  async generate(request: GenerateRequest): Promise<Generation> {
    const maxNewTokens = request.maxNewTokens ?? 32;
    const stopTokens = request.stopTokenIds ?? this.config.eosTokenIds;
    let step = await this.prefill(request);
    const tokens: number[] = [];
    const stepLogits: FloatArray[] = [];
    for (;;) {
      const logits = lastLogits(step.logits);
      stepLogits.push(logits);
      const token = (request.pickToken ?? argmax)(logits);
      tokens.push(token);
      request.onToken?.(token);
      if (stopTokens.includes(token)) return { tokens, stoppedBy: 'eos', stepLogits };
      if (tokens.length >= maxNewTokens) return { tokens, stoppedBy: 'length', stepLogits };
      step = await this.forward(await this.embed([token]), step.cache);
    }
  }

  /** Releases the three sessions. */
  async release(): Promise<void> {
    await Promise.all([this.sessions.visionEncoder.release(), this.sessions.embedTokens.release(), this.sessions.decoder.release()]);
  }
}
