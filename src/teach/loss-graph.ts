// The loss MyVLM optimizes, appended to the decoder's own graph so that one
// ONNX model computes logits, loss and gradient: cross-entropy on the answer
// tokens (labels -100 elsewhere) plus the attention regularization of
// ALGORITHM.md section 4 over every layer's attention probabilities.
import { EMBEDDING_TRAINING } from '../config/defaults.ts';
import type { OnnxGraph } from '../onnx/graph.ts';
import type { OnnxModel } from '../onnx/model.ts';
import { Ops } from '../onnx/ops.ts';
import { GradientError, isFloatType } from '../onnx/grad/emitter.ts';
import { GraphFacts } from '../onnx/grad/facts.ts';
import { buildGradientModel, type GradientModel } from '../onnx/grad/gradient-model.ts';

/** Graph inputs the loss adds to the decoder. */
export const LOSS_INPUTS = {
  /** int64 [batch, sequence]: next-token targets aligned with the inputs (shifted inside), -100 where ignored. */
  labels: 'labels',
  /** int64 [batch]: position of the concept token in each sequence. */
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
  const softmaxes = graph.topologicalOrder().filter((n) => n.opType === 'Softmax' && (n.domain === '' || n.domain === 'ai.onnx'));
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
    throw new GradientError('The decoder has no attention Softmax nodes (its attention is probably fused); the attention regularization cannot find the probabilities.');
  }
  return fourD;
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
  if (!isFloatType(logitsType)) throw new GradientError(`The decoder's "${options.logits ?? 'logits'}" output is ${logitsType ?? 'of unknown type'}; teaching needs floating-point logits.`);
  // The loss is float32 (float64 for float64 decoders) whatever precision the decoder computes in.
  const type = logitsType === 'float64' ? 'float64' : 'float32';
  const inLossType = (value: string): string => (facts.of(value).type === type ? value : op.cast(value, type));
  const logits = inLossType(options.logits ?? 'logits');
  graph.addInput(LOSS_INPUTS.labels, 'int64', ['batch_size', 'sequence_length']);
  graph.addInput(LOSS_INPUTS.conceptPosition, 'int64', ['batch_size']);
  graph.addInput(LOSS_INPUTS.attentionLambda, type, []);
  const zero = op.int64(0);
  const one = op.int64(1);
  // Shape(x)[axis] as a scalar (Shape's start/end attributes need opset 15).
  const dim = (x: string, axis: number): string => op.gather(op.shape(x), op.int64(axis), 0);

  const caption = graph.withScope('/loss/caption', () => {
    // Position t predicts token t+1, as in Hugging Face's causal-LM loss.
    const predicted = op.slice(logits, [0], [-1], [1]);
    const targets = op.slice(LOSS_INPUTS.labels, [1], [Number.MAX_SAFE_INTEGER], [1]);
    const logProbabilities = op.node('LogSoftmax', [predicted], { axis: -1 });
    const vocabulary = dim(logits, -1);
    // Ignored labels (-100) match no vocabulary index, so their one-hot row is all zeros.
    const oneHot = op.cast(op.equal(op.unsqueeze(targets, [-1]), op.range(zero, vocabulary, one)), type);
    const picked = op.reduceSum(op.mul(logProbabilities, oneHot), [-1], false);
    const counted = op.cast(op.node('Not', [op.equal(targets, op.int64(EMBEDDING_TRAINING.ignoreLabel))]), type);
    const count = op.node('Max', [op.reduceSum(counted, [0, 1], false), op.scalar(1, type)]);
    return op.div(op.neg(op.reduceSum(picked, [0, 1], false)), count, { output: LOSS_OUTPUTS.caption });
  });

  const probabilities = options.attentionProbabilities ?? findAttentionProbabilities(graph);
  const direction = options.direction ?? EMBEDDING_TRAINING.attentionDirection;
  const attention = graph.withScope('/loss/attention', () => {
    const perLayer = probabilities.map((p) =>
      graph.withScope(`/layer`, () => {
        // p: [batch, heads, queries, keys]. Select the concept's query row (or key column) with a one-hot mask.
        const axis = direction === 'row' ? 2 : 3;
        const length = dim(p, axis);
        const hit = op.equal(op.unsqueeze(op.range(zero, length, one), [0]), op.unsqueeze(LOSS_INPUTS.conceptPosition, [1])); // [batch, length]
        const mask = op.cast(op.unsqueeze(hit, direction === 'row' ? [1, 3] : [1, 2]), type);
        const selected = op.reduceSum(op.mul(inLossType(p), mask), [axis], false); // [batch, heads, other]
        return op.reduceMean(op.mul(selected, selected), [0, 1, 2], false);
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
export function buildTeachingModel(decoder: OnnxModel, options: CaptionLossOptions & { embeds?: string } = {}): TeachingModel {
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
    throw new GradientError(`The decoder already has a value named ${LOSS_OUTPUTS.embedsGradient}; the teaching graph cannot name its gradient output.`);
  }
  return { ...built, embedsGradient, attentionLayers: layers };
}
