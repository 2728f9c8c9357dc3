// ONNX Runtime's GroupQueryAttention rewritten into standard ops with the same
// outputs, so the teaching graph can differentiate through it and the
// attention regularization finds each layer's probabilities in a Softmax.
import type { OnnxGraph } from '../graph.ts';
import type { OnnxNode } from '../node.ts';
import { Attr } from '../node.ts';
import { Ops } from '../ops.ts';
import { makeFloatTensor, type FloatElementType } from '../tensor.ts';
import { GradientError, isFloatType } from './emitter.ts';
import { GraphFacts } from './facts.ts';
import { applyRotary, staticDim } from './fused-rotary.ts';

/** GroupQueryAttention's inputs by position (ONNX Runtime 1.30's schema). */
const INPUT = {
  query: 0,
  key: 1,
  value: 2,
  pastKey: 3,
  pastValue: 4,
  seqlensK: 5,
  totalSequenceLength: 6,
  cosCache: 7,
  sinCache: 8,
  positionIds: 9,
  attentionBias: 10,
  headSink: 11,
  kScale: 12,
  vScale: 13,
  qNormWeight: 14,
  kNormWeight: 15,
} as const;

/** The most negative finite value of each float type: masked scores, so a row with no key left stays finite. */
const LOWEST: Readonly<Record<FloatElementType, number>> = {
  float32: -3.4028234663852886e38,
  float64: -Number.MAX_VALUE,
  float16: -65504,
  bfloat16: -3.3895313892515355e38,
};

/** Matches the layer index in node names such as `/model/layers.3/attn/GroupQueryAttention`. */
const LAYER_IN_NAME = /layers\.\d+\//;

/**
 * The name scope of the rewritten ops. It carries the layer
 * (`/model/layers.N/...`) so the attention regularization finds one Softmax
 * per layer; a node named without one gets its order among the attention nodes.
 */
export function attentionScope(node: OnnxNode, ordinal: number): string {
  const name = node.name.startsWith('/') ? node.name : `/${node.name || 'GroupQueryAttention'}`;
  return LAYER_IN_NAME.test(name) ? name : `/model/layers.${ordinal}${name}`;
}

/** The attributes the rewrite honours, read and checked. */
interface Settings {
  heads: number;
  kvHeads: number;
  scale: number;
  softcap: number;
  window: number;
  rotary: boolean;
  interleaved: boolean;
}

function settingsOf(node: OnnxNode, refuse: (why: string) => never): Settings {
  const heads = node.int('num_heads', 0);
  const kvHeads = node.int('kv_num_heads', 0);
  if (heads <= 0 || kvHeads <= 0 || heads % kvHeads !== 0)
    refuse(`num_heads (${heads}) must be a positive multiple of kv_num_heads (${kvHeads})`);
  if (node.int('causal', 1) !== 1) refuse('only causal attention (causal = 1) is supported');
  if (node.int('smooth_softmax', 0) === 1)
    refuse('smooth softmax (an extra term in the denominator) has no standard Softmax form');
  if (node.int('sliding_window_cache', 0) !== 0)
    refuse('window-sized KV buffers (sliding_window_cache) are not supported');
  for (const attribute of ['k_quant_type', 'v_quant_type']) {
    if (node.string(attribute, 'NONE') !== 'NONE')
      refuse(`a quantized KV cache (${attribute} ${node.string(attribute)}) is not supported`);
  }
  const qkOutput = node.outputs[3];
  if (qkOutput) refuse('its output_qk output is used');
  const present = (i: number) => Boolean(node.inputs[i]);
  if (present(INPUT.headSink))
    refuse('head_sink (an extra term in the softmax denominator) has no standard Softmax form');
  if (present(INPUT.kScale) || present(INPUT.vScale))
    refuse('a quantized KV cache (k_scale, v_scale) is not supported');
  if (present(INPUT.qNormWeight) || present(INPUT.kNormWeight))
    refuse('per-head Q/K normalization (q_norm_weight, k_norm_weight) is not supported');
  if (node.inputs.length > INPUT.kNormWeight + 1)
    refuse(`it has ${node.inputs.length} inputs, more than the operator defines`);
  if (!present(INPUT.seqlensK) || !present(INPUT.totalSequenceLength))
    refuse('it needs its seqlens_k and total_sequence_length inputs');
  if (present(INPUT.key) !== present(INPUT.value))
    refuse('key and value must both be given, or both packed into query');
  if (present(INPUT.pastKey) !== present(INPUT.pastValue))
    refuse('past_key and past_value must both be given or both absent');
  const rotary = node.int('do_rotary', 0) === 1;
  if (rotary && (!present(INPUT.cosCache) || !present(INPUT.sinCache)))
    refuse('do_rotary needs cos_cache and sin_cache');
  const window = node.int('local_window_size', -1);
  return {
    heads,
    kvHeads,
    scale: node.float('scale', 0),
    softcap: node.float('softcap', 0),
    window: window > 0 ? window : -1,
    rotary,
    interleaved: node.int('rotary_interleaved', 0) === 1,
  };
}

/** The float type the attention computes in: the query's, else the cache's. */
function computeType(facts: GraphFacts, node: OnnxNode, refuse: (why: string) => never): FloatElementType {
  for (const i of [INPUT.query, INPUT.pastKey, INPUT.cosCache]) {
    const type = node.inputs[i] ? facts.of(node.inputs[i]).type : undefined;
    if (isFloatType(type)) return type;
  }
  for (const out of node.outputs) {
    const type = out ? facts.of(out).type : undefined;
    if (isFloatType(type)) return type;
  }
  return refuse('the element type of its query is not known from the graph');
}

/**
 * Rewrites one com.microsoft GroupQueryAttention node into standard ops whose
 * outputs keep its output names, with ONNX Runtime's semantics:
 * - the prompt is the first one when the query is as long as
 *   total_sequence_length; then every sequence's past length is 0, else it is
 *   seqlens_k + 1 - sequence_length (seqlens_k + 1 is a sequence's length);
 * - rotary positions are past length + step (position_ids replaces them:
 *   only its first element on the first prompt);
 * - present = that many past rows, then the new keys, then zeros, over
 *   max(total_sequence_length, past buffer length) rows;
 * - query i attends key j when j <= past + i, j < its sequence length and,
 *   with local_window_size W, j > past + i - W; scores are scaled, softcapped
 *   (cap * tanh(x / cap)), then attention_bias is added, then masked.
 */
export function rewriteGroupQueryAttention(graph: OnnxGraph, node: OnnxNode, scope: string): void {
  const refuse = (why: string): never => {
    throw new GradientError(
      `Cannot rewrite node "${node.name}" (com.microsoft GroupQueryAttention) into standard ops: ${why}.`,
    );
  };
  const s = settingsOf(node, refuse);
  const facts = new GraphFacts(graph);
  const type = computeType(facts, node, refuse);
  const input = (i: number): string | undefined => node.inputs[i] || undefined;
  const query = node.inputs[INPUT.query];
  const packed = !input(INPUT.key);
  const queryWidth = staticDim(facts, query, 2);
  const head = queryWidth === undefined ? undefined : queryWidth / (packed ? s.heads + 2 * s.kvHeads : s.heads);
  const [output, presentKeyName, presentValueName] = node.outputs;
  graph.removeNodes([node]);

  graph.withScope(scope, () => {
    const op = new Ops(graph);
    const int64 = (x: string) => (facts.of(x).type === 'int64' ? x : op.cast(x, 'int64'));
    const zero = op.int64(0);
    const one = op.int64(1);

    // Heads, [B, S, heads, D].
    let q: string;
    let k: string;
    let v: string;
    if (packed) {
      const all = op.reshape(query, [0, 0, s.heads + 2 * s.kvHeads, -1]);
      q = op.slice(all, [0], [s.heads], [2]);
      k = op.slice(all, [s.heads], [s.heads + s.kvHeads], [2]);
      v = op.slice(all, [s.heads + s.kvHeads], [s.heads + 2 * s.kvHeads], [2]);
    } else {
      q = op.reshape(query, [0, 0, s.heads, -1]);
      k = op.reshape(input(INPUT.key) as string, [0, 0, s.kvHeads, -1]);
      v = op.reshape(input(INPUT.value) as string, [0, 0, s.kvHeads, -1]);
    }

    // Lengths (int64): S new tokens, each sequence's length and past length, the present length T.
    const sequence = op.gather(op.shape(query), one, 0);
    const total = op.reshape(int64(node.inputs[INPUT.totalSequenceLength]), op.int64s([], [0]));
    const lengths = op.add(int64(node.inputs[INPUT.seqlensK]), one); // [B]
    const pastKey = input(INPUT.pastKey);
    const pastValue = input(INPUT.pastValue);
    const pastBuffer = pastKey ? op.gather(op.shape(pastKey), op.int64(2), 0) : zero;
    const presentLength = op.node('Max', [total, pastBuffer]);
    const firstPrompt = op.equal(sequence, total);
    const past = op.where(firstPrompt, zero, op.sub(lengths, sequence)); // [B]
    const steps = op.range(zero, sequence, one); // [S]
    const queryPositions = op.add(op.unsqueeze(past, [1]), op.unsqueeze(steps, [0])); // [B, S]

    if (s.rotary) {
      let positions = queryPositions;
      const ids = input(INPUT.positionIds);
      if (ids) {
        const given = int64(ids);
        const fromFirst = op.add(op.slice(given, [0, 0], [1, 1], [0, 1]), op.unsqueeze(steps, [0])); // [1, S]
        positions = op.where(firstPrompt, fromFirst, given);
      }
      const rotary = {
        positions,
        cos: node.inputs[INPUT.cosCache],
        sin: node.inputs[INPUT.sinCache],
        interleaved: s.interleaved,
        layout: 'bsnh' as const,
        half: staticDim(facts, node.inputs[INPUT.cosCache], 1),
        head,
      };
      q = graph.withScope('/rotary_q', () => applyRotary(graph, q, rotary));
      k = graph.withScope('/rotary_k', () => applyRotary(graph, k, rotary));
    }
    const toHeadsFirst = (x: string) => op.transpose(x, [0, 2, 1, 3]);
    const keyIndex = op.range(zero, presentLength, one); // [T]
    const cache = { past, sequence, presentLength, keyIndex, type };
    const presentKey = graph.withScope('/present_key', () =>
      placeInCache(op, toHeadsFirst(k), pastKey, cache, presentKeyName || undefined),
    );
    const presentValue = graph.withScope('/present_value', () =>
      placeInCache(op, toHeadsFirst(v), pastValue, cache, presentValueName || undefined),
    );

    // Every query head reads kv head h / (heads / kvHeads): repeat the kv heads in place.
    const group = s.heads / s.kvHeads;
    const repeat = (x: string): string => {
      if (group === 1) return x;
      const wide = op.concat([op.shape(x, 0, 2), op.int64s([group]), op.shape(x, 2, 4)], 0);
      const expanded = op.expand(op.unsqueeze(x, [2]), wide); // [B, KV, group, T, D]
      return op.reshape(expanded, op.concat([op.shape(x, 0, 1), op.int64s([s.heads]), op.shape(x, 2, 4)], 0));
    };
    const keys = repeat(presentKey);
    const values = repeat(presentValue);

    let scores = op.matMul(toHeadsFirst(q), op.transpose(keys, [0, 1, 3, 2])); // [B, N, S, T]
    const scale =
      s.scale !== 0
        ? op.scalar(s.scale, type)
        : head !== undefined
          ? op.scalar(1 / Math.sqrt(head), type)
          : runtimeScale(op, q, type);
    scores = op.mul(scores, scale);
    if (s.softcap > 0) {
      const cap = op.scalar(s.softcap, type);
      scores = op.mul(op.tanh(op.div(scores, cap)), cap);
    }
    const bias = input(INPUT.attentionBias);
    if (bias) scores = op.add(scores, bias);

    // [B, S, T]: causal, inside the sequence, inside the local window.
    const keyRow = op.unsqueeze(keyIndex, [0, 1]); // [1, 1, T]
    const queryColumn = op.unsqueeze(queryPositions, [2]); // [B, S, 1]
    let visible = op.and(op.lessOrEqual(keyRow, queryColumn), op.less(keyRow, op.unsqueeze(lengths, [1, 2])));
    if (s.window > 0) visible = op.and(visible, op.less(op.sub(queryColumn, op.int64(s.window)), keyRow));
    const masked = op.where(op.unsqueeze(visible, [1]), scores, op.scalar(LOWEST[type], type));
    const probabilities = op.softmax(masked, -1, { name: `${scope}/Softmax` });

    const context = op.matMul(probabilities, values); // [B, N, S, D]
    op.reshape(op.transpose(context, [0, 2, 1, 3]), [0, 0, -1], { output });
  });
}

/** 1 / sqrt(head size) computed from the shape, for graphs that do not state it. */
function runtimeScale(op: Ops, heads: string, type: FloatElementType): string {
  const size = op.cast(op.gather(op.shape(heads), op.int64(3), 0), type);
  return op.reciprocal(op.sqrt(size));
}

/** The lengths placeInCache needs, shared by keys and values. */
interface CacheLayout {
  past: string;
  sequence: string;
  presentLength: string;
  keyIndex: string;
  type: FloatElementType;
}

/**
 * The present cache [B, KV, T, D] as ONNX Runtime writes it: per sequence,
 * its first `past` rows from the past buffer, then the S new rows, then zeros.
 */
function placeInCache(
  op: Ops,
  fresh: string,
  pastBuffer: string | undefined,
  c: CacheLayout,
  output: string | undefined,
): string {
  const zero = op.int64(0);
  const keyRow = op.unsqueeze(c.keyIndex, [0]); // [1, T]
  const relative = op.sub(keyRow, op.unsqueeze(c.past, [1])); // [B, T]: row within the new tokens
  const lastNew = op.sub(c.sequence, op.int64(1));
  const clamped = op.node('Max', [op.node('Min', [relative, lastNew]), zero]);
  const fullShape = op.concat([op.shape(fresh, 0, 2), op.reshape(c.presentLength, [1]), op.shape(fresh, 3, 4)], 0);
  const picked = gatherRows(op, fresh, op.unsqueeze(clamped, [1, 3]), fullShape, c);
  const isNew = op.unsqueeze(op.and(op.node('Not', [op.less(relative, zero)]), op.less(relative, c.sequence)), [1, 3]); // [B, 1, T, 1]
  const noPast = !pastBuffer;
  const placed = op.where(isNew, picked, op.scalar(0, c.type), noPast ? { output } : {});
  if (noPast) return placed;
  // The past buffer, padded with zeros to T rows (T >= its length).
  const pastLength = op.gather(op.shape(pastBuffer), op.int64(2), 0);
  const padShape = op.concat(
    [op.shape(pastBuffer, 0, 2), op.reshape(op.sub(c.presentLength, pastLength), [1]), op.shape(pastBuffer, 3, 4)],
    0,
  );
  const zeros = op.node('ConstantOfShape', [padShape], {
    value: Attr.tensor(makeFloatTensor('value', c.type, [0], [1])),
  });
  const padded = op.concat([pastBuffer, zeros], 2);
  const isPast = op.unsqueeze(op.less(keyRow, op.unsqueeze(c.past, [1])), [1, 3]);
  return op.where(isPast, padded, placed, { output });
}

/**
 * Rows `index` [B, 1, T, 1] of `fresh` [B, KV, S, D] along the sequence axis:
 * GatherElements where its gradient exists (opset 16), else a one-hot MatMul.
 */
function gatherRows(op: Ops, fresh: string, index: string, fullShape: string, c: CacheLayout): string {
  if ((op.graph.opsetVersion('') ?? 17) >= 16)
    return op.node('GatherElements', [fresh, op.expand(index, fullShape)], { axis: 2 });
  const newRows = op.range(op.int64(0), c.sequence, op.int64(1));
  const oneHot = op.cast(op.equal(index, op.unsqueeze(newRows, [0, 1, 2])), c.type); // [B, 1, T, S]
  return op.matMul(oneHot, fresh);
}
