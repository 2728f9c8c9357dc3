// Builds a one-op (or few-op) float64 graph, differentiates a nonlinear
// scalar loss of its outputs, and checks every differentiated input against
// central finite differences through ONNX Runtime on CPU.
import * as ort from 'onnxruntime-node';
import type { OnnxGraph } from '../../src/onnx/graph.ts';
import { OnnxModel } from '../../src/onnx/model.ts';
import { checkGradient, type GradientCheckResult } from '../support/gradient-check.ts';
import { buildGradientModel } from '../../src/onnx/grad/gradient-model.ts';
import { seededRandom } from '../../src/random.ts';
import type { Dim } from '../../src/onnx/types.ts';

/** One input of a test graph. */
export interface OpInput {
  name: string;
  shape: number[];
  /** Declared shape (default: `shape`); symbolic names test the runtime paths. */
  declared?: Dim[];
  /** Differentiate with respect to it (default true for float inputs). */
  wrt?: boolean;
  /** Value range of random float data (default [-1, 1]). */
  range?: [number, number];
  /** Integer data instead of floats (indices). */
  ints?: number[];
  /** Boolean data. */
  bools?: boolean[];
  /** Keep as an initializer (frozen weight) instead of a graph input. */
  initializer?: boolean;
}

/** A gradient check case: inputs, the forward ops, and the opset. */
export interface OpCase {
  inputs: OpInput[];
  /** Appends the ops under test; returns the values the loss is built on. */
  build: (graph: OnnxGraph, inputs: Record<string, string>) => string[];
  opset?: number;
  /** Finite-difference step relative to the input scale (default 1e-5; larger where float32 ops sit inside). */
  epsilon?: number;
}

/** Relative error per differentiated input. */
export async function gradientCheckOp(c: OpCase, seed = 1): Promise<Record<string, GradientCheckResult>> {
  const random = seededRandom(seed);
  const model = OnnxModel.create({ opsets: { '': c.opset ?? 17 } });
  const g = model.graph;
  const feeds: Record<string, ort.Tensor> = {};
  const names: Record<string, string> = {};
  const wrt: string[] = [];
  for (const input of c.inputs) {
    const count = input.shape.reduce((a, b) => a * b, 1);
    if (input.ints) {
      const data = BigInt64Array.from(input.ints, (v) => BigInt(v));
      if (input.initializer) g.addInitializer(input.name, data, input.shape);
      else {
        g.addInput(input.name, 'int64', input.declared ?? input.shape);
        feeds[input.name] = new ort.Tensor('int64', data, input.shape);
      }
    } else if (input.bools) {
      const data = Uint8Array.from(input.bools, (v) => (v ? 1 : 0));
      if (input.initializer) g.addInitializer(input.name, data, input.shape, 'bool');
      else {
        g.addInput(input.name, 'bool', input.declared ?? input.shape);
        feeds[input.name] = new ort.Tensor('bool', data, input.shape);
      }
    } else {
      const [lo, hi] = input.range ?? [-1, 1];
      const data = Float64Array.from({ length: count }, () => lo + (hi - lo) * random());
      if (input.initializer) g.addInitializer(input.name, data, input.shape);
      else {
        g.addInput(input.name, 'float64', input.declared ?? input.shape);
        feeds[input.name] = new ort.Tensor('float64', data, input.shape);
        if (input.wrt !== false) wrt.push(input.name);
      }
    }
    names[input.name] = input.name;
  }
  const outputs = c.build(g, names);
  const built = buildGradientModel(model, {
    wrt,
    loss: (graph) => {
      // sum(y^2 * w) with w fixed and uneven, so a gradient that is right only up to a permutation or a constant fails.
      const terms = outputs.map((y, i) => {
        const squared = graph.addNode({ opType: 'Mul', inputs: [y, y] }).outputs[0];
        const weighted = graph.addNode({
          opType: 'Mul',
          inputs: [squared, graph.constant(Float64Array.of(0.5 + i), [])],
        }).outputs[0];
        const plain = graph.addNode({ opType: 'Mul', inputs: [y, graph.constant(Float64Array.of(0.3), [])] })
          .outputs[0];
        const both = graph.addNode({ opType: 'Add', inputs: [weighted, plain] }).outputs[0];
        return graph.addNode({ opType: 'ReduceSum', inputs: [both], attributes: { keepdims: 0 } }).outputs[0];
      });
      return terms.length === 1 ? terms[0] : graph.addNode({ opType: 'Sum', inputs: terms }).outputs[0];
    },
  });
  const results: Record<string, GradientCheckResult> = {};
  for (const name of wrt) {
    results[name] = await checkGradient(
      built.model,
      feeds,
      { wrt: name, loss: built.loss, gradient: built.gradients[name] },
      { seed, epsilon: c.epsilon },
    );
  }
  return results;
}

/** The worst relative error over every differentiated input. */
export function worst(results: Record<string, GradientCheckResult>): number {
  return Math.max(...Object.values(results).map((r) => r.maxRelativeError));
}
