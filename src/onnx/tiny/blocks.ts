// Transformer building blocks from standard ONNX operators only (MatMul, Mul,
// ReduceMean, Softmax, ...), so that a reverse-mode pass can differentiate
// every node with textbook rules. Weights are drawn by name from the factory.
import { Ops } from '../ops.ts';
import type { OnnxGraph } from '../graph.ts';
import type { TinyDType } from './config.ts';
import type { WeightFactory } from './weights.ts';

/** sqrt(2/pi), the constant of GELU's tanh form. */
const GELU_TANH_SCALE = Math.sqrt(2 / Math.PI);
/** The cubic coefficient of GELU's tanh form. */
const GELU_TANH_CUBIC = 0.044715;
/** QuickGELU's slope, x * sigmoid(1.702 x), as CLIP uses it. */
const QUICK_GELU_SLOPE = 1.702;

/** Graph, op helpers and weights of one model under construction. */
export class BlockBuilder {
  readonly op: Ops;

  constructor(
    readonly graph: OnnxGraph,
    readonly weights: WeightFactory,
    readonly dtype: TinyDType,
    /** Fixed weight std, or null for 1/sqrt(fan-in). */
    readonly initializerRange: number | null,
  ) {
    this.op = new Ops(graph);
  }

  scalar(value: number): string {
    return this.op.scalar(value, this.dtype);
  }

  /** A weight matrix stored [in, out] for MatMul (PyTorch keeps [out, in]; the name is the PyTorch one). */
  matrix(name: string, inFeatures: number, outFeatures: number): string {
    const std = this.initializerRange ?? 1 / Math.sqrt(inFeatures);
    return this.graph.addInitializer(name, this.weights.normal(name, inFeatures * outFeatures, std), [
      inFeatures,
      outFeatures,
    ]);
  }

  /** A vector of weights drawn normal(0, std). */
  vector(name: string, size: number, std: number, dims: readonly number[] = [size]): string {
    return this.graph.addInitializer(name, this.weights.normal(name, size, std), dims);
  }

  /** x @ W (+ b): a linear layer named like its PyTorch module (`<module>.weight`, `<module>.bias`). */
  linear(x: string, module: string, inFeatures: number, outFeatures: number, bias: boolean): string {
    const y = this.op.matMul(x, this.matrix(`${module}.weight`, inFeatures, outFeatures));
    return bias ? this.op.add(y, this.vector(`${module}.bias`, outFeatures, 0.02)) : y;
  }

  /** LLaMA's RMSNorm: x / sqrt(mean(x^2) + eps) * weight. */
  rmsNorm(x: string, module: string, size: number, eps: number): string {
    const op = this.op;
    const variance = op.reduceMean(op.mul(x, x), [-1], true);
    const inverse = op.reciprocal(op.sqrt(op.add(variance, this.scalar(eps))));
    const weight = this.graph.addInitializer(`${module}.weight`, this.weights.scale(`${module}.weight`, size), [size]);
    return op.mul(op.mul(x, inverse), weight);
  }

  /** LayerNormalization with a learned scale and bias. */
  layerNorm(x: string, module: string, size: number, eps: number): string {
    const scale = this.graph.addInitializer(`${module}.weight`, this.weights.scale(`${module}.weight`, size), [size]);
    const bias = this.vector(`${module}.bias`, size, 0.02);
    return this.op.layerNormalization(x, scale, bias, eps);
  }

  /** GELU, tanh form (ONNX Runtime has no float64 Erf, and both precisions must match). */
  geluTanh(x: string): string {
    const op = this.op;
    const cubic = op.mul(op.mul(op.mul(x, x), x), this.scalar(GELU_TANH_CUBIC));
    const inner = op.mul(op.add(x, cubic), this.scalar(GELU_TANH_SCALE));
    return op.mul(op.mul(x, this.scalar(0.5)), op.add(op.tanh(inner), this.scalar(1)));
  }

  /** CLIP's QuickGELU. */
  quickGelu(x: string): string {
    return this.op.mul(x, this.op.sigmoid(this.op.mul(x, this.scalar(QUICK_GELU_SLOPE))));
  }

  /** SiLU, LLaMA's gate activation. */
  silu(x: string): string {
    return this.op.mul(x, this.op.sigmoid(x));
  }

  /**
   * Bidirectional multi-head self-attention over [batch, tokens, width] (the
   * vision towers): biased q/k/v/out projections, softmax over keys.
   */
  selfAttention(x: string, module: string, width: number, heads: number): string {
    const op = this.op;
    const headDim = width / heads;
    const split = (name: string): string =>
      op.transpose(
        op.reshape(this.linear(x, `${module}.${name}`, width, width, true), [0, 0, heads, headDim]),
        [0, 2, 1, 3],
      );
    const q = split('q_proj');
    const k = split('k_proj');
    const v = split('v_proj');
    const scores = op.mul(op.matMul(q, op.transpose(k, [0, 1, 3, 2])), this.scalar(1 / Math.sqrt(headDim)));
    const context = op.matMul(op.softmax(scores, -1), v);
    const merged = op.reshape(op.transpose(context, [0, 2, 1, 3]), [0, 0, width]);
    return this.linear(merged, `${module}.out_proj`, width, width, true);
  }
}
