// Every operator the reverse-mode pass knows, in three lists: the ones with a
// gradient rule, the ones that pass no gradient (shapes, masks, comparisons,
// index arithmetic, rounding), and the multi-node regions differentiated as
// one edge (a dynamic quantization around an integer MatMul).
import type { GraphFacts, ValueFacts } from '../facts.ts';
import type { OnnxNode } from '../../node.ts';
import type { GradRule } from '../rule.ts';
import { ALGEBRA_RULES } from './algebra.ts';
import { LAYOUT_RULES } from './layout.ts';
import { POINTWISE_RULES } from './pointwise.ts';
import {
  QUANTIZED_CONTRIB_RULES,
  QUANTIZED_OUTPUT_FACTS,
  QUANTIZED_REGIONS,
  unmatchedDynamicQuantization,
} from './quantized.ts';
import { REDUCE_RULES } from './reduce.ts';
import type { RegionMatcher } from './region.ts';

/** Gradient rules of standard-domain operators, by op type. */
export const GRADIENT_RULES: Readonly<Record<string, GradRule>> = {
  ...POINTWISE_RULES,
  ...ALGEBRA_RULES,
  ...REDUCE_RULES,
  ...LAYOUT_RULES,
  // Reached only when no region took the node: refuses with the reason.
  DynamicQuantizeLinear: unmatchedDynamicQuantization,
};

/**
 * Gradient rules of operators outside the standard domain (ONNX Runtime's
 * com.microsoft kernels that exports ship), keyed `domain:OpType`.
 */
export const CONTRIB_GRADIENT_RULES: Readonly<Record<string, GradRule>> = {
  ...QUANTIZED_CONTRIB_RULES,
};

/**
 * Output types and shapes of contrib operators that GraphFacts cannot infer,
 * keyed `domain:OpType`. Without them a rule downstream (a Cast back to
 * float32, a broadcast) would not know what flows through.
 */
export const CONTRIB_OUTPUT_FACTS: Readonly<Record<string, (facts: GraphFacts, node: OnnxNode) => ValueFacts[]>> = {
  ...QUANTIZED_OUTPUT_FACTS,
};

/**
 * Patterns of several nodes that are differentiated as one edge with their
 * own rule; the backward pass looks for them before walking node by node.
 */
export const GRADIENT_REGIONS: readonly RegionMatcher[] = [...QUANTIZED_REGIONS];

/** The gradient rule of an operator of any domain, or undefined when there is none. */
export function gradientRuleFor(domain: string, opType: string): GradRule | undefined {
  const standard = domain === '' || domain === 'ai.onnx';
  return standard ? GRADIENT_RULES[opType] : CONTRIB_GRADIENT_RULES[`${domain}:${opType}`];
}

/**
 * Operators whose outputs carry no gradient even when an input does: their
 * outputs are shapes, indices, booleans, or piecewise-constant functions
 * (zero derivative almost everywhere).
 */
export const NO_GRADIENT_OPS: ReadonlySet<string> = new Set([
  'Shape',
  'Size',
  'ConstantOfShape',
  'Range',
  'Constant',
  'NonZero',
  'ArgMax',
  'ArgMin',
  'OneHot',
  'TopK',
  'Equal',
  'Less',
  'Greater',
  'LessOrEqual',
  'GreaterOrEqual',
  'Not',
  'And',
  'Or',
  'Xor',
  'IsNaN',
  'IsInf',
  'Floor',
  'Ceil',
  'Round',
  'Sign',
  'EyeLike',
  'RandomNormal',
  'RandomUniform',
  'RandomNormalLike',
  'RandomUniformLike',
  'Multinomial',
  'Bernoulli',
]);
