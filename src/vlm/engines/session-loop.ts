// The project's own generation loop over a three-graph export (the runtime of
// MiniGPT-v2, which transformers.js has no class for; it runs any LLaVA-like
// export with float32 inputs and outputs too). It uses the stages of
// VlmSessionLoop: encode the photo, append the concept rows to its image
// features, prefill once, then decode one token at a time with the KV cache.
import * as ort from 'onnxruntime-node';
import type { Tensor } from '@huggingface/transformers';
import { UserError } from '../../errors.ts';
import { moduleLogger } from '../../log.ts';
import { seededRandom } from '../../random.ts';
import { lastLogits, loopConfigFromJson, VlmSessionLoop } from '../../onnx/session-loop.ts';
import type { SessionPool } from '../../models/session.ts';
import { appendConceptRows } from '../injection.ts';
import { chooseToken } from '../sampling.ts';
import { expandPlaceholder, type EngineRequest, type EngineResult, type GenerationEngine } from '../engine.ts';

const logger = moduleLogger('vlm');

/** Absolute paths of the three graphs to open. */
export interface SessionLoopFiles {
  visionEncoder: string;
  embedTokens: string;
  decoder: string;
}

/** Any three-graph export on the project's own loop, with concept rows appended to the image features. */
export class SessionLoopEngine implements GenerationEngine {
  readonly runtime = 'session-loop' as const;

  private constructor(
    readonly loop: VlmSessionLoop,
    readonly hiddenSize: number,
  ) {}

  get imageTokenId(): number {
    return this.loop.config.imageTokenId;
  }

  get eosTokenIds(): readonly number[] {
    return this.loop.config.eosTokenIds;
  }

  /**
   * Opens the graphs through the session pool (created once, reused by every
   * request); `config` and `generation` are the export's config.json and
   * generation_config.json.
   */
  static async open(files: SessionLoopFiles, config: Record<string, unknown>, generation: Record<string, unknown>, sessions: SessionPool): Promise<SessionLoopEngine> {
    const loopConfig = loopConfigFromJson(config, generation);
    const [visionEncoder, embedTokens, decoder] = await Promise.all([files.visionEncoder, files.embedTokens, files.decoder].map((f) => sessions.get(f)));
    const text = (config.text_config ?? config) as Record<string, unknown>;
    const hidden = Number(text.hidden_size);
    if (!Number.isInteger(hidden) || hidden <= 0) throw new UserError("The model's config.json has no usable hidden_size.");
    return new SessionLoopEngine(new VlmSessionLoop({ visionEncoder, embedTokens, decoder }, loopConfig), hidden);
  }

  async generate(request: EngineRequest): Promise<EngineResult> {
    const encoded = await this.loop.encodeImage(toOrtTensor(request.pixelValues));
    const hidden = encoded.dims[encoded.dims.length - 1];
    if (hidden !== this.hiddenSize) throw new UserError(`The vision encoder gives rows of ${hidden} values but the language model reads ${this.hiddenSize}.`);
    const raw = encoded.data as Float32Array | Float64Array;
    const rows = raw.length / hidden;
    const { features, norm } =
      request.concepts.length > 0 ? appendConceptRows(raw, rows, hidden, request.concepts, request.conceptScale) : { features: raw, norm: 0 };
    const inputIds = expandPlaceholder(request.inputIds, this.imageTokenId, rows + request.concepts.length);
    const imageFeatures = new ort.Tensor(encoded.type as 'float32' | 'float64', features, [1, rows + request.concepts.length, hidden]);
    const random = seededRandom(request.seed);
    let step = await this.loop.prefill({ inputIds, imageFeatures });
    const tokens: number[] = [];
    let stoppedBy: EngineResult['stoppedBy'] = 'length';
    while (tokens.length < request.maxNewTokens) {
      const token = chooseToken(lastLogits(step.logits), request.choice, random);
      tokens.push(token);
      request.onToken?.(token);
      if (request.stopTokenIds.includes(token)) {
        stoppedBy = 'eos';
        break;
      }
      if (tokens.length >= request.maxNewTokens) break;
      step = await this.loop.forward(await this.loop.embed([token]), step.cache);
    }
    return { tokens, stoppedBy, promptTokens: inputIds.length, imageTokens: rows, conceptTokens: request.concepts.length, referenceNorm: norm };
  }

  /** The sessions belong to the pool, which releases them when the assistant closes. */
  async dispose(): Promise<void> {
    logger.debug('session-loop engine released (sessions stay in the pool)');
  }
}

/** A tensor from transformers.js as an ONNX Runtime tensor (they share the data). */
function toOrtTensor(tensor: Tensor): ort.Tensor {
  return new ort.Tensor('float32', tensor.data as Float32Array, tensor.dims);
}
