// An independent LLaMA forward pass in plain TypeScript (float64), reading the
// weights out of a tiny decoder graph. It follows the Hugging Face modeling
// code (rotate_half rotary embedding, repeat_kv grouping, causal softmax,
// SwiGLU, RMSNorm), so agreement with ONNX Runtime proves the graph computes
// a LLaMA decoder and not merely something self-consistent.
import type { OnnxGraph } from '../../src/onnx/graph.ts';
import type { TinyVlmSizes } from '../../src/onnx/tiny/config.ts';

function weights(graph: OnnxGraph, name: string): Float64Array {
  return Float64Array.from(graph.initializerData(name) as Float32Array | Float64Array);
}

/** [rows, inner] x [inner, cols] (weights stored [in, out], as the graph keeps them). */
function matmul(a: Float64Array, rows: number, inner: number, w: Float64Array, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < inner; k++) {
      const v = a[r * inner + k];
      for (let c = 0; c < cols; c++) out[r * cols + c] += v * w[k * cols + c];
    }
  }
  return out;
}

function rmsNorm(x: Float64Array, rows: number, size: number, weight: Float64Array, eps: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let i = 0; i < size; i++) sum += x[r * size + i] ** 2;
    const inv = 1 / Math.sqrt(sum / size + eps);
    for (let i = 0; i < size; i++) out[r * size + i] = x[r * size + i] * inv * weight[i];
  }
  return out;
}

/** Applies rotary embedding in place to [rows, heads, D] at the given positions. */
function rotary(
  x: Float64Array,
  rows: number,
  heads: number,
  D: number,
  positions: readonly number[],
  theta: number,
): void {
  const half = D / 2;
  for (let r = 0; r < rows; r++) {
    for (let h = 0; h < heads; h++) {
      const base = (r * heads + h) * D;
      const orig = x.slice(base, base + D);
      for (let d = 0; d < D; d++) {
        const angle = positions[r] / theta ** ((2 * (d % half)) / D);
        const rotated = d < half ? -orig[d + half] : orig[d - half];
        x[base + d] = orig[d] * Math.cos(angle) + rotated * Math.sin(angle);
      }
    }
  }
}

/** Logits [positions, vocab] of the decoder graph for `embeds` [positions, hidden], no cache, causal. */
export function referenceLogits(
  graph: OnnxGraph,
  s: TinyVlmSizes,
  embeds: Float64Array,
  positions: readonly number[],
): Float64Array {
  const n = positions.length;
  const { hiddenSize: H, heads, kvHeads, headDim: D, intermediateSize: I } = s;
  const groups = heads / kvHeads;
  let hidden = Float64Array.from(embeds);
  for (let layer = 0; layer < s.layers; layer++) {
    const p = `model.layers.${layer}`;
    const x = rmsNorm(hidden, n, H, weights(graph, `${p}.input_layernorm.weight`), s.rmsNormEps);
    const q = matmul(x, n, H, weights(graph, `${p}.self_attn.q_proj.weight`), heads * D);
    const k = matmul(x, n, H, weights(graph, `${p}.self_attn.k_proj.weight`), kvHeads * D);
    const v = matmul(x, n, H, weights(graph, `${p}.self_attn.v_proj.weight`), kvHeads * D);
    rotary(q, n, heads, D, positions, s.ropeTheta);
    rotary(k, n, kvHeads, D, positions, s.ropeTheta);
    const context = new Float64Array(n * heads * D);
    for (let h = 0; h < heads; h++) {
      const kv = Math.floor(h / groups);
      for (let i = 0; i < n; i++) {
        const scores: number[] = [];
        for (let j = 0; j <= i; j++) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[(i * heads + h) * D + d] * k[(j * kvHeads + kv) * D + d];
          scores.push(dot / Math.sqrt(D));
        }
        const max = Math.max(...scores);
        const exps = scores.map((sc) => Math.exp(sc - max));
        const total = exps.reduce((a, b) => a + b, 0);
        for (let j = 0; j <= i; j++) {
          for (let d = 0; d < D; d++)
            context[(i * heads + h) * D + d] += (exps[j] / total) * v[(j * kvHeads + kv) * D + d];
        }
      }
    }
    const attention = matmul(context, n, heads * D, weights(graph, `${p}.self_attn.o_proj.weight`), H);
    for (let i = 0; i < hidden.length; i++) hidden[i] += attention[i];
    const y = rmsNorm(hidden, n, H, weights(graph, `${p}.post_attention_layernorm.weight`), s.rmsNormEps);
    const gate = matmul(y, n, H, weights(graph, `${p}.mlp.gate_proj.weight`), I);
    const up = matmul(y, n, H, weights(graph, `${p}.mlp.up_proj.weight`), I);
    for (let i = 0; i < gate.length; i++) gate[i] = (gate[i] / (1 + Math.exp(-gate[i]))) * up[i];
    const down = matmul(gate, n, I, weights(graph, `${p}.mlp.down_proj.weight`), H);
    hidden = hidden.map((h, i) => h + down[i]);
  }
  const normed = rmsNorm(hidden, n, H, weights(graph, 'model.norm.weight'), s.rmsNormEps);
  return matmul(normed, n, H, weights(graph, 'lm_head.weight'), s.vocabSize);
}

/** Largest absolute difference of two equal-length arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}
