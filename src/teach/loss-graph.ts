// The loss MyVLM optimizes, appended to the decoder's own graph so that one
// ONNX model computes logits, loss and gradient: cross-entropy on the answer
// tokens (labels -100 elsewhere) plus the attention regularization of
// ALGORITHM.md section 4 over every layer's attention probabilities.
import { EMBEDDING_TRAINING } from '../config/defaults.ts';
import type { OnnxGraph } from '../onnx/graph.ts';
import type { OnnxNode } from '../onnx/node.ts';
import type { OnnxModel } from '../onnx/model.ts';
import { Ops } from '../onnx/ops.ts';
import { GradientError, isFloatType } from '../onnx/grad/emitter.ts';
import { GraphFacts } from '../onnx/grad/facts.ts';
import { buildGradientModel, type GradientModel } from '../onnx/grad/gradient-model.ts';

/** Graph inputs the loss adds to the decoder. */
export const LOSS_INPUTS = {
  /** int64 [batch, sequence]: next-token targets aligned with the inputs (shifted inside), -100 where ignored. */
  labels: 'labels',
  /**
   * int64 [batch]: position of the concept token among the positions fed
   * (after the cached ones, when a prefix cache is fed), -1 for none.
   */
  conceptPosition: 'concept_position',
  /** Scalar of the model's float type: the regularization weight lambda. */
  attentionLambda: 'attention_lambda',
} as const;

/** Outputs of the teaching model besides the gradient. */
export const LOSS_OUTPUTS = {
  loss: 'loss',
  caption: 'caption_loss',
  attention: 'attention_loss',
  /** d loss / d inputs_embeds. */
  embedsGradient: 'inputs_embeds_grad',
} as const;

/** Which attention entries of the concept token are regularized. */
export type AttentionDirection = 'row' | 'column';

/** Options of the loss graph; defaults in the comments. */
export interface CaptionLossOptions {
  /** 'row' (the authors' code, default) or 'column' (the paper's text). */
  direction?: AttentionDirection;
  /** The decoder's logits output (default 'logits'). */
  logits?: string;
  /** Attention-probability values, one per layer; default: found in the graph (`findAttentionProbabilities`). */
  attentionProbabilities?: readonly string[];
}

const LAYER_PATTERN = /layers\.(\d+)\//;

/**
 * The attention probabilities of every decoder layer: outputs of the Softmax
 * nodes named like `/model/layers.N/.../Softmax` (what Optimum and the tiny
 * factories export), ordered by layer. Falls back to every 4-D Softmax when
 * none is named that way. Throws when the decoder has none (fused attention).
 */
export function findAttentionProbabilities(graph: OnnxGraph): string[] {
  const softmaxes = graph
    .topologicalOrder()
    .filter((n) => n.opType === 'Softmax' && (n.domain === '' || n.domain === 'ai.onnx'));
  const named = softmaxes
    .map((n) => ({ node: n, layer: LAYER_PATTERN.exec(n.name)?.[1] }))
    .filter((x): x is { node: (typeof softmaxes)[number]; layer: string } => x.layer !== undefined);
  if (named.length > 0) {
    const byLayer = new Map<number, string>();
    for (const { node, layer } of named) if (!byLayer.has(Number(layer))) byLayer.set(Number(layer), node.outputs[0]);
    return [...byLayer.entries()].sort((a, b) => a[0] - b[0]).map(([, value]) => value);
  }
  const facts = new GraphFacts(graph);
  const fourD = softmaxes.filter((n) => facts.rank(n.inputs[0]) === 4).map((n) => n.outputs[0]);
  if (fourD.length === 0) {
    throw new GradientError(
      'The decoder has no attention Softmax nodes (its attention is probably fused); the attention regularization cannot find the probabilities.',
    );
  }
  return fourD;
}

/** Element-wise steps that may sit between the language-model head and the logits output (float16 exports cast back to float32). */
const PASS_THROUGH = new Set(['Cast', 'Identity']);

/** Matrix products a language-model head is written with. */
const HEAD_OPS = new Set(['MatMul', 'MatMulNBits', 'MatMulBnb4']);

/**
 * The node whose first input is what the language-model head reads (the
 * final hidden states): the head's own matrix product, or for a dynamically
 * quantized head (q8: DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul)
 * its quantizer, when nothing else reads from it. Null when the graph writes
 * its head some other way.
 */
function headInput(graph: OnnxGraph, logits: string): OnnxNode | null {
  let node = graph.producer(logits);
  while (node && PASS_THROUGH.has(node.opType)) node = graph.producer(node.inputs[0]);
  if (!node) return null;
  if (HEAD_OPS.has(node.opType)) return node;
  if (node.opType !== 'Mul') return null;
  for (const input of node.inputs) {
    const cast = graph.producer(input);
    const product = cast?.opType === 'Cast' ? graph.producer(cast.inputs[0]) : undefined;
    const quantizer = product?.opType === 'MatMulInteger' ? graph.producer(product.inputs[0]) : undefined;
    if (
      quantizer?.opType === 'DynamicQuantizeLinear' &&
      quantizer.outputs.every((o) => graph.consumers(o).every((c) => c === product || c === node))
    )
      return quantizer;
  }
  return null;
}

/**
 * The logits of the labelled positions only, [K, vocabulary]: the hidden
 * states the language-model head reads are gathered at `rows` (flat
 * [batch * sequence] indices) before the head, so neither the forward nor
 * the backward pass holds a [batch, sequence, vocabulary] tensor (462 MB per
 * 760-token sequence with a 152,000-token vocabulary). A head written some
 * other way keeps all positions, and the rows are gathered from its output.
 */
function labelledLogits(graph: OnnxGraph, op: Ops, logits: string, rows: string): string {
  const facts = new GraphFacts(graph);
  // Rows of x, [-1, last dimension], declared so that the gradient rules know the ranks a computed shape hides.
  const rowsOf = (x: string): string => {
    const width = facts.of(x).shape?.at(-1) ?? 'width';
    const flat = op.reshape(
      x,
      op.concat([op.int64s([-1]), op.slice(op.shape(x), [-1], [Number.MAX_SAFE_INTEGER], [0])], 0),
    );
    declare(graph, facts, flat, x, ['rows', width]);
    return flat;
  };
  const picked = (x: string): string => {
    const out = op.gather(rowsOf(x), rows, 0);
    declare(graph, facts, out, x, ['labelled', facts.of(x).shape?.at(-1) ?? 'width']);
    return out;
  };
  const head = headInput(graph, logits);
  if (!head) return picked(logits);
  const hidden = head.inputs[0];
  const gathered = op.unsqueeze(picked(hidden), [0]); // [1, K, hidden]
  declare(graph, facts, gathered, hidden, [1, 'labelled', facts.of(hidden).shape?.at(-1) ?? 'width']);
  graph.rewireInput(head, 0, gathered);
  return rowsOf(logits);
}

/** Declares a value's type (that of `like`) and shape in the graph. */
function declare(graph: OnnxGraph, facts: GraphFacts, value: string, like: string, shape: (number | string)[]): void {
  const type = facts.of(like).type;
  if (type) graph.setValueInfo(value, type, shape);
}

/**
 * Appends MyVLM's loss to a decoder graph and returns the total loss value.
 * Adds the inputs of LOSS_INPUTS and names the parts LOSS_OUTPUTS.caption
 * and LOSS_OUTPUTS.attention.
 */
export function appendCaptionLoss(graph: OnnxGraph, options: CaptionLossOptions = {}): string {
  const op = new Ops(graph);
  const facts = new GraphFacts(graph);
  const logitsType = facts.of(options.logits ?? 'logits').type;
  if (!isFloatType(logitsType))
    throw new GradientError(
      `The decoder's "${options.logits ?? 'logits'}" output is ${logitsType ?? 'of unknown type'}; teaching needs floating-point logits.`,
    );
  // The loss is float32 (float64 for float64 decoders) whatever precision the decoder computes in.
  const type = logitsType === 'float64' ? 'float64' : 'float32';
  const inLossType = (value: string): string => (facts.of(value).type === type ? value : op.cast(value, type));
  graph.addInput(LOSS_INPUTS.labels, 'int64', ['batch_size', 'sequence_length']);
  graph.addInput(LOSS_INPUTS.conceptPosition, 'int64', ['batch_size']);
  graph.addInput(LOSS_INPUTS.attentionLambda, type, []);
  const zero = op.int64(0);
  const one = op.int64(1);
  // Shape(x)[axis] as a scalar (Shape's start/end attributes need opset 15).
  const dim = (x: string, axis: number): string => op.gather(op.shape(x), op.int64(axis), 0);

  const caption = graph.withScope('/loss/caption', () => {
    // Position t predicts token t+1, as in Hugging Face's causal-LM loss. Only the labelled positions count.
    const targets = op.slice(LOSS_INPUTS.labels, [1], [Number.MAX_SAFE_INTEGER], [1]); // [batch, sequence - 1]
    const flatTargets = op.reshape(targets, [-1]);
    const labelled = op.reshape(
      op.node('NonZero', [op.node('Not', [op.equal(flatTargets, op.int64(EMBEDDING_TRAINING.ignoreLabel))])]),
      [-1],
    ); // [K]
    const picked = graph.withScope('/targets', () => op.gather(flatTargets, labelled, 0)); // [K]
    // The labelled positions in the [batch * sequence] order of the logits: b * (S - 1) + t becomes b * S + t.
    const positionsPerRow = op.sub(dim(LOSS_INPUTS.labels, 1), one);
    const rows = op.add(labelled, op.div(labelled, positionsPerRow));
    const scores = inLossType(labelledLogits(graph, op, options.logits ?? 'logits', rows)); // [K, vocabulary]
    const logProbabilities = op.node('LogSoftmax', [scores], { axis: -1 });
    // A one-hot product picks each target's log-probability: [K, vocabulary] is small (K labelled positions) and differentiable at every opset.
    const oneHot = op.cast(
      op.equal(op.unsqueeze(picked, [1]), op.unsqueeze(op.range(zero, dim(scores, 1), one), [0])),
      type,
    );
    const chosen = op.mul(logProbabilities, oneHot);
    const count = op.node('Max', [op.cast(dim(picked, 0), type), op.scalar(1, type)]);
    return op.div(op.neg(op.reduceSum(chosen, [0, 1], false)), count, { output: LOSS_OUTPUTS.caption });
  });

  const probabilities = options.attentionProbabilities ?? findAttentionProbabilities(graph);
  const direction = options.direction ?? EMBEDDING_TRAINING.attentionDirection;
  const attention = graph.withScope('/loss/attention', () => {
    // A sequence without a concept (position -1) adds nothing; the others read their concept's row (or column).
    const present = op.cast(op.node('GreaterOrEqual', [LOSS_INPUTS.conceptPosition, zero]), type); // [batch]
    const at = op.node('Max', [LOSS_INPUTS.conceptPosition, zero]);
    const perLayer = probabilities.map((p) =>
      graph.withScope(`/layer`, () => {
        // p: [batch, heads, queries, keys]; the keys are the cached positions, then the queries. A one-hot product picks the
        // concept's query row (or key column, past the cached keys) without a masked copy of p.
        const probability = inLossType(p);
        const queries = dim(probability, 2);
        const keys = dim(probability, 3);
        const index = direction === 'row' ? at : op.add(at, op.sub(keys, queries));
        const hit = op.cast(
          op.equal(
            op.unsqueeze(op.range(zero, direction === 'row' ? queries : keys, one), [0]),
            op.unsqueeze(index, [1]),
          ),
          type,
        ); // [batch, length]
        const selected =
          direction === 'row'
            ? op.node('MatMul', [op.reshape(hit, [0, 1, 1, -1]), probability]) // [batch, heads, 1, keys]
            : op.node('MatMul', [probability, op.reshape(hit, [0, 1, -1, 1])]); // [batch, heads, queries, 1]
        const squares = op.mul(op.mul(selected, selected), op.reshape(present, [-1, 1, 1, 1]));
        const mean = op.reduceMean(squares, [0, 1, 2, 3], false);
        // A column's mean is over every position of the sequence, as without a cache: the cached queries precede the
        // concept and attend to it with probability 0 (causal mask), so only the count changes.
        return direction === 'row' ? mean : op.mul(mean, op.div(op.cast(queries, type), op.cast(keys, type)));
      }),
    );
    const total = perLayer.length === 1 ? perLayer[0] : op.node('Sum', perLayer);
    return op.mul(total, LOSS_INPUTS.attentionLambda, { output: LOSS_OUTPUTS.attention });
  });
  return graph.withScope('/loss', () => op.add(caption, attention, { output: LOSS_OUTPUTS.loss + '_total' }));
}

/** The teaching model of a decoder and the names of its outputs. */
export interface TeachingModel extends GradientModel {
  /** Output name of d loss / d inputs_embeds. */
  embedsGradient: string;
  /** Layers whose attention is regularized. */
  attentionLayers: number;
}

/**
 * Builds the model `/teach` trains with: the decoder, MyVLM's loss, and the
 * gradient of the loss with respect to `inputs_embeds` (every weight frozen).
 * Outputs: loss, caption_loss, attention_loss, inputs_embeds_grad.
 */
export function buildTeachingModel(
  decoder: OnnxModel,
  options: CaptionLossOptions & { embeds?: string } = {},
): TeachingModel {
  const embeds = options.embeds ?? 'inputs_embeds';
  let layers = 0;
  const built = buildGradientModel(decoder, {
    wrt: [embeds],
    loss: (graph) => {
      const probabilities = options.attentionProbabilities ?? findAttentionProbabilities(graph);
      layers = probabilities.length;
      return appendCaptionLoss(graph, { ...options, attentionProbabilities: probabilities });
    },
    keep: [LOSS_OUTPUTS.caption, LOSS_OUTPUTS.attention],
    lossOutput: LOSS_OUTPUTS.loss,
  });
  const embedsGradient = built.gradients[embeds];
  if (embeds === 'inputs_embeds' && embedsGradient !== LOSS_OUTPUTS.embedsGradient) {
    throw new GradientError(
      `The decoder already has a value named ${LOSS_OUTPUTS.embedsGradient}; the teaching graph cannot name its gradient output.`,
    );
  }
  return { ...built, embedsGradient, attentionLayers: layers };
}
