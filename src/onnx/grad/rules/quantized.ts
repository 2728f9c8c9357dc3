// Gradients of the quantized MatMuls that real exports ship, with respect to
// their float input only: the product of the arriving gradient with the
// transposed dequantized weight. For weights quantized ahead of time
// (MatMulNBits, MatMulBnb4) that is the exact gradient of what the kernel
// computes; where the activation is quantized too (the dynamic
// DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul pattern, and
// MatMulNBits at accuracy_level 4, whose CPU kernel may round A to int8) it
// is the straight-through estimator: the rounding counts as identity. The
// forward nodes stay as exported; only the backward dequantizes, at run time
// (dequantize.ts).
import { InternalError } from '../../../errors.ts';
import type { OnnxGraph } from '../../graph.ts';
import type { OnnxNode } from '../../node.ts';
import { GradientError, isFloatType } from '../emitter.ts';
import type { GraphFacts, ValueFacts } from '../facts.ts';
import type { GradContext, GradRule } from '../rule.ts';
import {
  bnb4RowAlignment,
  bnb4TransposedWeight,
  integerTransposedWeight,
  nbitsTransposedWeight,
  productWithRebuiltWeight,
  type IntegerWeight,
  type Rows,
} from './dequantize.ts';
import { frozenDims } from './frozen-weights.ts';
import type { GradRegion, RegionMatcher } from './region.ts';

function g(ctx: GradContext): string {
  const grad = ctx.grad(0);
  if (!grad) throw new InternalError(`${ctx.label}: no gradient reached its output.`);
  return grad;
}

/** Refuses gradients for anything but input 0 (weights, scales, zero points, bias are frozen). */
function onlyFloatInput(ctx: GradContext): void {
  ctx.node.inputs.forEach((input, i) => {
    if (i > 0 && ctx.wants(i))
      throw new GradientError(
        `Cannot differentiate ${ctx.label} with respect to "${input}": only its float input A gets a gradient; quantized weights, scales and bias stay frozen.`,
      );
  });
}

/** A rule for a MatMul whose weight D [N, K] (transposed) the backward rebuilds: dA = dY · D. */
function weightOnlyQuantized(
  align: (node: OnnxNode) => number,
  transposedWeight: (ctx: GradContext, rows: Rows, anchor: string) => string,
): GradRule {
  return (ctx) => {
    onlyFloatInput(ctx);
    if (!ctx.wants(0)) return [];
    const shape = { n: ctx.node.int('N'), k: ctx.node.int('K'), align: align(ctx.node) };
    const out = productWithRebuiltWeight(ctx.emit, g(ctx), shape, (rows, anchor) =>
      transposedWeight(ctx, rows, anchor),
    );
    ctx.emit.facts.set(out, ctx.emit.of(ctx.input(0)));
    return [out];
  };
}

/**
 * What a quantized contrib MatMul outputs, which GraphFacts cannot infer: the
 * float type of its scales (the type of A by the operator's definition, and
 * known without inference because they are initializers) and A's shape with
 * the last axis N.
 */
function quantizedOutputFacts(facts: GraphFacts, node: OnnxNode): ValueFacts[] {
  const type = facts.of(node.inputs[2] ?? '').type;
  const a = facts.of(node.inputs[0] ?? '').shape;
  return [
    {
      type: isFloatType(type) ? type : facts.of(node.inputs[0] ?? '').type,
      shape: a ? [...a.slice(0, -1), node.int('N')] : undefined,
    },
  ];
}

/** Output facts of the quantized contrib MatMuls, keyed `domain:OpType`. */
export const QUANTIZED_OUTPUT_FACTS: Readonly<Record<string, (facts: GraphFacts, node: OnnxNode) => ValueFacts[]>> = {
  'com.microsoft:MatMulNBits': quantizedOutputFacts,
  'com.microsoft:MatMulBnb4': quantizedOutputFacts,
};

/** Rules of ONNX Runtime's quantized contrib MatMuls, keyed `domain:OpType`. */
export const QUANTIZED_CONTRIB_RULES: Readonly<Record<string, GradRule>> = {
  'com.microsoft:MatMulNBits': weightOnlyQuantized(
    () => 1,
    (ctx, rows, anchor) => nbitsTransposedWeight(ctx.emit, ctx.node, rows, anchor, ctx.label),
  ),
  'com.microsoft:MatMulBnb4': weightOnlyQuantized(bnb4RowAlignment, (ctx, rows, anchor) =>
    bnb4TransposedWeight(ctx.emit, ctx.node, rows, anchor, ctx.label),
  ),
};

// ---- DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul ------------------

/** One integer product fed by a DynamicQuantizeLinear, up to its float output. */
interface IntegerChain {
  matMul: OnnxNode;
  cast: OnnxNode;
  scaleProduct: OnnxNode;
  rescale: OnnxNode;
  weight: IntegerWeight;
}

function frozen(graph: OnnxGraph, value: string): boolean {
  return graph.isInitializer(value) || graph.producer(value)?.opType === 'Constant';
}

function soleConsumer(graph: OnnxGraph, value: string): OnnxNode | undefined {
  const consumers = graph.consumers(value);
  const isGraphOutput = graph.outputs.some((o) => o.name === value);
  return consumers.length === 1 && !isGraphOutput ? consumers[0] : undefined;
}

function isStandard(node: OnnxNode, opType: string): boolean {
  return node.opType === opType && (node.domain === '' || node.domain === 'ai.onnx');
}

/** The other input of a two-input node, when `value` is one of them. */
function otherInput(node: OnnxNode, value: string): string | undefined {
  if (node.inputs.length !== 2) return undefined;
  if (node.inputs[0] === value) return node.inputs[1];
  if (node.inputs[1] === value) return node.inputs[0];
  return undefined;
}

/**
 * The chain MatMulInteger(q, W, zq, Wzp) -> Cast(float) -> Mul(., q_scale * W_scale)
 * that onnxruntime's quantize_dynamic writes, or undefined when `matMul` is
 * not the start of one.
 */
function integerChain(
  graph: OnnxGraph,
  facts: GraphFacts,
  matMul: OnnxNode,
  quantized: string,
  scale: string,
  zeroPoint: string,
): IntegerChain | undefined {
  if (!isStandard(matMul, 'MatMulInteger') || matMul.inputs[0] !== quantized || (matMul.inputs[2] ?? '') !== zeroPoint)
    return undefined;
  const weight = matMul.inputs[1];
  const weightZeroPoint = matMul.inputs[3] ?? '';
  if (!frozen(graph, weight) || facts.rank(weight) !== 2 || (weightZeroPoint && !frozen(graph, weightZeroPoint)))
    return undefined;
  const cast = soleConsumer(graph, matMul.outputs[0]);
  if (!cast || !isStandard(cast, 'Cast') || cast.int('to') !== 1) return undefined;
  const rescale = soleConsumer(graph, cast.outputs[0]);
  if (!rescale || !isStandard(rescale, 'Mul')) return undefined;
  const product = otherInput(rescale, cast.outputs[0]);
  const scaleProduct = product ? graph.producer(product) : undefined;
  if (!scaleProduct || !isStandard(scaleProduct, 'Mul')) return undefined;
  const weightScale = otherInput(scaleProduct, scale);
  if (!weightScale || !frozen(graph, weightScale)) return undefined;
  return { matMul, cast, scaleProduct, rescale, weight: { weight, zeroPoint: weightZeroPoint, scale: weightScale } };
}

/**
 * Matches a DynamicQuantizeLinear whose outputs feed only integer products
 * with frozen weights, each rescaled to float: the whole group becomes one
 * edge from the float activation x to the products' float outputs. Its
 * inner values (the uint8 activation, its scale and zero point) get no
 * gradient, so the scale's float path cannot leak a wrong one.
 */
function matchDynamicQuantization(graph: OnnxGraph, facts: GraphFacts, quantize: OnnxNode): GradRegion | undefined {
  const [x] = quantize.inputs;
  const [quantized, scale, zeroPoint] = quantize.outputs;
  if (!x || !quantized || !scale || !zeroPoint) return undefined;
  const chains: IntegerChain[] = [];
  for (const consumer of graph.consumers(quantized)) {
    const chain = integerChain(graph, facts, consumer, quantized, scale, zeroPoint);
    if (!chain) return undefined;
    chains.push(chain);
  }
  if (chains.length === 0) return undefined;
  const scaleProducts = new Set(chains.map((c) => c.scaleProduct));
  const rescales = new Set(chains.map((c) => c.rescale));
  const matMuls = new Set(chains.map((c) => c.matMul));
  const graphOutputs = new Set(graph.outputs.map((o) => o.name));
  if (graphOutputs.has(quantized) || graphOutputs.has(scale) || graphOutputs.has(zeroPoint)) return undefined;
  if (!graph.consumers(scale).every((c) => scaleProducts.has(c))) return undefined;
  if (!graph.consumers(zeroPoint).every((c) => matMuls.has(c))) return undefined;
  for (const product of scaleProducts) {
    if (graphOutputs.has(product.outputs[0]) || !graph.consumers(product.outputs[0]).every((c) => rescales.has(c)))
      return undefined;
  }
  const name = quantize.name || `${x}/DynamicQuantizeMatMul`;
  return {
    name,
    description: `DynamicQuantizeLinear -> ${chains.length} x (MatMulInteger -> Cast -> Mul)`,
    nodes: [quantize, ...chains.flatMap((c) => [c.matMul, c.cast, c.rescale]), ...scaleProducts],
    inputs: [x],
    outputs: chains.map((c) => c.rescale.outputs[0]),
    rule: (ctx) => {
      if (!ctx.wants(0)) return [undefined];
      const e = ctx.emit;
      // Straight-through: y_i ~ x · W_i, so dx = sum_i dy_i · W_iᵀ over the products a gradient reached.
      const parts = chains.flatMap((chain, i) => {
        const grad = ctx.grad(i);
        if (!grad) return [];
        const label = `${ctx.label}, ${chain.matMul.name || 'MatMulInteger'}`;
        const [k, n] = frozenDims(e, chain.weight.weight, label);
        return [
          productWithRebuiltWeight(e, grad, { n, k }, (rows, anchor) =>
            integerTransposedWeight(e, chain.weight, e.floatType(grad), rows, anchor, label),
          ),
        ];
      });
      if (parts.length === 0) return [undefined];
      const sum = e.sum(parts);
      e.facts.set(sum, e.of(x));
      return [sum];
    },
  };
}

/** Region matchers of the quantized patterns. */
export const QUANTIZED_REGIONS: readonly RegionMatcher[] = [
  { domain: '', opType: 'DynamicQuantizeLinear', match: matchDynamicQuantization },
];

/**
 * The rule of a DynamicQuantizeLinear that no region took: it refuses,
 * because its only float output is the scale, and differentiating through
 * that alone would be silently wrong.
 */
export const unmatchedDynamicQuantization: GradRule = (ctx) => {
  throw new GradientError(
    `Cannot differentiate ${ctx.label}: ` +
      'a DynamicQuantizeLinear is understood only when it feeds MatMulInteger nodes with frozen weights, ' +
      "each followed by Cast to float and Mul by the product of the two scales (what onnxruntime's quantize_dynamic writes); " +
      'here its outputs are used otherwise.',
  );
};
