// AdamW with gradient-norm clipping for one parameter vector, as PyTorch's
// `clip_grad_norm_` followed by `torch.optim.AdamW.step()` computes it (the
// authors' code). Its state is plain numbers so a checkpoint can store it.
import { EMBEDDING_TRAINING } from '../config/defaults.ts';

/** Hyperparameters; defaults are the paper's (EMBEDDING_TRAINING). */
export interface AdamWOptions {
  learningRate?: number;
  weightDecay?: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  /** Clip the gradient's L2 norm to this before the step (0 or Infinity: no clipping). */
  clipNorm?: number;
}

/** Optimizer state: step count and both moment estimates. */
export interface AdamWState {
  step: number;
  firstMoment: Float64Array;
  secondMoment: Float64Array;
}

/** What one step did, for logs and progress. */
export interface AdamWStepInfo {
  /** L2 norm of the gradient before clipping. */
  gradientNorm: number;
  clipped: boolean;
}

/** Fresh state for a parameter of `size` elements. */
export function initialAdamWState(size: number): AdamWState {
  return { step: 0, firstMoment: new Float64Array(size), secondMoment: new Float64Array(size) };
}

/**
 * Updates `parameter` in place from `gradient` (not modified) and advances
 * `state`. Clipping scales the gradient by clip / (norm + 1e-6) when the norm
 * exceeds the clip, exactly like `clip_grad_norm_`.
 */
export function adamWStep(
  parameter: Float64Array,
  gradient: ArrayLike<number>,
  state: AdamWState,
  options: AdamWOptions = {},
): AdamWStepInfo {
  const lr = options.learningRate ?? EMBEDDING_TRAINING.learningRate;
  const decay = options.weightDecay ?? EMBEDDING_TRAINING.weightDecay;
  const beta1 = options.beta1 ?? EMBEDDING_TRAINING.adamBeta1;
  const beta2 = options.beta2 ?? EMBEDDING_TRAINING.adamBeta2;
  const eps = options.epsilon ?? EMBEDDING_TRAINING.adamEpsilon;
  const clip = options.clipNorm ?? EMBEDDING_TRAINING.gradientClipNorm;
  if (gradient.length !== parameter.length)
    throw new RangeError(`gradient has ${gradient.length} elements, parameter ${parameter.length}`);

  let squares = 0;
  for (let i = 0; i < gradient.length; i++) squares += gradient[i] * gradient[i];
  const norm = Math.sqrt(squares);
  const clipped = clip > 0 && Number.isFinite(clip) && norm > clip;
  const scale = clipped ? clip / (norm + 1e-6) : 1;

  state.step += 1;
  const correction1 = 1 - beta1 ** state.step;
  const correction2 = 1 - beta2 ** state.step;
  for (let i = 0; i < parameter.length; i++) {
    const g = gradient[i] * scale;
    parameter[i] *= 1 - lr * decay;
    state.firstMoment[i] = beta1 * state.firstMoment[i] + (1 - beta1) * g;
    state.secondMoment[i] = beta2 * state.secondMoment[i] + (1 - beta2) * g * g;
    const denominator = Math.sqrt(state.secondMoment[i] / correction2) + eps;
    parameter[i] -= (lr / correction1) * (state.firstMoment[i] / denominator);
  }
  return { gradientNorm: norm, clipped };
}
