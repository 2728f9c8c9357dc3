import { describe, expect, it } from 'vitest';
import { gradientCheckOp, worst, type OpCase } from '../../../../test/teach/op-harness.ts';
import { Attr } from '../../node.ts';

const TOLERANCE = 1e-6;

/** A reduction in the form its opset wants: axes as input (ReduceSum 13+, others 18+) or attribute. */
function reduce(
  op: 'ReduceSum' | 'ReduceMean',
  opset: number,
  axes: number[] | null,
  keepdims: number,
  shape = [2, 3, 4],
): OpCase {
  const asInput = opset >= (op === 'ReduceSum' ? 13 : 18);
  return {
    opset,
    inputs: [{ name: 'x', shape }],
    build: (g) => {
      const inputs = ['x'];
      const attributes: Record<string, ReturnType<typeof Attr.ints> | number> = { keepdims };
      if (axes && asInput)
        inputs.push(
          g.constant(
            BigInt64Array.from(axes, (a) => BigInt(a)),
            [axes.length],
          ),
        );
      if (axes && !asInput) attributes.axes = Attr.ints(axes);
      return [g.addNode({ opType: op, inputs, attributes }).outputs[0]];
    },
  };
}

function softmax(op: 'Softmax' | 'LogSoftmax', opset: number, axis: number): OpCase {
  return {
    opset,
    inputs: [{ name: 'x', shape: [2, 3, 4], range: [-2, 2] }],
    build: (g) => [g.addNode({ opType: op, inputs: ['x'], attributes: { axis } }).outputs[0]],
  };
}

function layerNorm(axis: number, withBias: boolean): OpCase {
  const normalized = axis === -1 ? [4] : [3, 4];
  return {
    inputs: [
      { name: 'x', shape: [2, 3, 4], range: [-2, 2] },
      { name: 'scale', shape: normalized, range: [0.5, 1.5] },
      ...(withBias ? [{ name: 'bias', shape: normalized }] : []),
    ],
    build: (g) => [
      g.addNode({
        opType: 'LayerNormalization',
        inputs: withBias ? ['x', 'scale', 'bias'] : ['x', 'scale'],
        attributes: { axis, epsilon: Attr.float(1e-3) },
      }).outputs[0],
    ],
  };
}

describe('gradients of reductions and normalizations (float64, central differences)', () => {
  const cases: Record<string, OpCase> = {
    'ReduceSum axes input (opset 13), keepdims': reduce('ReduceSum', 13, [1], 1),
    'ReduceSum axes input (opset 17), two axes, no keepdims': reduce('ReduceSum', 17, [-1, 0], 0),
    'ReduceSum axes attribute (opset 12), no keepdims': reduce('ReduceSum', 12, [1], 0),
    'ReduceSum over everything': reduce('ReduceSum', 17, null, 0),
    'ReduceMean axes attribute (opset 17)': reduce('ReduceMean', 17, [-1], 1),
    'ReduceMean axes input (opset 18), no keepdims': reduce('ReduceMean', 18, [0, 2], 0),
    'ReduceMean attribute (opset 13), no keepdims, symbolic shape': {
      ...reduce('ReduceMean', 13, [1], 0),
      inputs: [{ name: 'x', shape: [2, 3, 4], declared: ['a', 'b', 'c'] }],
    },
    'Softmax last axis (opset 17)': softmax('Softmax', 17, -1),
    'Softmax middle axis (opset 13)': softmax('Softmax', 13, 1),
    'Softmax coerced to 2-D (opset 11)': softmax('Softmax', 11, 1),
    'LogSoftmax last axis': softmax('LogSoftmax', 17, -1),
    'LogSoftmax coerced to 2-D (opset 12)': softmax('LogSoftmax', 12, 1),
    'LayerNormalization last axis with bias': layerNorm(-1, true),
    'LayerNormalization over two axes, no bias': layerNorm(1, false),
    CumSum: {
      inputs: [{ name: 'x', shape: [3, 4] }],
      build: (g) => [g.addNode({ opType: 'CumSum', inputs: ['x', g.constant(BigInt64Array.of(1n), [])] }).outputs[0]],
    },
    'CumSum reverse exclusive': {
      inputs: [{ name: 'x', shape: [3, 4] }],
      build: (g) => [
        g.addNode({
          opType: 'CumSum',
          inputs: ['x', g.constant(BigInt64Array.of(0n), [])],
          attributes: { reverse: 1, exclusive: 1 },
        }).outputs[0],
      ],
    },
  };
  for (const [name, c] of Object.entries(cases)) {
    it(name, async () => {
      expect(worst(await gradientCheckOp(c))).toBeLessThan(TOLERANCE);
    });
  }
});
