// What concept-embedding training needs from a vision-language model, as one
// interface: image features (with the norm the concept token is scaled to),
// the loss and its gradient with respect to the concept vector for a batch,
// and greedy answers with or without concept tokens (targets, evaluation).
import type { RgbImage } from '../image/decode.ts';
import type { ImageFeatures } from '../vlm/export/vlm-export.ts';

export type { ImageFeatures };

/** One element of a training batch. */
export interface TrainingExample {
  features: ImageFeatures;
  /** The instruction with the concept identifier filled in. */
  instruction: string;
  /** The answer to learn, containing the identifier. */
  target: string;
}

/** Loss parts and the gradient with respect to the free concept vector. */
export interface StepResult {
  loss: number;
  captionLoss: number;
  attentionLoss: number;
  gradient: Float64Array;
}

/** A question to the model, optionally with an image and concept vectors appended after it. */
export interface AnswerRequest {
  image?: ImageFeatures;
  instruction: string;
  /** Concept vectors (free, normalized and scaled at use), in order. */
  concepts?: readonly Float64Array[];
  /** Default 32. */
  maxNewTokens?: number;
}

/** A VLM that concept embeddings can be taught on. */
export interface TeachableVlm {
  /** Width of a concept vector (the language model's input width). */
  readonly hiddenSize: number;
  imageFeatures(image: RgbImage): Promise<ImageFeatures>;
  /** Forward and backward over one batch; `lambda` weights the attention regularization. */
  lossAndGradient(batch: readonly TrainingExample[], vector: Float64Array, lambda: number): Promise<StepResult>;
  /** Greedy answer text. */
  answer(request: AnswerRequest): Promise<string>;
}
