// Reverse-mode differentiation of an ONNX graph: walks the nodes between the
// differentiated inputs and a scalar loss backwards, asks each node's rule for
// its input gradients, and sums the contributions a value receives from its
// several consumers. Groups of nodes that only make sense together (a matched
// region, see rules/region.ts) are walked as one unit with one rule. The
// result is more nodes in the same graph.
import { InternalError } from '../../errors.ts';
import { OnnxGraph } from '../graph.ts';
import { Attr, OnnxNode } from '../node.ts';
import { makeFloatTensor } from '../tensor.ts';
import { GradEmitter, GradientError, isFloatType } from './emitter.ts';
import { GraphFacts } from './facts.ts';
import type { GradContext, GradRule } from './rule.ts';
import { CONTRIB_OUTPUT_FACTS, GRADIENT_REGIONS, gradientRuleFor, NO_GRADIENT_OPS } from './rules/index.ts';
import type { GradRegion } from './rules/region.ts';

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
  /** Regions walked as one unit, for logs and tests. */
  regions: GradRegion[];
}

/**
 * One step of the backward walk: a forward node, or a stand-in for a region
 * (a node outside the graph whose inputs and outputs are the region's).
 */
interface Unit {
  node: OnnxNode;
  region?: GradRegion;
}

function describe(unit: Unit): string {
  if (unit.region) return `region "${unit.region.name}" (${unit.region.description})`;
  const node = unit.node;
  return `node "${node.name || '(unnamed)'}" (${node.domain ? `${node.domain} ` : ''}${node.opType})`;
}

function isConstant(graph: OnnxGraph, value: string): boolean {
  return graph.isInitializer(value) || graph.producer(value)?.opType === 'Constant';
}

/** Throws unless the region is closed: its inner values stay inside, it reads only its inputs and constants. */
function checkClosed(graph: OnnxGraph, region: GradRegion): void {
  const members = new Set(region.nodes);
  const inner = new Set(region.nodes.flatMap((n) => n.outputs.filter(Boolean)));
  const outputs = new Set(region.outputs);
  const graphOutputs = new Set(graph.outputs.map((o) => o.name));
  const fail = (why: string) => {
    throw new InternalError(`The gradient region "${region.name}" (${region.description}) is malformed: ${why}.`);
  };
  for (const out of region.outputs) if (!inner.has(out)) fail(`its output "${out}" is not computed inside it`);
  for (const value of inner) {
    if (outputs.has(value)) continue;
    if (graphOutputs.has(value)) fail(`its inner value "${value}" is a graph output`);
    if (graph.consumers(value).some((c) => !members.has(c))) fail(`its inner value "${value}" is read outside it`);
  }
  const inputs = new Set(region.inputs);
  for (const node of region.nodes) {
    for (const i of node.inputs) {
      if (i && !inner.has(i) && !inputs.has(i) && !isConstant(graph, i))
        fail(`node "${node.name}" reads "${i}", which is neither an input of the region nor a constant`);
    }
  }
}

/** The regions the matchers find, each node claimed by at most one. */
function findRegions(graph: OnnxGraph, facts: GraphFacts): GradRegion[] {
  const claimed = new Set<OnnxNode>();
  const regions: GradRegion[] = [];
  for (const node of graph.topologicalOrder()) {
    if (claimed.has(node)) continue;
    const domain = node.domain === 'ai.onnx' ? '' : node.domain;
    for (const matcher of GRADIENT_REGIONS) {
      if (matcher.domain !== domain || matcher.opType !== node.opType) continue;
      const region = matcher.match(graph, facts, node);
      if (!region) continue;
      if (region.nodes.some((n) => claimed.has(n))) {
        throw new InternalError(
          `The gradient region "${region.name}" overlaps another region; a node can be differentiated only once.`,
        );
      }
      checkClosed(graph, region);
      for (const n of region.nodes) claimed.add(n);
      regions.push(region);
      break;
    }
  }
  return regions;
}

/** The units of the backward walk in forward (topological) order: plain nodes and region stand-ins. */
function differentiableUnits(graph: OnnxGraph, regions: readonly GradRegion[]): Unit[] {
  const regionOf = new Map<OnnxNode, GradRegion>();
  for (const region of regions) for (const n of region.nodes) regionOf.set(n, region);
  const units: Unit[] = [];
  const placed = new Set<GradRegion>();
  for (const node of graph.topologicalOrder()) {
    const region = regionOf.get(node);
    if (!region) {
      units.push({ node });
      continue;
    }
    if (placed.has(region)) continue;
    placed.add(region);
    const stand = new OnnxNode({
      name: region.name,
      opType: 'GradientRegion',
      input: [...region.inputs],
      output: [...region.outputs],
    });
    units.push({ node: stand, region });
  }
  if (regions.length === 0) return units;
  // A stand-in sits where its region's first node was; sorting the units
  // again puts it after every producer of its inputs.
  const byProto = new Map(units.map((u) => [u.node.proto, u]));
  const order = new OnnxGraph({ node: units.map((u) => u.node.proto) }).topologicalOrder();
  return order.map((n) => byProto.get(n.proto) as Unit);
}

function requiringGradientOf(units: readonly Unit[], facts: GraphFacts, wrt: readonly string[]): Set<string> {
  const requires = new Set(wrt);
  for (const { node, region } of units) {
    if (!region && NO_GRADIENT_OPS.has(node.opType) && (node.domain === '' || node.domain === 'ai.onnx')) continue;
    if (!node.inputs.some((i) => i && requires.has(i))) continue;
    for (const out of node.outputs) {
      if (!out) continue;
      const type = facts.of(out).type;
      if (type === undefined || isFloatType(type)) requires.add(out);
    }
  }
  return requires;
}

/** Values that depend on a differentiated input through differentiable edges, in forward order. */
export function requiringGradient(graph: OnnxGraph, facts: GraphFacts, wrt: readonly string[]): Set<string> {
  return requiringGradientOf(differentiableUnits(graph, findRegions(graph, facts)), facts, wrt);
}

/** Rounds of `declareContribOutputs`: types settle in one, shapes as far as chains of contrib ops allow. */
const DECLARE_ROUNDS = 8;

/**
 * Declares (as value_info) the type, and the shape where known, of contrib
 * outputs that GraphFacts cannot infer and the graph does not declare:
 * exports often leave the last one undeclared (the quantized lm_head before
 * its Cast to float32), and a rule that cannot tell a value's type may lose
 * the gradient through it. Repeats while it learns something, since one
 * contrib op's input can be another's output.
 */
function declareContribOutputs(graph: OnnxGraph): void {
  if (!graph.nodes.some((n) => CONTRIB_OUTPUT_FACTS[`${n.domain}:${n.opType}`])) return;
  for (let round = 0; round < DECLARE_ROUNDS; round++) {
    const facts = new GraphFacts(graph);
    let learned = false;
    for (const node of graph.nodes) {
      const infer = CONTRIB_OUTPUT_FACTS[`${node.domain}:${node.opType}`];
      if (!infer) continue;
      infer(facts, node).forEach((found, i) => {
        const out = node.outputs[i];
        const known = out ? facts.of(out) : undefined;
        if (
          !out ||
          !known ||
          !found.type ||
          (known.type !== undefined && (known.shape !== undefined || found.shape === undefined))
        )
          return;
        graph.setValueInfo(out, found.type, found.shape);
        learned = true;
      });
    }
    if (!learned) return;
  }
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

function ruleOf(unit: Unit, label: string): GradRule {
  if (unit.region) return unit.region.rule;
  const node = unit.node;
  const domain = node.domain === 'ai.onnx' ? '' : node.domain;
  const rule = gradientRuleFor(domain, node.opType);
  if (!rule)
    throw new GradientError(
      `Cannot differentiate ${label}: there is no gradient rule for ${domain ? `${domain} ` : ''}${node.opType}.`,
    );
  return rule;
}

/**
 * Appends the backward pass of `spec.loss` with respect to `spec.wrt` to
 * `graph` and returns the gradient value names. Every node between the two
 * needs a rule (see rules/) or must belong to a matched region; shape and
 * mask computations pass no gradient. Throws a GradientError naming the node
 * when one cannot be differentiated.
 */
export function appendBackward(graph: OnnxGraph, spec: BackwardSpec): BackwardResult {
  for (const name of spec.wrt) {
    const isInput = graph.inputs.some((i) => i.name === name) || graph.isInitializer(name);
    if (!isInput)
      throw new InternalError(
        `"${name}" is neither an input nor an initializer of the graph; only those can be differentiated.`,
      );
  }
  declareContribOutputs(graph);
  const facts = new GraphFacts(graph);
  const emit = new GradEmitter(graph, facts);
  const regions = findRegions(graph, facts);
  const units = differentiableUnits(graph, regions);
  const requires = requiringGradientOf(units, facts, spec.wrt);
  const feeding = feedingLoss(graph, spec.loss);
  if (!requires.has(spec.loss)) {
    throw new GradientError(
      `The loss "${spec.loss}" does not depend on ${spec.wrt.map((w) => `"${w}"`).join(', ')} through differentiable operations.`,
    );
  }
  const active = units.filter(
    ({ node }) =>
      node.outputs.some((o) => o && requires.has(o) && feeding.has(o)) && node.inputs.some((i) => i && requires.has(i)),
  );

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

    for (const unit of [...active].reverse()) {
      const node = unit.node;
      if (!node.outputs.some((o) => o && contributions.has(o))) continue;
      const label = describe(unit);
      const rule = ruleOf(unit, label);
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
  const differentiated = active.flatMap((u) => (u.region ? [...u.region.nodes] : [u.node]));
  return { gradients, differentiated, regions };
}
