// Every operator the reverse-mode pass knows, in two lists: the ones with a
// gradient rule, and the ones that pass no gradient (shapes, masks,
// comparisons, index arithmetic, rounding).
import type { GradRule } from '../rule.ts';
import { ALGEBRA_RULES } from './algebra.ts';
import { LAYOUT_RULES } from './layout.ts';
import { POINTWISE_RULES } from './pointwise.ts';
import { REDUCE_RULES } from './reduce.ts';

/** Gradient rules of standard-domain operators, by op type. */
export const GRADIENT_RULES: Readonly<Record<string, GradRule>> = {
  ...POINTWISE_RULES,
  ...ALGEBRA_RULES,
  ...REDUCE_RULES,
  ...LAYOUT_RULES,
};

/**
 * Gradient rules of operators outside the standard domain (ONNX Runtime's
 * com.microsoft kernels that exports ship), keyed `domain:OpType`.
 */
export const CONTRIB_GRADIENT_RULES: Readonly<Record<string, GradRule>> = {};

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
  'Shape', 'Size', 'ConstantOfShape', 'Range', 'Constant', 'NonZero', 'ArgMax', 'ArgMin', 'OneHot', 'TopK',
  'Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'Not', 'And', 'Or', 'Xor', 'IsNaN', 'IsInf',
  'Floor', 'Ceil', 'Round', 'Sign', 'EyeLike', 'RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike',
  'Multinomial', 'Bernoulli',
]);
