// Reverse-mode differentiation of an ONNX graph: walks the nodes between the
// differentiated inputs and a scalar loss backwards, asks each node's rule for
// its input gradients, and sums the contributions a value receives from its
// several consumers. The result is more nodes in the same graph.
import type { OnnxGraph } from '../graph.ts';
import type { OnnxNode } from '../node.ts';
import { Attr } from '../node.ts';
import { makeFloatTensor } from '../tensor.ts';
import { GradEmitter, GradientError, isFloatType } from './emitter.ts';
import { GraphFacts } from './facts.ts';
import type { GradContext } from './rule.ts';
import { gradientRuleFor, NO_GRADIENT_OPS } from './rules/index.ts';

/** What to differentiate. */
export interface BackwardSpec {
  /** The value to differentiate (a scalar; a tensor is differentiated as the sum of its elements). */
  loss: string;
  /** Graph inputs or initializers to differentiate the loss with respect to. */
  wrt: readonly string[];
}

/** The differentiated graph's new values. */
export interface BackwardResult {
  /** Gradient value name per differentiated input (same shape as the input). */
  gradients: Record<string, string>;
  /** Forward nodes the gradient flowed through, in forward order. */
  differentiated: OnnxNode[];
}

function describe(node: OnnxNode): string {
  return `node "${node.name || '(unnamed)'}" (${node.domain ? `${node.domain} ` : ''}${node.opType})`;
}

/** Values that depend on a differentiated input through differentiable edges, in forward order. */
export function requiringGradient(graph: OnnxGraph, facts: GraphFacts, wrt: readonly string[]): Set<string> {
  const requires = new Set(wrt);
  for (const node of graph.topologicalOrder()) {
    if (NO_GRADIENT_OPS.has(node.opType) && (node.domain === '' || node.domain === 'ai.onnx')) continue;
    if (!node.inputs.some((i) => i && requires.has(i))) continue;
    for (const out of node.outputs) {
      if (!out) continue;
      const type = facts.of(out).type;
      if (type === undefined || isFloatType(type)) requires.add(out);
    }
  }
  return requires;
}

/** Values the loss depends on (the loss included). */
function feedingLoss(graph: OnnxGraph, loss: string): Set<string> {
  const needed = new Set([loss]);
  for (const node of [...graph.topologicalOrder()].reverse()) {
    if (!node.outputs.some((o) => needed.has(o))) continue;
    for (const i of node.inputs) if (i) needed.add(i);
  }
  return needed;
}

/**
 * Appends the backward pass of `spec.loss` with respect to `spec.wrt` to
 * `graph` and returns the gradient value names. Every node between the two
 * needs a rule (see rules/); shape and mask computations pass no gradient.
 * Throws a GradientError naming the node when one cannot be differentiated.
 */
export function appendBackward(graph: OnnxGraph, spec: BackwardSpec): BackwardResult {
  for (const name of spec.wrt) {
    const isInput = graph.inputs.some((i) => i.name === name) || graph.isInitializer(name);
    if (!isInput) throw new GradientError(`"${name}" is neither an input nor an initializer of the graph; only those can be differentiated.`);
  }
  const facts = new GraphFacts(graph);
  const emit = new GradEmitter(graph, facts);
  const requires = requiringGradient(graph, facts, spec.wrt);
  const feeding = feedingLoss(graph, spec.loss);
  if (!requires.has(spec.loss)) {
    throw new GradientError(`The loss "${spec.loss}" does not depend on ${spec.wrt.map((w) => `"${w}"`).join(', ')} through differentiable operations.`);
  }
  const active = graph
    .topologicalOrder()
    .filter((n) => n.outputs.some((o) => o && requires.has(o) && feeding.has(o)) && n.inputs.some((i) => i && requires.has(i)));

  const contributions = new Map<string, string[]>();
  const totals = new Map<string, string>();
  const contribute = (value: string, grad: string) => {
    const list = contributions.get(value);
    if (list) list.push(grad);
    else contributions.set(value, [grad]);
  };
  const total = (value: string): string | undefined => {
    const done = totals.get(value);
    if (done) return done;
    const parts = contributions.get(value);
    if (!parts || parts.length === 0) return undefined;
    const sum = emit.sum(parts);
    facts.set(sum, facts.of(value));
    totals.set(value, sum);
    return sum;
  };

  graph.withScope('/grad', () => {
    const lossType = emit.floatType(spec.loss);
    const one = makeFloatTensor('value', lossType, [1], [1]);
    const seed = emit.op('ConstantOfShape', [emit.shape(spec.loss)], { value: Attr.tensor(one) });
    facts.set(seed, facts.of(spec.loss));
    contribute(spec.loss, seed);

    for (const node of [...active].reverse()) {
      if (!node.outputs.some((o) => o && contributions.has(o))) continue;
      const label = describe(node);
      const domain = node.domain === 'ai.onnx' ? '' : node.domain;
      const rule = gradientRuleFor(domain, node.opType);
      if (!rule) throw new GradientError(`Cannot differentiate ${label}: there is no gradient rule for ${domain ? `${domain} ` : ''}${node.opType}.`);
      const ctx: GradContext = {
        node,
        emit,
        label,
        input: (i) => node.inputs[i] ?? '',
        output: (i) => node.outputs[i] ?? '',
        grad: (i = 0) => {
          const out = node.outputs[i];
          return out ? total(out) : undefined;
        },
        gradOrZeros: (i) => {
          const out = node.outputs[i];
          return (out ? total(out) : undefined) ?? emit.zerosLike(out);
        },
        wants: (i) => {
          const input = node.inputs[i];
          return Boolean(input) && requires.has(input);
        },
      };
      const scopeName = node.name ? (node.name.startsWith('/') ? node.name : `/${node.name}`) : `/${node.opType}`;
      const grads = graph.withScope(scopeName, () => rule(ctx));
      grads.forEach((grad, i) => {
        const input = node.inputs[i];
        if (grad && input && requires.has(input)) contribute(input, grad);
      });
    }
  });

  const gradients: Record<string, string> = {};
  for (const name of spec.wrt) {
    const grad = graph.withScope('/grad', () => total(name) ?? emit.zerosLike(name));
    gradients[name] = grad;
  }
  return { gradients, differentiated: active };
}
