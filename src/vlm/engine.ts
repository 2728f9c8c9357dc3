// What a generation engine does for the personalized VLM, whichever runtime
// is underneath: expand the image placeholder, append the concept rows to the
// image features (scaled to the family's reference norm), prefill, decode
// with the KV cache, and report each token as it comes.
import type { Tensor } from '@huggingface/transformers';
import type { ConceptScale } from './families.ts';
import type { TokenChoice } from './sampling.ts';

/** One generation, prompt already tokenized with a single image placeholder. */
export interface EngineRequest {
  /** Token ids of the rendered prompt, with exactly one image placeholder. */
  inputIds: readonly number[];
  /** [1, 3, H, W] from the model's image processor. */
  pixelValues: Tensor;
  /** Stored concept vectors in prompt order, each of the model's hidden size; one token each. */
  concepts: readonly Float32Array[];
  conceptScale: ConceptScale;
  choice: TokenChoice;
  /** Seeds sampling (ignored when decoding greedily). */
  seed: number;
  maxNewTokens: number;
  /** Tokens that end the answer; empty generates exactly `maxNewTokens`. */
  stopTokenIds: readonly number[];
  /** Called with each new token as soon as it is chosen. */
  onToken?: (token: number) => void;
}

/** What one generation produced, and the shape of what the decoder read. */
export interface EngineResult {
  /** New tokens, the final stop token included when one ended the answer. */
  tokens: number[];
  stoppedBy: 'eos' | 'length';
  /** Positions the decoder's prefill read: prompt, image rows and concept rows. */
  promptTokens: number;
  /** Image-feature rows per photo (before the concept rows). */
  imageTokens: number;
  /** Concept rows appended. */
  conceptTokens: number;
  /** The norm the concept rows were scaled to (0 when none were appended). */
  referenceNorm: number;
}

/** A loaded model that generates; sessions live as long as the engine. */
export interface GenerationEngine {
  readonly runtime: 'transformers.js' | 'session-loop';
  /** Width of the language model's input rows (a concept vector must have this length). */
  readonly hiddenSize: number;
  /** The image placeholder's token id. */
  readonly imageTokenId: number;
  /** The model's own end-of-sequence ids (from its generation config). */
  readonly eosTokenIds: readonly number[];
  generate(request: EngineRequest): Promise<EngineResult>;
  dispose(): Promise<void>;
}

/** Replaces the first image placeholder by `count` copies; the prompt must hold exactly one. */
export function expandPlaceholder(inputIds: readonly number[], imageTokenId: number, count: number): number[] {
  const at = inputIds.indexOf(imageTokenId);
  if (at < 0 || inputIds.indexOf(imageTokenId, at + 1) >= 0) {
    throw new Error(`the prompt must hold exactly one image placeholder (token ${imageTokenId})`);
  }
  return [...inputIds.slice(0, at), ...new Array<number>(count).fill(imageTokenId), ...inputIds.slice(at + 1)];
}
