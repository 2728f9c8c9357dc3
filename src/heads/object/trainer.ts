// Training an object head (ALGORITHM.md section 2, "Objects"): features of a
// few positive photos against negatives, class-balanced batches of 16, AdamW
// with cosine annealing over 500 steps, gradient-norm clipping, augmentation
// by sampling among each photo's precomputed flipped and rotated views. Pure
// TypeScript over cached features: milliseconds, not seconds.
import { OBJECT_HEAD } from '../../config/defaults.ts';
import { InternalError } from '../../errors.ts';
import type { LinearHeadParams } from '../../memory/concept.ts';
import { seededRandom } from '../../random.ts';
import { cosineLearningRate, initLinearLayer, LinearHeadOptimizer } from './linear-head.ts';
import { DEFAULT_NORMALIZATION, fitNormalization, normalizeFeature, type NormalizationMode } from './normalization.ts';

/** Training data: per photo, the raw features of its views (at least one). */
export interface HeadTrainingSet {
  positives: ReadonlyArray<readonly Float32Array[]>;
  negatives: ReadonlyArray<readonly Float32Array[]>;
}

/** Every option defaults to the paper's value (config/defaults.ts OBJECT_HEAD). */
export interface HeadTrainingOptions {
  /** Registry id of the extractor that produced the features; stored in the head. */
  extractor: string;
  seed: number;
  /** Default `l2-center` (see normalization.ts). */
  normalization?: NormalizationMode;
  steps?: number;
  batchSize?: number;
  learningRate?: number;
  minLearningRate?: number;
  weightDecay?: number;
  gradientClipNorm?: number;
  threshold?: number;
}

/** What a training run did, for logs and reports. */
export interface HeadTrainingReport {
  /** Mean batch loss over the first and the last 10% of the steps. */
  initialLoss: number;
  finalLoss: number;
  milliseconds: number;
}

/**
 * Trains a D -> 2 head. Each step draws half a batch of positives and half of
 * negatives (class-balanced), a photo uniformly within its class and one of
 * its views uniformly, so that every photo's augmentations are sampled as
 * the paper's random flip and rotation would be. Same data and seed, same head.
 */
export function trainObjectHead(
  set: HeadTrainingSet,
  options: HeadTrainingOptions,
): { params: LinearHeadParams; report: HeadTrainingReport } {
  const started = performance.now();
  if (set.positives.length === 0) throw new InternalError('an object head needs at least one positive photo');
  if (set.negatives.length === 0)
    throw new InternalError('an object head needs at least one negative photo (see negatives.ts for a fresh install)');
  const dims = set.positives[0][0]?.length ?? 0;
  const all = [...set.positives, ...set.negatives];
  for (const views of all) {
    if (views.length === 0) throw new InternalError('every training photo needs at least one view');
    for (const f of views)
      if (f.length !== dims) throw new InternalError(`feature of length ${f.length} where ${dims} was expected`);
  }
  const steps = options.steps ?? OBJECT_HEAD.steps;
  const batchSize = options.batchSize ?? OBJECT_HEAD.batchSize;
  const learningRate = options.learningRate ?? OBJECT_HEAD.learningRate;
  const minLearningRate = options.minLearningRate ?? OBJECT_HEAD.minLearningRate;

  const normalization = fitNormalization(
    options.normalization ?? DEFAULT_NORMALIZATION,
    set.positives.flat(),
    set.negatives.flat(),
  );
  const positives = set.positives.map((views) => views.map((f) => normalizeFeature(f, normalization)));
  const negatives = set.negatives.map((views) => views.map((f) => normalizeFeature(f, normalization)));

  const random = seededRandom(options.seed);
  const layer = initLinearLayer(dims, random);
  const optimizer = new LinearHeadOptimizer(layer, {
    beta1: OBJECT_HEAD.adamBeta1,
    beta2: OBJECT_HEAD.adamBeta2,
    epsilon: OBJECT_HEAD.adamEpsilon,
    weightDecay: options.weightDecay ?? OBJECT_HEAD.weightDecay,
    gradientClipNorm: options.gradientClipNorm ?? OBJECT_HEAD.gradientClipNorm,
  });
  const positiveShare = Math.ceil(batchSize / 2);
  const batch = new Array<Float32Array>(batchSize);
  const labels = new Array<number>(batchSize);
  const window = Math.max(1, Math.floor(steps / 10));
  let initialLoss = 0;
  let finalLoss = 0;
  for (let step = 0; step < steps; step++) {
    for (let s = 0; s < batchSize; s++) {
      const positive = s < positiveShare;
      const pool = positive ? positives : negatives;
      const views = pool[Math.floor(random() * pool.length)];
      batch[s] = views[Math.floor(random() * views.length)];
      labels[s] = positive ? 1 : 0;
    }
    const loss = optimizer.step(batch, labels, cosineLearningRate(step, steps, learningRate, minLearningRate));
    if (step < window) initialLoss += loss / window;
    if (step >= steps - window) finalLoss += loss / window;
  }
  const params: LinearHeadParams = {
    type: 'linear',
    extractor: options.extractor,
    dims,
    weight: Float32Array.from(layer.weight),
    bias: Float32Array.from(layer.bias),
    normalization,
    threshold: options.threshold ?? OBJECT_HEAD.threshold,
    trainedOn: { positives: set.positives.length, negatives: set.negatives.length, steps, seed: options.seed },
  };
  return { params, report: { initialLoss, finalLoss, milliseconds: performance.now() - started } };
}
