// Fused inference operators (ONNX Runtime's contrib ops) have no gradient
// rules of their own. Normalizations, GroupQueryAttention and RotaryEmbedding
// are rewritten into the standard ops they fuse, with the same output names;
// the other attention kernels are refused by name, because rewriting them
// would silently change what the user's model computes.
import type { OnnxGraph } from '../graph.ts';
import type { OnnxNode } from '../node.ts';
import { Attr } from '../node.ts';
import { floatValues, int64Values } from '../tensor.ts';
import { GradientError, isFloatType } from './emitter.ts';
import { GraphFacts, normalize } from './facts.ts';
import { attentionScope, rewriteGroupQueryAttention } from './fused-attention.ts';
import { rewriteRotaryEmbedding } from './fused-rotary.ts';
import { gradientRuleFor } from './rules/index.ts';

/** Contrib ops teaching refuses, with the reason shown to the user. */
const REFUSED: Readonly<Record<string, string>> = {
  MultiHeadAttention:
    'its fused attention has no gradient and hides the attention probabilities; export the decoder with plain attention (MatMul, Softmax)',
  Attention:
    'its fused attention has no gradient and hides the attention probabilities; export the decoder with plain attention (MatMul, Softmax)',
  PackedAttention: 'its fused attention has no gradient; export the decoder with plain attention',
};

/** What a rewrite did, for logs and tests. */
export interface FusedRewrite {
  rewritten: { node: string; opType: string }[];
}

function isContribDomain(domain: string): boolean {
  return domain === 'com.microsoft' || domain === '' || domain === 'ai.onnx';
}

/**
 * Rewrites the fused normalizations, GroupQueryAttention and RotaryEmbedding
 * nodes of `graph` into standard ops, and throws a GradientError naming the
 * first fused op that cannot be rewritten. `onPath` limits refusals to nodes
 * the gradient flows through (nodes outside it may stay fused: they only run
 * forward). The graph is left in topological order.
 */
export function rewriteFusedOps(graph: OnnxGraph, onPath: (node: OnnxNode) => boolean = () => true): FusedRewrite {
  const facts = new GraphFacts(graph);
  const rewritten: FusedRewrite['rewritten'] = [];
  let attentionNodes = 0;
  for (const node of graph.topologicalOrder()) {
    const domain = node.domain;
    if (!isContribDomain(domain)) continue;
    const op = node.opType;
    if (
      op === 'SimplifiedLayerNormalization' ||
      op === 'SkipSimplifiedLayerNormalization' ||
      op === 'SkipLayerNormalization'
    ) {
      rewriteNormalization(graph, facts, node);
    } else if (domain === 'com.microsoft' && op === 'GroupQueryAttention') {
      rewriteGroupQueryAttention(graph, node, attentionScope(node, attentionNodes++));
    } else if (domain === 'com.microsoft' && op === 'RotaryEmbedding') {
      rewriteRotaryEmbedding(graph, node);
    } else {
      if (domain === 'com.microsoft' && onPath(node) && !gradientRuleFor(domain, op)) {
        const reason = REFUSED[op] ?? 'it is an ONNX Runtime contrib operator without a gradient rule';
        throw new GradientError(
          `Cannot teach through this decoder: node "${node.name}" uses com.microsoft ${op}, and ${reason}.`,
        );
      }
      continue;
    }
    rewritten.push({ node: node.name, opType: op });
  }
  if (rewritten.length > 0) {
    // Rewritten ops were appended; keep the stored order a valid one for tools that expect it.
    graph.proto.node = graph.topologicalOrder().map((n) => n.proto);
    graph.refresh();
  }
  return { rewritten };
}

function rewriteNormalization(graph: OnnxGraph, facts: GraphFacts, node: OnnxNode): void {
  const op = node.opType;
  const inputs = node.inputs;
  const outputs = node.outputs;
  const epsilon = node.float('epsilon', 1e-5);
  graph.removeNodes([node]);
  const scope = node.name || op;
  const add = (opType: string, ins: string[], output?: string): string =>
    graph.addNode({ opType, inputs: ins, outputs: output ? [output] : 1, name: `${scope}/${opType}` }).outputs[0];
  // A value computed by an earlier fused node may be unknown to the facts; its weight tells the type.
  const type = facts.of(inputs[0]).type ?? facts.of(op === 'SimplifiedLayerNormalization' ? inputs[1] : inputs[2]).type;
  if (!isFloatType(type)) {
    throw new GradientError(
      `Cannot rewrite node "${node.name}" (${op}): its input type ${type ?? 'unknown'} is not a floating type.`,
    );
  }
  const eps = graph.constant(floatValues(type, [epsilon]), [], { name: `${scope}/epsilon`, elementType: type });
  const opset = graph.opsetVersion('') ?? 17;
  const meanOver = (x: string, axes: number[]): string => {
    if (opset >= 18) {
      const axesName = graph.constant(int64Values(axes), [axes.length], { name: `${scope}/axes` });
      return graph.addNode({
        opType: 'ReduceMean',
        inputs: [x, axesName],
        attributes: { keepdims: 1 },
        name: `${scope}/ReduceMean`,
      }).outputs[0];
    }
    return graph.addNode({
      opType: 'ReduceMean',
      inputs: [x],
      attributes: { axes: Attr.ints(axes), keepdims: 1 },
      name: `${scope}/ReduceMean`,
    }).outputs[0];
  };

  let x = inputs[0];
  let gamma: string;
  let beta: string | undefined;
  let axes = [-1];
  if (op === 'SimplifiedLayerNormalization') {
    gamma = inputs[1];
    const axis = node.int('axis', -1);
    if (axis >= 0) {
      const rank = facts.rank(x);
      if (rank === undefined)
        throw new GradientError(`Cannot rewrite node "${node.name}" (${op}): the rank of its input is not known.`);
      axes = Array.from({ length: rank - normalize(axis, rank) }, (_, i) => normalize(axis, rank) + i);
    } else {
      axes = Array.from({ length: -axis }, (_, i) => axis + i);
    }
  } else {
    // Skip*: input + skip (+ bias), then normalize over the last axis.
    const bias = op === 'SkipLayerNormalization' ? inputs[4] : inputs[3];
    const sumOutput = outputs[3] || undefined;
    let sum = add('Add', [inputs[0], inputs[1]], bias ? undefined : sumOutput);
    if (bias) sum = add('Add', [sum, bias], sumOutput);
    x = sum;
    gamma = inputs[2];
    beta = op === 'SkipLayerNormalization' ? inputs[3] || undefined : undefined;
  }

  const simplified = op !== 'SkipLayerNormalization';
  if (op === 'SkipSimplifiedLayerNormalization' && outputs[1] && graph.consumers(outputs[1]).length > 0) {
    throw new GradientError(
      `Cannot rewrite node "${node.name}" (${op}): its mean output is used, and a simplified normalization has no mean.`,
    );
  }
  const centered = simplified ? x : add('Sub', [x, meanOver(x, axes)]);
  const variance = meanOver(add('Mul', [centered, centered]), axes);
  const inverseName = simplified
    ? (op === 'SimplifiedLayerNormalization' ? outputs[1] : outputs[2]) || undefined
    : outputs[2] || undefined;
  const inverse = add('Reciprocal', [add('Sqrt', [add('Add', [variance, eps])])], inverseName);
  const scaled = add('Mul', [add('Mul', [centered, inverse]), gamma], beta ? undefined : outputs[0]);
  if (beta) add('Add', [scaled, beta], outputs[0]);
  if (!simplified && outputs[1]) add('Identity', [meanOver(x, axes)], outputs[1]);
}
