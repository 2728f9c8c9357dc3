// Generation over an export: the photo's features with the concept rows
// appended (scaled to the family's reference norm), then the session loop's
// decoding with the family's token choice (greedy, or temperature and top-p
// from a seeded draw). Answers and teaching targets are both written here.
import { seededRandom } from '../../random.ts';
import { chooseToken, type TokenChoice } from '../sampling.ts';
import type { RenderedPrompt } from './prompt.ts';
import type { ImageFeatures, VlmExport } from './vlm-export.ts';

/** One generation: a rendered prompt (placeholders already expanded for the image and concept rows) and its image. */
export interface GenerationRequest {
  prompt: RenderedPrompt;
  /** The photo's features, or null for a text-only prompt. */
  features: ImageFeatures | null;
  /** Concept vectors in prompt order (free directions, normalized and scaled at use); one row each. */
  concepts: readonly ArrayLike<number>[];
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
export interface GenerationResult {
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

/** Prefill and decode one answer. */
export async function generate(model: VlmExport, request: GenerationRequest): Promise<GenerationResult> {
  const { loop } = model;
  const concepts = request.features ? request.concepts : [];
  const features = request.features ? model.withConcepts(request.features, concepts) : undefined;
  const random = seededRandom(request.seed);
  const { tokens, stoppedBy } = await loop.generate({
    inputIds: request.prompt.ids,
    imageFeatures: features,
    maxNewTokens: request.maxNewTokens,
    stopTokenIds: request.stopTokenIds,
    pickToken: (logits) => chooseToken(logits, request.choice, random),
    onToken: request.onToken,
  });
  return {
    tokens,
    stoppedBy,
    promptTokens: request.prompt.ids.length,
    imageTokens: request.features ? request.features.count : 0,
    conceptTokens: concepts.length,
    referenceNorm: concepts.length > 0 && request.features ? request.features.referenceNorm : 0,
  };
}
