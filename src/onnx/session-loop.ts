// The project's one generation loop over a three-graph VLM export
// (vision_encoder, embed_tokens, decoder_model_merged), driven directly with
// onnxruntime-node. It exposes every stage (encode the image, embed tokens,
// place image features, prefill, step) so that concept injection can append
// rows to the image features and teaching can reuse the pieces. Tensors cross
// into a graph in the type it declares (float16, float32 or float64) and come
// back as float32 (float64 for float64 graphs), so exports in any precision
// run with the same code. Generation runs one sequence at a time; a teaching
// step's shared prefix is cached for a whole batch at once.
import * as ort from 'onnxruntime-node';
import { InternalError, OperatorError } from '../errors.ts';
import { floatData, floatTensor, inputType, type FloatArray } from './runtime.ts';
import { int64Values } from './tensor.ts';

/** The three sessions of a VLM export. */
export interface VlmSessions {
  visionEncoder: ort.InferenceSession;
  embedTokens: ort.InferenceSession;
  decoder: ort.InferenceSession;
}

/** What the loop needs to know about the language model (from config.json; cache sizes from the graph where it fixes them). */
export interface VlmLoopConfig {
  layers: number;
  kvHeads: number;
  headDim: number;
  /** Token id whose positions receive image-feature rows. */
  imageTokenId: number;
  /** Generation stops after any of these. */
  eosTokenIds: number[];
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
  /** Chooses the next token from the last position's logits (one call per step, the prefill's first); default greedy (`argmax`). */
  pickToken?: (logits: FloatArray) => number;
  /** Called with each new token as it is chosen. */
  onToken?: (token: number) => void;
}

/** Output of `generate`. */
export interface Generation {
  /** New tokens only (the final stop token included when one was produced). */
  tokens: number[];
  stoppedBy: 'eos' | 'length';
}

/** Reads the loop settings from an export's config.json (and generation_config.json when present). */
export function loopConfigFromJson(
  config: Record<string, unknown>,
  generation: Record<string, unknown> = {},
): VlmLoopConfig {
  const text = (config.text_config ?? config) as Record<string, unknown>;
  const num = (value: unknown, name: string): number => {
    if (typeof value !== 'number' || !Number.isFinite(value))
      throw new OperatorError(`The model's config.json has no usable "${name}".`);
    return value;
  };
  const heads = num(text.num_attention_heads, 'num_attention_heads');
  const eos = generation.eos_token_id ?? text.eos_token_id ?? config.eos_token_id;
  return {
    layers: num(text.num_hidden_layers, 'num_hidden_layers'),
    kvHeads: num(text.num_key_value_heads ?? heads, 'num_key_value_heads'),
    headDim: num(text.head_dim ?? num(text.hidden_size, 'hidden_size') / heads, 'head_dim'),
    imageTokenId: num(config.image_token_index ?? config.image_token_id, 'image_token_index'),
    eosTokenIds: Array.isArray(eos)
      ? eos.map((e) => num(e, 'eos_token_id'))
      : eos === undefined
        ? []
        : [num(eos, 'eos_token_id')],
  };
}

function int64Tensor(values: readonly number[], dims: readonly number[]): ort.Tensor {
  return new ort.Tensor('int64', int64Values(values), dims);
}

/** The last position's logits of a [1, positions, vocab] tensor. */
export function lastLogits(logits: ort.Tensor): FloatArray {
  const vocab = logits.dims[2];
  const data = floatData(logits);
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
  /** Whether the decoder takes position_ids (the onnxruntime-genai builder's decoders derive them from the mask). */
  private readonly positionIds: boolean;
  private readonly cacheType: ort.Tensor.Type;
  private readonly cacheShape: { kvHeads: number; headDim: number };

  constructor(
    readonly sessions: VlmSessions,
    readonly config: VlmLoopConfig,
  ) {
    const decoder = sessions.decoder;
    for (const name of ['inputs_embeds', 'attention_mask']) {
      if (!decoder.inputNames.includes(name))
        throw new OperatorError(
          `The decoder has no "${name}" input (it has ${decoder.inputNames.join(', ')}); the VLM needs a decoder that takes inputs_embeds.`,
        );
    }
    this.positionIds = decoder.inputNames.includes('position_ids');
    const past = decoder.inputMetadata.find((m) => m.name === 'past_key_values.0.key');
    if (!past || !past.isTensor)
      throw new OperatorError(
        'The decoder has no past_key_values.0.key input; the VLM needs a decoder with a KV cache (decoder_model_merged).',
      );
    this.cacheType = past.type;
    // Exports that write the head count and size into the graph (the genai builder does) win over config.json.
    const [, heads, , size] = past.shape;
    this.cacheShape = {
      kvHeads: typeof heads === 'number' ? heads : config.kvHeads,
      headDim: typeof size === 'number' ? size : config.headDim,
    };
  }

  /** pixel_values [1, 3, S, S] (float32) -> image_features [1, rows, hidden] as float32 (float64 for float64 graphs). */
  async encodeImage(pixelValues: ort.Tensor): Promise<ort.Tensor> {
    const session = this.sessions.visionEncoder;
    const feed = floatTensor(inputType(session, 'pixel_values'), floatData(pixelValues), pixelValues.dims);
    const out = (await session.run({ pixel_values: feed })).image_features;
    const data = floatData(out);
    return new ort.Tensor(data instanceof Float64Array ? 'float64' : 'float32', data, out.dims);
  }

  /** Token ids -> inputs_embeds [1, ids, hidden], as float32 (float64 for float64 graphs). */
  async embed(inputIds: readonly number[]): Promise<ort.Tensor> {
    const out = (await this.sessions.embedTokens.run({ input_ids: int64Tensor(inputIds, [1, inputIds.length]) }))
      .inputs_embeds;
    const data = floatData(out);
    return new ort.Tensor(data instanceof Float64Array ? 'float64' : 'float32', data, out.dims);
  }

  /**
   * Writes image-feature rows, in order, over the embeddings at the image
   * placeholder positions. The counts must match: one placeholder per row
   * (concept rows included).
   */
  placeImageFeatures(inputIds: readonly number[], inputsEmbeds: ort.Tensor, imageFeatures: ort.Tensor): ort.Tensor {
    const hidden = inputsEmbeds.dims[2];
    const features = floatData(imageFeatures);
    const rows = features.length / hidden;
    const positions = inputIds.flatMap((id, i) => (id === this.config.imageTokenId ? [i] : []));
    if (positions.length !== rows || imageFeatures.dims[imageFeatures.dims.length - 1] !== hidden) {
      throw new OperatorError(
        `The prompt has ${positions.length} image placeholders but the image gives ${rows} feature rows ` +
          `of width ${imageFeatures.dims.at(-1)} (model width ${hidden}).`,
      );
    }
    const merged = floatData(inputsEmbeds).slice();
    positions.forEach((position, row) =>
      merged.set(features.subarray(row * hidden, (row + 1) * hidden), position * hidden),
    );
    return new ort.Tensor(merged instanceof Float64Array ? 'float64' : 'float32', merged, inputsEmbeds.dims);
  }

  /** A cache with no positions yet, of `batch` sequences. */
  emptyCache(batch = 1): KvCache {
    const tensors: Record<string, ort.Tensor> = {};
    const { kvHeads, headDim } = this.cacheShape;
    for (let i = 0; i < this.config.layers; i++) {
      for (const part of ['key', 'value'])
        tensors[`past_key_values.${i}.${part}`] = floatTensor(this.cacheType, new Float32Array(0), [
          batch,
          kvHeads,
          0,
          headDim,
        ]);
    }
    return { length: 0, tensors };
  }

  /**
   * The decoder's feeds besides the embeddings and the cache: the mask, and
   * positions where the decoder takes them. With `lengths`, each sequence's
   * new positions past its length are padding. They are masked, except after
   * a cache in a decoder that derives positions from the mask (the
   * onnxruntime-genai builder's GroupQueryAttention reads each sequence's
   * cached length as its mask's sum minus the new positions, so masked padding
   * would shift its cache). Unmasked padding at the end changes no real
   * position's output: attention is causal.
   */
  positionFeeds(
    batch: number,
    positions: number,
    past: number,
    lengths?: readonly number[],
  ): Record<string, ort.Tensor> {
    const total = past + positions;
    const padded = lengths && (this.positionIds || past === 0) ? lengths : undefined;
    const mask = Array.from({ length: batch * total }, (_, i) =>
      padded && i % total >= past + padded[Math.floor(i / total)] ? 0 : 1,
    );
    const feeds: Record<string, ort.Tensor> = { attention_mask: int64Tensor(mask, [batch, total]) };
    if (this.positionIds)
      feeds.position_ids = int64Tensor(
        Array.from({ length: batch * positions }, (_, i) => past + (i % positions)),
        [batch, positions],
      );
    return feeds;
  }

  /** `inputs_embeds` as the decoder declares it (float16 exports that keep float16 inputs get float16). */
  decoderEmbeds(data: FloatArray, dims: readonly number[]): ort.Tensor {
    return floatTensor(inputType(this.sessions.decoder, 'inputs_embeds'), data, dims);
  }

  /**
   * One decoder call over `inputsEmbeds` [1, n, hidden] after the cached
   * positions: positions continue from the cache, nothing is masked.
   */
  async forward(inputsEmbeds: ort.Tensor, cache: KvCache): Promise<DecoderStep> {
    const out = await this.run(inputsEmbeds, cache, this.sessions.decoder.outputNames);
    return { logits: out.logits, cache: this.presentCache(out, cache.length + inputsEmbeds.dims[1]) };
  }

  /**
   * The cache after `inputsEmbeds` [batch, n, hidden] with nothing cached
   * before and nothing masked (a teaching step's shared prefix), run on
   * `session`: a copy of the decoder that outputs only the cache (the
   * decoder itself would also compute logits at every position).
   */
  async prefixCache(inputsEmbeds: ort.Tensor, session: ort.InferenceSession): Promise<KvCache> {
    const empty = this.emptyCache(inputsEmbeds.dims[0]);
    const out = await this.run(
      inputsEmbeds,
      empty,
      session.outputNames.filter((name) => name.startsWith('present.')),
      session,
    );
    return this.presentCache(out, inputsEmbeds.dims[1]);
  }

  private run(
    inputsEmbeds: ort.Tensor,
    cache: KvCache,
    fetches: readonly string[],
    session = this.sessions.decoder,
  ): Promise<ort.InferenceSession.ReturnType> {
    const [batch, n] = inputsEmbeds.dims;
    const feeds: Record<string, ort.Tensor> = {
      inputs_embeds: this.decoderEmbeds(floatData(inputsEmbeds), inputsEmbeds.dims),
      ...this.positionFeeds(batch, n, cache.length),
      ...cache.tensors,
    };
    return session.run(feeds, fetches);
  }

  private presentCache(out: ort.InferenceSession.ReturnType, length: number): KvCache {
    const tensors: Record<string, ort.Tensor> = {};
    for (let i = 0; i < this.config.layers; i++) {
      tensors[`past_key_values.${i}.key`] = out[`present.${i}.key`];
      tensors[`past_key_values.${i}.value`] = out[`present.${i}.value`];
    }
    return { length, tensors };
  }

  /** Embeds the prompt, places the image (pixels or ready features) and runs the decoder over it. */
  async prefill(request: Pick<GenerateRequest, 'inputIds' | 'pixelValues' | 'imageFeatures'>): Promise<DecoderStep> {
    let embeds = await this.embed(request.inputIds);
    const features =
      request.imageFeatures ?? (request.pixelValues ? await this.encodeImage(request.pixelValues) : undefined);
    if (features) embeds = this.placeImageFeatures(request.inputIds, embeds, features);
    else if (request.inputIds.includes(this.config.imageTokenId))
      throw new InternalError('The prompt has image placeholders but no image was given.');
    return this.forward(embeds, this.emptyCache());
  }

  /** Decoding with the KV cache (greedy unless `pickToken` says otherwise) until a stop token or `maxNewTokens`. */
  async generate(request: GenerateRequest): Promise<Generation> {
    const maxNewTokens = request.maxNewTokens ?? 32;
    const stopTokens = request.stopTokenIds ?? this.config.eosTokenIds;
    let step = await this.prefill(request);
    const tokens: number[] = [];
    for (;;) {
      const token = (request.pickToken ?? argmax)(lastLogits(step.logits));
      tokens.push(token);
      request.onToken?.(token);
      if (stopTokens.includes(token)) return { tokens, stoppedBy: 'eos' };
      if (tokens.length >= maxNewTokens) return { tokens, stoppedBy: 'length' };
      step = await this.forward(await this.embed([token]), step.cache);
    }
  }
}
