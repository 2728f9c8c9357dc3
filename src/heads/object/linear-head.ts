// The object head's math: a linear layer D -> 2 with softmax cross-entropy,
// and one AdamW step exactly as PyTorch's torch.optim.AdamW takes it
// (decoupled weight decay, bias-corrected moments), after clipping the
// gradient's global norm as torch.nn.utils.clip_grad_norm_ does.
//
// With two classes the gradient of row 0 is minus that of row 1, and AdamW is
// odd in the gradient, so the optimizer keeps one set of moments and applies
// them with opposite signs to both rows: the same numbers as the two-row
// update, at half the cost.
import type { LinearHeadParams } from '../../memory/concept.ts';

/** Trainable state of a D -> 2 linear layer: row 0 negative, row 1 positive. */
export interface LinearLayer {
  dims: number;
  /** [2, dims], row-major. */
  weight: Float64Array;
  /** [2]. */
  bias: Float64Array;
}

/** Loss and gradient of a batch, as the reference for the optimizer's fast path and for gradient checks. */
export interface LossAndGradient {
  loss: number;
  weight: Float64Array;
  bias: Float64Array;
}

/**
 * Mean softmax cross-entropy of a batch of normalized features with labels
 * (0 negative, 1 positive), and its gradient with respect to both rows.
 */
export function crossEntropy(
  layer: LinearLayer,
  features: readonly Float32Array[],
  labels: readonly number[],
): LossAndGradient {
  const { dims, weight, bias } = layer;
  const gradWeight = new Float64Array(2 * dims);
  const gradBias = new Float64Array(2);
  let loss = 0;
  const n = features.length;
  for (let s = 0; s < n; s++) {
    const x = features[s];
    const z0 = dot(weight, 0, x) + bias[0];
    const z1 = dot(weight, dims, x) + bias[1];
    const top = Math.max(z0, z1);
    const e0 = Math.exp(z0 - top);
    const e1 = Math.exp(z1 - top);
    const p = [e0 / (e0 + e1), e1 / (e0 + e1)];
    loss -= Math.log(Math.max(p[labels[s]], Number.MIN_VALUE));
    for (let c = 0; c < 2; c++) {
      const dz = (p[c] - (labels[s] === c ? 1 : 0)) / n;
      gradBias[c] += dz;
      for (let i = 0; i < dims; i++) gradWeight[c * dims + i] += dz * x[i];
    }
  }
  return { loss: loss / n, weight: gradWeight, bias: gradBias };
}

export interface AdamWSettings {
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
  gradientClipNorm: number;
}

/**
 * AdamW over a D -> 2 linear layer. `step(batch, labels, lr)` computes the
 * batch gradient, clips its global norm, and updates the layer in place.
 */
export class LinearHeadOptimizer {
  private readonly m: Float64Array;
  private readonly v: Float64Array;
  private mBias = 0;
  private vBias = 0;
  private readonly grad: Float64Array;
  /** w1 - w0, kept in step with the weights: the forward pass needs only the difference. */
  private readonly direction: Float64Array;
  private t = 0;

  constructor(
    readonly layer: LinearLayer,
    private readonly settings: AdamWSettings,
  ) {
    this.m = new Float64Array(layer.dims);
    this.v = new Float64Array(layer.dims);
    this.grad = new Float64Array(layer.dims);
    this.direction = new Float64Array(layer.dims);
    for (let i = 0; i < layer.dims; i++) this.direction[i] = layer.weight[layer.dims + i] - layer.weight[i];
  }

  /** One optimization step on a batch; returns the batch's mean loss before the step. */
  step(batch: readonly Float32Array[], labels: readonly number[], learningRate: number): number {
    const { dims, weight, bias } = this.layer;
    const { beta1, beta2, epsilon, weightDecay, gradientClipNorm } = this.settings;
    const g = this.grad;
    g.fill(0);
    let gBias = 0;
    let loss = 0;
    const n = batch.length;
    const direction = this.direction;
    for (let s = 0; s < n; s++) {
      const x = batch[s];
      let d = bias[1] - bias[0];
      for (let i = 0; i < dims; i++) d += direction[i] * x[i];
      // p(positive) = softmax(z)[1] = sigmoid(z1 - z0).
      const p = 1 / (1 + Math.exp(-d));
      loss += labels[s] === 1 ? softplus(-d) : softplus(d);
      const dz = (p - labels[s]) / n;
      gBias += dz;
      for (let i = 0; i < dims; i++) g[i] += dz * x[i];
    }
    // Row 0's gradient is -g, so the global norm counts g twice.
    let squares = gBias * gBias;
    for (let i = 0; i < dims; i++) squares += g[i] * g[i];
    const norm = Math.sqrt(2 * squares);
    const clip = gradientClipNorm / (norm + 1e-6);
    if (clip < 1) {
      for (let i = 0; i < dims; i++) g[i] *= clip;
      gBias *= clip;
    }
    this.t += 1;
    const bc1 = 1 - beta1 ** this.t;
    const sqrtBc2 = Math.sqrt(1 - beta2 ** this.t);
    const stepSize = learningRate / bc1;
    const decay = 1 - learningRate * weightDecay;
    const { m, v } = this;
    for (let i = 0; i < dims; i++) {
      m[i] = beta1 * m[i] + (1 - beta1) * g[i];
      v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
      const update = (stepSize * m[i]) / (Math.sqrt(v[i]) / sqrtBc2 + epsilon);
      const positive = weight[dims + i] * decay - update;
      const negative = weight[i] * decay + update;
      weight[dims + i] = positive;
      weight[i] = negative;
      direction[i] = positive - negative;
    }
    this.mBias = beta1 * this.mBias + (1 - beta1) * gBias;
    this.vBias = beta2 * this.vBias + (1 - beta2) * gBias * gBias;
    const biasUpdate = (stepSize * this.mBias) / (Math.sqrt(this.vBias) / sqrtBc2 + epsilon);
    bias[1] = bias[1] * decay - biasUpdate;
    bias[0] = bias[0] * decay + biasUpdate;
    return loss / n;
  }
}

/** PyTorch's nn.Linear initialization: weight and bias uniform in +-1/sqrt(D). */
export function initLinearLayer(dims: number, random: () => number): LinearLayer {
  const bound = 1 / Math.sqrt(dims);
  const weight = new Float64Array(2 * dims);
  for (let i = 0; i < weight.length; i++) weight[i] = (2 * random() - 1) * bound;
  const bias = new Float64Array([(2 * random() - 1) * bound, (2 * random() - 1) * bound]);
  return { dims, weight, bias };
}

/** Cosine annealing from `initial` to `final` over `steps` (PyTorch CosineAnnealingLR, T_max = steps). */
export function cosineLearningRate(step: number, steps: number, initial: number, final: number): number {
  return final + ((initial - final) * (1 + Math.cos((Math.PI * step) / steps))) / 2;
}

/** p(positive) of a normalized feature under a head's layer. */
export function positiveProbability(
  params: Pick<LinearHeadParams, 'weight' | 'bias' | 'dims'>,
  normalized: Float32Array,
): number {
  const { dims, weight, bias } = params;
  let d = bias[1] - bias[0];
  for (let i = 0; i < dims; i++) d += (weight[dims + i] - weight[i]) * normalized[i];
  return 1 / (1 + Math.exp(-d));
}

function dot(weight: Float64Array, offset: number, x: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += weight[offset + i] * x[i];
  return sum;
}

/** log(1 + e^x) without overflow. */
function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}
