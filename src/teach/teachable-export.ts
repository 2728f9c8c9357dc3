// A VLM export as a TeachableVlm: the same export object answering opens
// (prompt renderer, image processor, sessions from the pool), plus the
// teaching graph derived from its decoder (teaching-graph.ts). Photos go
// through the model's own image processor, prompts through its own chat
// template, concept rows through the injection code answering uses: a
// concept is trained exactly as it is later injected.
import * as ort from 'onnxruntime-node';
import type { RgbImage } from '../image/decode.ts';
import { floatData, floatTensor, inputType } from '../onnx/runtime.ts';
import { generate } from '../vlm/export/generation.ts';
import { VlmExport } from '../vlm/export/vlm-export.ts';
import type { GraphDtypes, VlmDtype } from '../onnx/layout.ts';
import { DEFAULT_RUNTIME, SessionPool, type RuntimeOptions } from '../models/session.ts';
import { accumulateVectorGradient } from './concept-vector.ts';
import { LOSS_INPUTS, LOSS_OUTPUTS, type AttentionDirection } from './loss-graph.ts';
import { ensureTeachingGraph } from './teaching-graph.ts';
import type { AnswerRequest, ImageFeatures, StepResult, TeachableVlm, TrainingExample } from './teachable.ts';

/** Options of a teachable export; defaults in the comments. */
export interface TeachableExportOptions {
  /** Where teaching graphs are cached (the model cache, MYVLM_CACHE_DIR). */
  cacheDir: string;
  /** Attention regularization direction (default the authors' 'row'). */
  direction?: AttentionDirection;
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
  private teaching: Promise<{ file: string; session: ort.InferenceSession }> | undefined;

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

  /** The teaching graph's session, built and opened on first use through the export's session pool. */
  private session(): Promise<{ file: string; session: ort.InferenceSession }> {
    this.teaching ??= ensureTeachingGraph(this.model.decoderFile, this.options.cacheDir, this.options.direction ?? 'row').then(async (file) => ({
      file,
      // The backward pass reads float weights as they are: a prepacked second copy of each would double the decoder in memory.
      session: await this.model.sessions.get(file, { optimization: this.model.float64 ? 'basic' : 'all', prepacking: !FLOAT_DTYPES.has(this.model.dtypes.decoder), arena: false }),
    }));
    return this.teaching;
  }

  async lossAndGradient(batch: readonly TrainingExample[], vector: Float64Array, lambda: number): Promise<StepResult> {
    if (batch.length === 0) throw new RangeError('an empty batch has no loss');
    const { model } = this;
    const H = model.hiddenSize;
    const examples = batch.map((b) => model.prompts.example(b.instruction, b.target, 1));
    const lengths = examples.map((e) => e.ids.length);
    const length = Math.max(...lengths);
    const B = batch.length;
    const embeds = model.float64 ? new Float64Array(B * length * H) : new Float32Array(B * length * H);
    // Right padding: the causal mask keeps padding out of every real position.
    const labels = new BigInt64Array(B * length).fill(-100n);
    for (let b = 0; b < B; b++) {
      const example = examples[b];
      const merged = model.loop.placeImageFeatures(example.ids, await model.loop.embed(example.ids), model.withConcepts(batch[b].features, [vector]));
      embeds.set(floatData(merged), b * length * H);
      example.labels.forEach((label, t) => (labels[b * length + t] = BigInt(label)));
    }
    const { session } = await this.session();
    const lossType = model.float64 ? 'float64' : 'float32';
    const feeds: Record<string, ort.Tensor> = {
      inputs_embeds: floatTensor(inputType(session, 'inputs_embeds'), embeds, [B, length, H]),
      ...model.loop.positionFeeds(B, length, 0, lengths),
      ...model.loop.emptyCache(B).tensors,
      [LOSS_INPUTS.labels]: new ort.Tensor('int64', labels, [B, length]),
      [LOSS_INPUTS.conceptPosition]: new ort.Tensor('int64', BigInt64Array.from(examples, (e) => BigInt(e.conceptPosition)), [B]),
      [LOSS_INPUTS.attentionLambda]: floatTensor(lossType, [lambda], []),
    };
    const out = await session.run(feeds);
    const gradients = floatData(out[LOSS_OUTPUTS.embedsGradient]);
    const gradient = new Float64Array(H);
    for (let b = 0; b < B; b++) {
      const at = (b * length + examples[b].conceptPosition) * H;
      accumulateVectorGradient(vector, batch[b].features.referenceNorm, gradients.subarray(at, at + H), gradient);
    }
    const value = (name: string) => Number(floatData(out[name])[0]);
    return { loss: value(LOSS_OUTPUTS.loss), captionLoss: value(LOSS_OUTPUTS.caption), attentionLoss: value(LOSS_OUTPUTS.attention), gradient };
  }

  async answer(request: AnswerRequest): Promise<string> {
    const { model } = this;
    const concepts = request.image ? (request.concepts ?? []) : [];
    const prompt = model.prompts.prompt(request.instruction, { withImage: Boolean(request.image), conceptRows: concepts.length });
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
    this.teaching = undefined;
    await this.model.sessions.dispose();
  }
}
