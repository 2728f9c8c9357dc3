// The language half of a tiny VLM, in the export layout of transformers.js:
// `embed_tokens.onnx` (input_ids -> inputs_embeds) and
// `decoder_model_merged.onnx`, a LLaMA decoder (RMSNorm, rotary positions,
// causal grouped-query attention with a KV cache, SwiGLU) that maps
// inputs_embeds, attention_mask, position_ids and past_key_values.N.key/value
// to logits and present.N.key/value. One graph serves prefill (empty cache)
// and decoding. Each layer's attention probabilities come from one Softmax
// node named `/model/layers.N/attn/Softmax` (see `attentionSoftmaxName`).
import { OnnxModel } from '../model.ts';
import { BlockBuilder } from './blocks.ts';
import type { TinyVlmSizes } from './config.ts';
import { WeightFactory } from './weights.ts';

/** Standard-domain opset of every tiny-model graph. */
export const TINY_OPSET = 17;

/**
 * Masked attention scores get this added before Softmax. Finite (not -inf) so
 * that a fully masked row (a padding query) gives a uniform row, not NaN.
 */
export const MASKED_SCORE = -1e9;

/** Name of the Softmax node holding layer `layer`'s attention probabilities [batch, heads, query, key]. */
export function attentionSoftmaxName(layer: number): string {
  return `/model/layers.${layer}/attn/Softmax`;
}

/** Graph input/output names of the decoder's cache for one layer. */
export function cacheNames(layer: number): {
  pastKey: string;
  pastValue: string;
  presentKey: string;
  presentValue: string;
} {
  return {
    pastKey: `past_key_values.${layer}.key`,
    pastValue: `past_key_values.${layer}.value`,
    presentKey: `present.${layer}.key`,
    presentValue: `present.${layer}.value`,
  };
}

function newModel(sizes: TinyVlmSizes, graphName: string): { model: OnnxModel; blocks: BlockBuilder } {
  const model = OnnxModel.create({ opsets: { '': TINY_OPSET }, graphName, producerName: 'myvlm-tiny' });
  const blocks = new BlockBuilder(
    model.graph,
    new WeightFactory(sizes.seed, sizes.dtype),
    sizes.dtype,
    sizes.initializerRange,
  );
  return { model, blocks };
}

/** Token embedding table values (shared with a tied output head). */
function embeddingTable(sizes: TinyVlmSizes): Float32Array | Float64Array {
  return new WeightFactory(sizes.seed, sizes.dtype).normal(
    'model.embed_tokens.weight',
    sizes.vocabSize * sizes.hiddenSize,
    1,
  );
}

/** `embed_tokens.onnx`: one Gather from the embedding table. */
export function buildEmbedTokens(sizes: TinyVlmSizes): OnnxModel {
  const { model, blocks } = newModel(sizes, 'embed_tokens');
  const g = model.graph;
  g.addInput('input_ids', 'int64', ['batch_size', 'sequence_length']);
  const table = g.addInitializer('model.embed_tokens.weight', embeddingTable(sizes), [
    sizes.vocabSize,
    sizes.hiddenSize,
  ]);
  g.withScope('/model/embed_tokens', () => blocks.op.gather(table, 'input_ids', 0, { output: 'inputs_embeds' }));
  g.addOutput('inputs_embeds', sizes.dtype, ['batch_size', 'sequence_length', sizes.hiddenSize]);
  return model;
}

/** `decoder_model_merged.onnx`: the LLaMA decoder with its KV cache. */
export function buildDecoder(sizes: TinyVlmSizes): OnnxModel {
  const { model, blocks } = newModel(sizes, 'decoder_model_merged');
  const g = model.graph;
  const op = blocks.op;
  const { hiddenSize: H, heads, kvHeads, headDim: D, layers, vocabSize: V } = sizes;
  const groups = heads / kvHeads;

  g.addInput('inputs_embeds', sizes.dtype, ['batch_size', 'sequence_length', H]);
  g.addInput('attention_mask', 'int64', ['batch_size', 'total_sequence_length']);
  g.addInput('position_ids', 'int64', ['batch_size', 'sequence_length']);
  for (let i = 0; i < layers; i++) {
    const n = cacheNames(i);
    g.addInput(n.pastKey, sizes.dtype, ['batch_size', kvHeads, 'past_sequence_length', D]);
    g.addInput(n.pastValue, sizes.dtype, ['batch_size', kvHeads, 'past_sequence_length', D]);
  }

  // Rotary tables [batch, 1, seq, D] from position_ids: angle = position * theta^(-2i/D).
  const { cos, sin } = g.withScope('/model/rotary_emb', () => {
    const inverse = Array.from({ length: D / 2 }, (_, i) => 1 / sizes.ropeTheta ** ((2 * i) / D));
    const freq = g.addInitializer('model.rotary_emb.inv_freq', blocks.weights.values(inverse), [D / 2]);
    const positions = op.unsqueeze(op.cast('position_ids', sizes.dtype), [-1]);
    const angles = op.mul(positions, freq);
    const both = op.concat([angles, angles], -1);
    return { cos: op.unsqueeze(op.cos(both), [1]), sin: op.unsqueeze(op.sin(both), [1]) };
  });

  // Additive mask [batch, 1, seq, total]: query at absolute position past+i sees keys 0..past+i that the attention_mask keeps.
  const mask = g.withScope('/model/mask', () => {
    const total = op.squeeze(op.shape('attention_mask', 1, 2), [0]);
    const seq = op.squeeze(op.shape('inputs_embeds', 1, 2), [0]);
    const past = op.sub(total, seq);
    const one = op.int64(1);
    const keys = op.unsqueeze(op.range(op.int64(0), total, one), [0]);
    const queries = op.unsqueeze(op.range(past, total, one), [1]);
    const causal = op.unsqueeze(op.lessOrEqual(keys, queries), [0, 1]);
    const kept = op.cast(op.unsqueeze('attention_mask', [1, 2]), 'bool');
    return op.where(op.and(causal, kept), blocks.scalar(0), blocks.scalar(MASKED_SCORE));
  });

  const rotate = (x: string): string => {
    const [first, second] = op.split(x, [D / 2, D / 2], -1);
    const rotated = op.concat([op.neg(second), first], -1);
    return op.add(op.mul(x, cos), op.mul(rotated, sin));
  };
  const headsOf = (x: string, count: number): string => op.transpose(op.reshape(x, [0, 0, count, D]), [0, 2, 1, 3]);
  const repeatKv = (x: string): string =>
    groups === 1 ? x : op.reshape(op.expand(op.unsqueeze(x, [2]), [1, 1, groups, 1, 1]), [0, heads, -1, D]);

  let hidden = 'inputs_embeds';
  for (let i = 0; i < layers; i++) {
    const prefix = `model.layers.${i}`;
    const names = cacheNames(i);
    hidden = g.withScope(`/model/layers.${i}`, () => {
      const normed = g.withScope('/input_layernorm', () =>
        blocks.rmsNorm(hidden, `${prefix}.input_layernorm`, H, sizes.rmsNormEps),
      );
      const attention = g.withScope('/attn', () => {
        const q = rotate(headsOf(blocks.linear(normed, `${prefix}.self_attn.q_proj`, H, heads * D, false), heads));
        const k = rotate(headsOf(blocks.linear(normed, `${prefix}.self_attn.k_proj`, H, kvHeads * D, false), kvHeads));
        const v = headsOf(blocks.linear(normed, `${prefix}.self_attn.v_proj`, H, kvHeads * D, false), kvHeads);
        const keys = op.concat([names.pastKey, k], 2, { output: names.presentKey });
        const values = op.concat([names.pastValue, v], 2, { output: names.presentValue });
        const scores = op.mul(
          op.matMul(q, op.transpose(repeatKv(keys), [0, 1, 3, 2])),
          blocks.scalar(1 / Math.sqrt(D)),
        );
        const probabilities = op.softmax(op.add(scores, mask), -1, { name: attentionSoftmaxName(i) });
        const context = op.reshape(op.transpose(op.matMul(probabilities, repeatKv(values)), [0, 2, 1, 3]), [
          0,
          0,
          heads * D,
        ]);
        return blocks.linear(context, `${prefix}.self_attn.o_proj`, heads * D, H, false);
      });
      const afterAttention = op.add(hidden, attention);
      const normed2 = g.withScope('/post_attention_layernorm', () =>
        blocks.rmsNorm(afterAttention, `${prefix}.post_attention_layernorm`, H, sizes.rmsNormEps),
      );
      const mlp = g.withScope('/mlp', () => {
        const gate = blocks.silu(blocks.linear(normed2, `${prefix}.mlp.gate_proj`, H, sizes.intermediateSize, false));
        const up = blocks.linear(normed2, `${prefix}.mlp.up_proj`, H, sizes.intermediateSize, false);
        return blocks.linear(op.mul(gate, up), `${prefix}.mlp.down_proj`, sizes.intermediateSize, H, false);
      });
      return op.add(afterAttention, mlp);
    });
  }

  g.withScope('/model/norm', () => {
    hidden = blocks.rmsNorm(hidden, 'model.norm', H, sizes.rmsNormEps);
  });
  g.withScope('/lm_head', () => {
    const head = sizes.tieWordEmbeddings ? tiedHead(g, sizes) : blocks.matrix('lm_head.weight', H, V);
    op.matMul(hidden, head, { output: 'logits' });
  });

  g.addOutput('logits', sizes.dtype, ['batch_size', 'sequence_length', V]);
  for (let i = 0; i < layers; i++) {
    const n = cacheNames(i);
    g.addOutput(n.presentKey, sizes.dtype, ['batch_size', kvHeads, 'total_sequence_length', D]);
    g.addOutput(n.presentValue, sizes.dtype, ['batch_size', kvHeads, 'total_sequence_length', D]);
  }
  return model;
}

/** The output head as the transposed embedding table ([H, V]), the same numbers embed_tokens holds. */
function tiedHead(g: OnnxModel['graph'], sizes: TinyVlmSizes): string {
  const table = embeddingTable(sizes);
  const transposed = table instanceof Float64Array ? new Float64Array(table.length) : new Float32Array(table.length);
  for (let v = 0; v < sizes.vocabSize; v++)
    for (let h = 0; h < sizes.hiddenSize; h++) transposed[h * sizes.vocabSize + v] = table[v * sizes.hiddenSize + h];
  return g.addInitializer('lm_head.weight', transposed, [sizes.hiddenSize, sizes.vocabSize]);
}
