// A VLM export as a TeachableVlm: the same export object answering opens
// (prompt renderer, image processor, sessions from the pool), plus the
// teaching and prefix graphs derived from its decoder (teaching-graph.ts). Photos go
// through the model's own image processor, prompts through its own chat
// template, concept rows through the injection code answering uses: a
// concept is trained exactly as it is later injected.
import * as ort from 'onnxruntime-node';
import type { RgbImage } from '../image/decode.ts';
import { floatData, floatTensor, inputType, type FloatArray } from '../onnx/runtime.ts';
import { generate } from '../vlm/export/generation.ts';
import { VlmExport } from '../vlm/export/vlm-export.ts';
import type { GraphDtypes } from '../onnx/layout.ts';
import type { VlmDtype } from '../config/settings.ts';
import { DEFAULT_RUNTIME, SessionPool, type RuntimeOptions } from '../models/session.ts';
import { accumulateVectorGradient } from './concept-vector.ts';
import { LOSS_INPUTS, LOSS_OUTPUTS, type AttentionDirection } from './loss-graph.ts';
import { ensurePrefixGraph, ensureTeachingGraph } from './teaching-graph.ts';
import type { AnswerRequest, ImageFeatures, StepResult, TeachableVlm, TrainingExample } from './teachable.ts';

/** Options of a teachable export; defaults in the comments. */
export interface TeachableExportOptions {
  /** Where teaching graphs are cached (the model cache, MYVLM_CACHE_DIR). */
  cacheDir: string;
  /** Attention regularization direction (default the authors' 'row'). */
  direction?: AttentionDirection;
  /**
   * Whether the positions before the concept token run forward only, through
   * the decoder's prefix graph, and reach the teaching graph as its cache
   * (default true). False runs whole sequences through the teaching
   * graph: the reference the cached prefix is checked against.
   */
  prefixCache?: boolean;
}

/** Decoder precisions whose weights are plain floats (the quantized kernels keep their packed weights anyway). */
const FLOAT_DTYPES: ReadonlySet<VlmDtype> = new Set(['fp32', 'fp16']);

/** Opening an export folder for teaching on sessions of its own. */
export interface OpenTeachableOptions extends TeachableExportOptions {
  /** How sessions are made (default CPU, ONNX Runtime's thread choice). */
  runtime?: RuntimeOptions;
  /** Precision of the graphs (default the most exact present). */
  dtype?: VlmDtype | GraphDtypes | null;
}

/** An export that concept embeddings can be taught on. */
export class TeachableExport implements TeachableVlm {
  private derived: Promise<{ teaching: ort.InferenceSession; prefix: ort.InferenceSession }> | undefined;
  private readonly buffers = new Map<'prefix' | 'suffix', FloatArray>();

  private constructor(
    readonly model: VlmExport,
    private readonly options: TeachableExportOptions,
  ) {}

  /**
   * Opens `dir` with a session pool of its own, made with `runtime` (a lesson
   * runs on its own thread, and ONNX Runtime runs block the calling thread);
   * `release()` closes them all.
   */
  static async open(dir: string, options: OpenTeachableOptions): Promise<TeachableExport> {
    const sessions = new SessionPool(options.runtime ?? DEFAULT_RUNTIME);
    try {
      return new TeachableExport(await VlmExport.open(dir, { sessions, dtype: options.dtype ?? null }), options);
    } catch (error) {
      await sessions.dispose();
      throw error;
    }
  }

  get hiddenSize(): number {
    return this.model.hiddenSize;
  }

  async imageFeatures(image: RgbImage): Promise<ImageFeatures> {
    return (await this.model.features(image)).features;
  }

  /**
   * The sessions of the graphs teaching derives from the decoder (the
   * teaching graph and the prefix graph), built and opened on first use
   * through the export's session pool. Both read the decoder file's weights
   * in place, mapped rather than copied. Float weights are read as they are:
   * a prepacked copy of each would double the decoder in memory.
   */
  private sessions(): Promise<{ teaching: ort.InferenceSession; prefix: ort.InferenceSession }> {
    const { model, options } = this;
    const open = (file: string) =>
      model.sessions.get(file, {
        optimization: model.float64 ? 'basic' : 'all',
        prepacking: !FLOAT_DTYPES.has(model.dtypes.decoder),
        arena: false,
      });
    this.derived ??= Promise.all([
      ensureTeachingGraph(model.decoderFile, options.cacheDir, options.direction ?? 'row').then(open),
      ensurePrefixGraph(model.decoderFile, options.cacheDir).then(open),
    ]).then(([teaching, prefix]) => ({ teaching, prefix }));
    return this.derived;
  }

  /**
   * One batch's loss and gradient. Everything before the first concept token
   * (the system prompt and the image rows) does not depend on the concept
   * vector: it runs once, forward only, through the decoder without its head
   * (the prefix graph), and the teaching graph reads its key/value cache as
   * its past. Only the rest (the concept row, the instruction and the answer)
   * goes through the teaching graph's forward and backward. The loss and the
   * gradient are those of the whole sequence: attention is causal.
   */
  async lossAndGradient(batch: readonly TrainingExample[], vector: Float64Array, lambda: number): Promise<StepResult> {
    if (batch.length === 0) throw new RangeError('an empty batch has no loss');
    const { model } = this;
    const H = model.hiddenSize;
    const B = batch.length;
    const examples = batch.map((b) => model.prompts.example(b.instruction, b.target, 1));
    const prefix =
      this.options.prefixCache === false ? 0 : Math.max(0, Math.min(...examples.map((e) => e.conceptPosition)));
    const lengths = examples.map((e) => e.ids.length - prefix);
    const length = Math.max(...lengths);
    const prefixRows = this.buffer('prefix', B * prefix * H);
    const suffixRows = this.buffer('suffix', B * length * H);
    // Right padding: causal attention keeps it out of every real position.
    const labels = new BigInt64Array(B * length).fill(-100n);
    for (let b = 0; b < B; b++) {
      const example = examples[b];
      const rows = floatData(
        model.loop.placeImageFeatures(
          example.ids,
          await model.loop.embed(example.ids),
          model.withConcepts(batch[b].features, [vector]),
        ),
      );
      prefixRows.set(rows.subarray(0, prefix * H), b * prefix * H);
      suffixRows.set(rows.subarray(prefix * H), b * length * H);
      suffixRows.fill(0, (b * length + lengths[b]) * H, (b + 1) * length * H);
      for (let t = prefix; t < example.labels.length; t++) labels[b * length + t - prefix] = BigInt(example.labels[t]);
    }
    const rowType = model.float64 ? 'float64' : 'float32';
    const sessions = await this.sessions();
    const cache =
      prefix > 0
        ? await model.loop.prefixCache(new ort.Tensor(rowType, prefixRows, [B, prefix, H]), sessions.prefix)
        : model.loop.emptyCache(B);
    const session = sessions.teaching;
    const feeds: Record<string, ort.Tensor> = {
      inputs_embeds: floatTensor(inputType(session, 'inputs_embeds'), suffixRows, [B, length, H]),
      ...model.loop.positionFeeds(B, length, prefix, lengths),
      ...cache.tensors,
      [LOSS_INPUTS.labels]: new ort.Tensor('int64', labels, [B, length]),
      [LOSS_INPUTS.conceptPosition]: new ort.Tensor(
        'int64',
        BigInt64Array.from(examples, (e) => BigInt(e.conceptPosition - prefix)),
        [B],
      ),
      [LOSS_INPUTS.attentionLambda]: floatTensor(rowType, [lambda], []),
    };
    const out = await session.run(feeds);
    const gradients = floatData(out[LOSS_OUTPUTS.embedsGradient]);
    const gradient = new Float64Array(H);
    for (let b = 0; b < B; b++) {
      const at = (b * length + examples[b].conceptPosition - prefix) * H;
      accumulateVectorGradient(vector, batch[b].features.referenceNorm, gradients.subarray(at, at + H), gradient);
    }
    const value = (name: string) => Number(floatData(out[name])[0]);
    return {
      loss: value(LOSS_OUTPUTS.loss),
      captionLoss: value(LOSS_OUTPUTS.caption),
      attentionLoss: value(LOSS_OUTPUTS.attention),
      gradient,
    };
  }

  /** A row buffer kept from step to step (the model's float type), reallocated only when a step needs another size. */
  private buffer(name: 'prefix' | 'suffix', size: number): FloatArray {
    const kept = this.buffers.get(name);
    if (kept && kept.length === size) return kept;
    const fresh = this.model.float64 ? new Float64Array(size) : new Float32Array(size);
    this.buffers.set(name, fresh);
    return fresh;
  }

  async answer(request: AnswerRequest): Promise<string> {
    const { model } = this;
    const concepts = request.image ? (request.concepts ?? []) : [];
    const prompt = model.prompts.prompt(request.instruction, {
      withImage: Boolean(request.image),
      conceptRows: concepts.length,
    });
    const result = await generate(model, {
      prompt,
      features: request.image ?? null,
      concepts,
      choice: { sample: false, temperature: 1, topP: 1 },
      seed: 0,
      maxNewTokens: request.maxNewTokens ?? 32,
      stopTokenIds: model.prompts.stopTokenIds,
    });
    const body = result.stoppedBy === 'eos' ? result.tokens.slice(0, -1) : result.tokens;
    return model.prompts.decode(body);
  }

  /** Closes every session this export opened. */
  async release(): Promise<void> {
    this.derived = undefined;
    await this.model.sessions.dispose();
  }
}
