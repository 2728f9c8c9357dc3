// The concept-embedding optimization of ALGORITHM.md section 4: one vector,
// AdamW (lr 1.0, weight decay 1e-4) with gradient-norm clipping at 0.05, all
// teaching photos as one batch per step, images augmented and one target
// drawn per photo each step, a checkpoint every 25 steps and at the end.
// Every step's randomness is derived from (seed, step), so a run resumed
// from a checkpoint continues exactly as the uninterrupted run would have.
import { OperatorError } from '../errors.ts';
import { EMBEDDING_TRAINING } from '../config/defaults.ts';
import { adjustBrightness, flipHorizontal, rotate } from '../image/augment.ts';
import type { RgbImage } from '../image/decode.ts';
import { resizeRgb } from '../image/tensor.ts';
import { seededRandom } from '../random.ts';
import { adamWStep, initialAdamWState, type AdamWOptions, type AdamWState } from './adamw.ts';
import { initialConceptVector } from './concept-vector.ts';
import type { PhotoTargets } from './targets.ts';
import type { ImageFeatures, TeachableVlm, TrainingExample } from './teachable.ts';

/** How to train; defaults are EMBEDDING_TRAINING's. */
export interface TrainingOptions {
  /** Optimization steps (default 100). */
  steps?: number;
  /** Attention regularization weight (default: LLaVA captioning's 0.0075). */
  lambda?: number;
  /** Seed of the initial vector, augmentations and target draws (default 0). */
  seed?: number;
  /** Image augmentation on (default true). */
  augment?: boolean;
  /** Checkpoint every this many steps (default 25); the last step always checkpoints. */
  checkpointEvery?: number;
  optimizer?: AdamWOptions;
}

/** Everything needed to continue a run: step, vector, optimizer state, loss history. */
export interface TrainingState {
  step: number;
  vector: Float64Array;
  optimizer: AdamWState;
  /** Total loss of every step so far. */
  losses: number[];
}

/** Reported after every step. */
export interface TrainingProgress {
  step: number;
  steps: number;
  loss: number;
  captionLoss: number;
  attentionLoss: number;
  gradientNorm: number;
}

/** Hooks of a run. */
export interface TrainingHooks {
  /** Continue from this state instead of a fresh vector. */
  resume?: TrainingState;
  /** Stops the run between steps (the promise rejects with the signal's reason). */
  signal?: AbortSignal;
  onProgress?: (progress: TrainingProgress) => void;
  /** Called at each checkpoint with a copy of the state to persist (awaited before training goes on). */
  onCheckpoint?: (state: TrainingState) => Promise<void> | void;
}

/** The paper's augmentation, drawn from `random`: flip (p 0.5), rotation, then brightness. */
export function augmentPhoto(image: RgbImage, random: () => number): RgbImage {
  const { flipProbability, maxRotationDegrees, brightnessMin, brightnessMax } = EMBEDDING_TRAINING.augmentation;
  let out = random() < flipProbability ? flipHorizontal(image) : image;
  out = rotate(out, (random() * 2 - 1) * maxRotationDegrees);
  return adjustBrightness(out, brightnessMin + (brightnessMax - brightnessMin) * random());
}

/**
 * Teaching photos are shrunk once so that their shorter side is at most this
 * many pixels before the per-step augmentations (VLM inputs are 224-672 px).
 */
export const AUGMENTATION_WORKING_SIDE = 768;

/** The photo, shrunk to AUGMENTATION_WORKING_SIDE on its shorter side when larger. */
async function workingSize(image: RgbImage): Promise<RgbImage> {
  const shorter = Math.min(image.width, image.height);
  if (shorter <= AUGMENTATION_WORKING_SIDE) return image;
  const scale = AUGMENTATION_WORKING_SIDE / shorter;
  return resizeRgb(image, Math.round(image.width * scale), Math.round(image.height * scale), 'linear');
}

/**
 * The loss on the teaching photos as they are (no augmentation), each with its
 * first target, in one batch: unlike a training step's loss it depends on the
 * vector alone, so values before and after training compare.
 */
export async function fixedBatchLoss(
  vlm: TeachableVlm,
  photos: readonly PhotoTargets[],
  vector: Float64Array,
  lambda: number,
): Promise<number> {
  const used = photos.slice(0, EMBEDDING_TRAINING.maxPhotosPerStep);
  const batch: TrainingExample[] = [];
  for (const photo of used)
    batch.push({
      features: await vlm.imageFeatures(await workingSize(photo.image)),
      instruction: photo.choices[0].instruction,
      target: photo.choices[0].target,
    });
  return (await vlm.lossAndGradient(batch, vector, lambda)).loss;
}

/** A fresh state: the paper's initial vector and an empty optimizer. */
export function initialTrainingState(size: number, seed: number): TrainingState {
  return { step: 0, vector: initialConceptVector(size, seed), optimizer: initialAdamWState(size), losses: [] };
}

/** A deep copy: checkpoints must not change as training goes on. */
function snapshot(state: TrainingState): TrainingState {
  return {
    step: state.step,
    vector: state.vector.slice(),
    optimizer: {
      step: state.optimizer.step,
      firstMoment: state.optimizer.firstMoment.slice(),
      secondMoment: state.optimizer.secondMoment.slice(),
    },
    losses: [...state.losses],
  };
}

/** The random stream of one step, independent of every other step. */
function stepRandom(seed: number, step: number): () => number {
  return seededRandom((Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(step + 1, 0xc2b2ae35)) >>> 0);
}

/**
 * Optimizes a concept vector on `photos` (at most EMBEDDING_TRAINING.maxPhotosPerStep
 * are used, all of them every step). Resolves with the final state.
 */
export async function trainConceptEmbedding(
  vlm: TeachableVlm,
  photos: readonly PhotoTargets[],
  options: TrainingOptions = {},
  hooks: TrainingHooks = {},
): Promise<TrainingState> {
  if (photos.length === 0) throw new RangeError('teaching needs at least one photo');
  // Augmenting a 12-megapixel photo 100 times would dominate training; the model sees a few hundred pixels anyway.
  const used = await Promise.all(
    photos
      .slice(0, EMBEDDING_TRAINING.maxPhotosPerStep)
      .map(async (p) => ({ ...p, image: await workingSize(p.image) })),
  );
  const steps = options.steps ?? EMBEDDING_TRAINING.steps;
  const seed = options.seed ?? 0;
  const lambda = options.lambda ?? EMBEDDING_TRAINING.attentionLambda.llavaCaptioning;
  const augment = options.augment ?? true;
  const every = options.checkpointEvery ?? EMBEDDING_TRAINING.checkpointEvery;
  const state: TrainingState = hooks.resume ? snapshot(hooks.resume) : initialTrainingState(vlm.hiddenSize, seed);
  if (state.vector.length !== vlm.hiddenSize)
    throw new RangeError(
      `the checkpoint's vector has ${state.vector.length} values; the model needs ${vlm.hiddenSize}`,
    );
  const plain = new Map<number, ImageFeatures>();

  while (state.step < steps) {
    hooks.signal?.throwIfAborted();
    const random = stepRandom(seed, state.step);
    const batch: TrainingExample[] = [];
    for (const [i, photo] of used.entries()) {
      let features: ImageFeatures | undefined = augment ? undefined : plain.get(i);
      if (!features) {
        features = await vlm.imageFeatures(augment ? augmentPhoto(photo.image, random) : photo.image);
        if (!augment) plain.set(i, features);
      }
      const choice = photo.choices[Math.floor(random() * photo.choices.length)];
      batch.push({ features, instruction: choice.instruction, target: choice.target });
    }
    const result = await vlm.lossAndGradient(batch, state.vector, lambda);
    // Low-precision exports can overflow where fp32 does not; on fp32 it would be a bug.
    if (!Number.isFinite(result.loss))
      throw new OperatorError(`The teaching loss became ${result.loss} at step ${state.step + 1}.`, {
        hint: 'Teach the model in fp32 (MYVLM_VLM_DTYPE=fp32); if it already runs in fp32, report it as a bug.',
      });
    const info = adamWStep(state.vector, result.gradient, state.optimizer, options.optimizer);
    state.step += 1;
    state.losses.push(result.loss);
    hooks.onProgress?.({
      step: state.step,
      steps,
      loss: result.loss,
      captionLoss: result.captionLoss,
      attentionLoss: result.attentionLoss,
      gradientNorm: info.gradientNorm,
    });
    if (state.step % every === 0 || state.step === steps) await hooks.onCheckpoint?.(snapshot(state));
  }
  return state;
}
