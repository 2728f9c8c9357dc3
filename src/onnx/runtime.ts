// ONNX Runtime details that depend on a graph's floating type. At its
// 'extended' level ONNX Runtime fuses x * sigmoid(a x) and similar patterns
// into com.microsoft kernels that exist for float32 only (QuickGelu), and then
// refuses a float64 model it could run unfused: float64 graphs (the gradient
// checks) run with the 'basic' optimizations. Tensors cross into a graph in
// the type it declares and come back as float32 (or float64), so the code
// around a session never cares whether an export computes in float16.
import * as ort from 'onnxruntime-node';
import type { OnnxModel } from './model.ts';
import { DataType, fromFloat16Bits, toFloat16Bits } from './tensor.ts';

/** Floating data as JavaScript computes with it. */
export type FloatArray = Float32Array | Float64Array;

/** Session options for a model of the given floating type (CPU). */
export function sessionOptionsFor(dtype: 'float32' | 'float64'): ort.InferenceSession.SessionOptions {
  return { executionProviders: ['cpu'], graphOptimizationLevel: dtype === 'float64' ? 'basic' : 'all' };
}

/** True when any graph input, output or initializer of the main graph is float64. */
export function usesFloat64(model: OnnxModel): boolean {
  const g = model.graph;
  return (
    g.initializers.some((t) => t.dataType === DataType.DOUBLE) ||
    [...g.inputs, ...g.outputs].some((v) => v.elementType === 'float64')
  );
}

/** The element type a session declares for an input (float32 when it does not say). */
export function inputType(session: ort.InferenceSession, name: string): ort.Tensor.Type {
  const meta = session.inputMetadata.find((m) => m.name === name);
  return meta && meta.isTensor ? meta.type : 'float32';
}

/** A tensor's floating values as float32 (float64 kept as it is; float16 bit patterns decoded). */
export function floatData(tensor: ort.Tensor): FloatArray {
  switch (tensor.type) {
    case 'float32':
      return tensor.data as Float32Array;
    case 'float64':
      return tensor.data as Float64Array;
    case 'float16': {
      const bits = tensor.data as unknown as ArrayLike<number>;
      const out = new Float32Array(bits.length);
      // onnxruntime-node hands float16 data out as bit patterns (Uint16Array) where Float16Array is missing.
      if (bits instanceof Uint16Array) for (let i = 0; i < bits.length; i++) out[i] = fromFloat16Bits(bits[i]);
      else out.set(bits);
      return out;
    }
    default:
      throw new RangeError(`a ${tensor.type} tensor holds no floating values`);
  }
}

/** Floating values as a tensor of the element type a graph declares. */
export function floatTensor(type: ort.Tensor.Type, data: ArrayLike<number>, dims: readonly number[]): ort.Tensor {
  switch (type) {
    case 'float32':
      return new ort.Tensor('float32', data instanceof Float32Array ? data : Float32Array.from(data), dims);
    case 'float64':
      return new ort.Tensor('float64', data instanceof Float64Array ? data : Float64Array.from(data), dims);
    case 'float16':
      return new ort.Tensor('float16', Uint16Array.from(data, toFloat16Bits), dims);
    default:
      throw new RangeError(`cannot write floating values as a ${type} tensor`);
  }
}
