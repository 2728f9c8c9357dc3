// Frozen weights in the backward pass, written so that ONNX Runtime keeps no
// float copy of them. At session creation ORT folds every node whose inputs
// are all constant into a new initializer (a transposed or dequantized copy
// of each weight), and its MatMul and Gemm kernels prepack a constant second
// operand into a private copy. So weights enter backward nodes only as the
// first operand of a product with a runtime value, or through a view whose
// shape is computed from the arriving gradient: nothing is foldable, and a
// dequantized weight exists only while its layer's gradient is computed.
import { dataTypeOf } from '../../tensor.ts';
import type { GradEmitter } from '../emitter.ts';
import { GradientError } from '../emitter.ts';

const zeros = new WeakMap<GradEmitter, Map<string, string>>();

/** True for values fixed when the session is created: initializers and Constant outputs. */
export function isFrozen(e: GradEmitter, value: string): boolean {
  return Boolean(value) && (e.graph.isInitializer(value) || e.graph.producer(value)?.opType === 'Constant');
}

/** Static dims of a frozen value; throws (naming `why`) when they are not known. */
export function frozenDims(e: GradEmitter, value: string, why: string): number[] {
  const shape = e.of(value).shape;
  if (!shape || shape.some((d) => typeof d !== 'number'))
    throw new GradientError(`Cannot differentiate ${why}: the shape of "${value}" is not known.`);
  return shape as number[];
}

/**
 * An int64 scalar that is always 0 but exists only at run time, computed from
 * the data of `anchor` (a gradient). Less(r, r) is false for every r, NaN and
 * infinities included; ORT cannot know that, so whatever depends on this
 * value waits for the gradient and is never folded. One per anchor.
 */
export function runtimeZero(e: GradEmitter, anchor: string): string {
  let cache = zeros.get(e);
  if (!cache) zeros.set(e, (cache = new Map<string, string>()));
  let zero = cache.get(anchor);
  if (!zero) {
    const r = e.op('ReduceSum', [anchor], { keepdims: 0 });
    zero = e.op('Cast', [e.op('Less', [r, r])], { to: dataTypeOf('int64') });
    e.facts.set(zero, { type: 'int64', shape: [] });
    cache.set(anchor, zero);
  }
  return zero;
}

/**
 * A frozen tensor seen with new dims through a Reshape whose target shape
 * depends on `anchor`: ORT's Reshape shares the buffer (no copy), and since
 * the shape is a runtime value, nothing computed from the view is folded
 * into an initializer or scheduled before the gradient arrives.
 */
export function runtimeView(e: GradEmitter, frozen: string, dims: readonly number[], anchor: string): string {
  const shape = e.op('Add', [e.ints(dims), runtimeZero(e, anchor)]);
  const view = e.op('Reshape', [frozen, shape]);
  e.facts.set(view, { type: e.of(frozen).type, shape: [...dims] });
  return view;
}

/**
 * The gradient of A in Y = A · W for a frozen 2-D weight W [K, N]:
 * dA = dY · Wᵀ, computed as (W · dY₂ᵀ)ᵀ with Gemm's transB on the flattened
 * gradient dY₂ [M, N]. W stays the initializer it is: no Transpose of it to
 * fold, and as Gemm's first operand it is not prepacked. Only activations
 * ([K, M]) are transposed.
 */
export function gradientThroughFrozenWeight(
  e: GradEmitter,
  grad: string,
  weight: string,
  input: string,
  why: string,
): string {
  const [k, n] = frozenDims(e, weight, why);
  const type = e.floatType(grad);
  const flat = e.op('Reshape', [grad, e.ints([-1, n])]);
  e.facts.set(flat, { type, shape: [null, n] });
  const kByM = e.op('Gemm', [weight, flat], { transB: 1 });
  const mByK = e.transpose(kByM, [1, 0]);
  e.facts.set(mByK, { type, shape: [null, k] });
  return e.reshapeLike(mByK, input);
}
