// LLaVA through transformers.js's own LlavaForConditionalGeneration: its
// sessions, its generate() (sampling, stopping, KV cache), untouched. The only
// change is a hook on the loaded instance's image-feature merge, which appends
// the concept rows to the projected image features when a request carries
// concepts; the prompt then holds one more image placeholder per concept.
import { AutoModelForImageTextToText, BaseStreamer, random, Tensor } from '@huggingface/transformers';
import type { InferenceSession } from 'onnxruntime-node';
import { UserError } from '../../errors.ts';
import { moduleLogger } from '../../log.ts';
import { appendConceptRows } from '../injection.ts';
import { expandPlaceholder, type EngineRequest, type EngineResult, type GenerationEngine } from '../engine.ts';

const logger = moduleLogger('vlm');

/** What the merge receives from transformers.js's generic image-text forward. */
interface MergeArgs {
  image_features: Tensor;
  inputs_embeds: Tensor;
  input_ids: Tensor;
  attention_mask: Tensor;
}

/** The parts of a loaded LLaVA model this engine touches. */
interface LlavaModel {
  sessions: Record<string, InferenceSession>;
  config: Record<string, unknown>;
  generation_config?: { eos_token_id?: number | number[] | null };
  encode_image(inputs: { pixel_values: Tensor }): Promise<Tensor>;
  _merge_input_ids_with_image_features(kwargs: MergeArgs): { inputs_embeds: Tensor; attention_mask: Tensor };
  generate(options: Record<string, unknown>): Promise<unknown>;
  dispose(): Promise<unknown>;
}

/** The concept rows of the request being generated, read by the merge hook. */
interface PendingInjection {
  concepts: readonly Float32Array[];
  scale: EngineRequest['conceptScale'];
  norm: number;
}

/** Reports each new token of generate() (the first `put` is the prompt itself). */
class TokenStreamer extends BaseStreamer {
  private seenPrompt = false;
  constructor(private readonly onToken: (token: number) => void) {
    super();
  }
  override put(value: bigint[][]): void {
    if (!this.seenPrompt) {
      this.seenPrompt = true;
      return;
    }
    for (const row of value) for (const token of row) this.onToken(Number(token));
  }
  override end(): void {}
}

/** Options for loading: which file of each graph, and where it runs. */
export interface TransformersLlavaOptions {
  /** transformers.js dtype per session (`fp32`, `q4`, `int8`...), from the graph file names. */
  dtype: Record<'vision_encoder' | 'embed_tokens' | 'decoder_model_merged', string>;
  device: 'cpu' | 'cuda' | 'webgpu';
  /** Threads inside one operator; 0 lets ONNX Runtime choose. */
  intraOpThreads: number;
}

function eosIds(value: number | number[] | null | undefined): number[] {
  if (value === null || value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** LLaVA on transformers.js, with concept rows appended at the image-feature merge. */
export class TransformersLlavaEngine implements GenerationEngine {
  readonly runtime = 'transformers.js' as const;
  private pending: PendingInjection | null = null;

  private constructor(
    private readonly model: LlavaModel,
    readonly hiddenSize: number,
    readonly imageTokenId: number,
    readonly eosTokenIds: readonly number[],
    /** Image-feature rows the vision encoder gives for one photo. */
    private readonly imageRows: number,
  ) {
    const original = model._merge_input_ids_with_image_features.bind(model);
    model._merge_input_ids_with_image_features = (kwargs) => original(this.withConcepts(kwargs));
  }

  /**
   * Loads the model from a folder. `probe` is a processed blank photo: one
   * vision pass tells how many image rows (and of what width) every photo
   * gives, which the prompt's placeholders must match.
   */
  static async open(dir: string, options: TransformersLlavaOptions, probe: Tensor): Promise<TransformersLlavaEngine> {
    let model: LlavaModel;
    try {
      model = (await AutoModelForImageTextToText.from_pretrained(dir, {
        dtype: options.dtype as never,
        device: options.device,
        local_files_only: true,
        session_options: options.intraOpThreads > 0 ? { intraOpNumThreads: options.intraOpThreads } : {},
      })) as unknown as LlavaModel;
    } catch (cause) {
      throw new UserError(`transformers.js could not load the LLaVA model in ${dir}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    }
    if (typeof model._merge_input_ids_with_image_features !== 'function' || !model.sessions.vision_encoder) {
      await model.dispose();
      throw new UserError(`The model in ${dir} loaded as ${(model as object).constructor.name}, which is not a LLaVA model with a vision encoder.`);
    }
    const features = await model.encode_image({ pixel_values: probe });
    if (features.type !== 'float32') {
      await model.dispose();
      throw new UserError(`The vision encoder in ${dir} gives ${features.type} features; concept tokens need a float32 vision encoder (choose another precision).`);
    }
    const hidden = features.dims[features.dims.length - 1];
    const rows = features.data.length / hidden;
    const imageTokenId = Number(model.config.image_token_index ?? model.config.image_token_id);
    if (!Number.isInteger(imageTokenId)) throw new UserError(`The config.json in ${dir} has no image_token_index.`);
    return new TransformersLlavaEngine(model, hidden, imageTokenId, eosIds(model.generation_config?.eos_token_id), rows);
  }

  /** The merge hook: appends the pending request's concept rows after the image rows. */
  private withConcepts(kwargs: MergeArgs): MergeArgs {
    const pending = this.pending;
    if (!pending || pending.concepts.length === 0) return kwargs;
    const hidden = kwargs.image_features.dims[kwargs.image_features.dims.length - 1];
    const features = kwargs.image_features.data as Float32Array;
    const rows = features.length / hidden;
    if (rows !== this.imageRows) throw new UserError(`This photo gave ${rows} image rows where the model's other photos give ${this.imageRows}; photos of varying size are not supported with concept tokens.`);
    const { features: extended, norm } = appendConceptRows(features, rows, hidden, pending.concepts, pending.scale);
    pending.norm = norm;
    return { ...kwargs, image_features: new Tensor('float32', extended, [rows + pending.concepts.length, hidden]) };
  }

  async generate(request: EngineRequest): Promise<EngineResult> {
    const ids = expandPlaceholder(request.inputIds, this.imageTokenId, this.imageRows + request.concepts.length);
    const inputIds = new Tensor('int64', BigInt64Array.from(ids, (v) => BigInt(v)), [1, ids.length]);
    const attentionMask = new Tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]);
    const pending: PendingInjection = { concepts: request.concepts, scale: request.conceptScale, norm: 0 };
    this.pending = pending;
    // transformers.js samples from its global generator; seeding it right before generate() makes the draw repeatable.
    random.seed(request.seed);
    try {
      const sequences = (await this.model.generate({
        input_ids: inputIds,
        attention_mask: attentionMask,
        pixel_values: request.pixelValues,
        max_new_tokens: request.maxNewTokens,
        do_sample: request.choice.sample,
        temperature: request.choice.temperature,
        top_p: request.choice.topP,
        eos_token_id: [...request.stopTokenIds],
        streamer: request.onToken ? new TokenStreamer(request.onToken) : null,
      })) as Tensor;
      const tokens = Array.from(sequences.data as BigInt64Array, Number).slice(ids.length);
      const last = tokens[tokens.length - 1];
      return {
        tokens,
        stoppedBy: last !== undefined && request.stopTokenIds.includes(last) ? 'eos' : 'length',
        promptTokens: ids.length,
        imageTokens: this.imageRows,
        conceptTokens: request.concepts.length,
        referenceNorm: pending.norm,
      };
    } finally {
      this.pending = null;
    }
  }

  async dispose(): Promise<void> {
    await this.model.dispose().catch((error: unknown) => logger.warn({ err: error }, 'releasing the LLaVA sessions failed'));
  }
}
