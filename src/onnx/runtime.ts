// ONNX Runtime settings that depend on the model's floating type. At its
// 'extended' level ONNX Runtime fuses x * sigmoid(a x) and similar patterns
// into com.microsoft kernels that exist for float32 only (QuickGelu), and then
// refuses a float64 model it could run unfused. float64 graphs (the gradient
// checks) therefore run with the 'basic' optimizations.
import type * as ort from 'onnxruntime-node';
import type { OnnxModel } from './model.ts';
import { DataType } from './tensor.ts';

/** Session options for a model of the given floating type (CPU). */
export function sessionOptionsFor(dtype: 'float32' | 'float64'): ort.InferenceSession.SessionOptions {
  return { executionProviders: ['cpu'], graphOptimizationLevel: dtype === 'float64' ? 'basic' : 'all' };
}

/** True when any graph input, output or initializer of the main graph is float64. */
export function usesFloat64(model: OnnxModel): boolean {
  const g = model.graph;
  return g.initializers.some((t) => t.dataType === DataType.DOUBLE) || [...g.inputs, ...g.outputs].some((v) => v.elementType === 'float64');
}
