import { describe, expect, it } from 'vitest';
import { gradientCheckOp, worst, type OpCase } from '../../../../test/teach/op-harness.ts';
import type { OnnxGraph } from '../../graph.ts';
import { Attr } from '../../node.ts';

const TOLERANCE = 1e-6;

function ints(g: OnnxGraph, values: number[], dims: number[] = [values.length]): string {
  return g.constant(
    BigInt64Array.from(values, (v) => BigInt(v)),
    dims,
  );
}

function one(
  opType: string,
  inputs: (g: OnnxGraph) => string[],
  attributes: Record<string, unknown> = {},
  shape = [2, 3, 4],
  opset?: number,
  declared?: (string | number)[],
): OpCase {
  return {
    opset,
    inputs: [{ name: 'x', shape, declared }],
    build: (g) => [g.addNode({ opType, inputs: inputs(g), attributes: attributes as never }).outputs[0]],
  };
}

describe('gradients of layout ops (float64, central differences)', () => {
  const cases: Record<string, OpCase> = {
    'Reshape with 0 and -1': one('Reshape', (g) => ['x', ints(g, [0, -1])]),
    Flatten: one('Flatten', () => ['x'], { axis: 2 }),
    'Unsqueeze (opset 17, axes input)': one('Unsqueeze', (g) => ['x', ints(g, [0, -1])]),
    'Unsqueeze (opset 11, axes attribute)': one('Unsqueeze', () => ['x'], { axes: Attr.ints([1]) }, [2, 3, 4], 11),
    'Squeeze (opset 17)': one('Squeeze', (g) => ['x', ints(g, [1])], {}, [2, 1, 4]),
    'Squeeze (opset 12)': one('Squeeze', () => ['x'], { axes: Attr.ints([0]) }, [1, 3, 4], 12),
    'Transpose with perm': one('Transpose', () => ['x'], { perm: Attr.ints([1, 2, 0]) }),
    'Transpose default (reverse)': one('Transpose', () => ['x']),
    'Expand [3,1] to [2,3,4]': one('Expand', (g) => ['x', ints(g, [2, 3, 4])], {}, [3, 1]),
    'Expand with symbolic input shape': one('Expand', (g) => ['x', ints(g, [2, 1, 3, 4])], {}, [3, 1], 17, ['r', 'c']),
    'Concat of three, static sizes': {
      inputs: [
        { name: 'a', shape: [2, 1, 4] },
        { name: 'b', shape: [2, 3, 4] },
        { name: 'c', shape: [2, 2, 4] },
      ],
      build: (g) => [g.addNode({ opType: 'Concat', inputs: ['a', 'b', 'c'], attributes: { axis: 1 } }).outputs[0]],
    },
    'Concat with sizes known only at runtime, negative axis': {
      inputs: [
        { name: 'a', shape: [2, 3], declared: [2, 'n'] },
        { name: 'b', shape: [2, 2], declared: [2, 'm'] },
      ],
      build: (g) => [g.addNode({ opType: 'Concat', inputs: ['a', 'b'], attributes: { axis: -1 } }).outputs[0]],
    },
    'Split with sizes input, one piece unused (opset 17)': {
      inputs: [{ name: 'x', shape: [2, 6] }],
      build: (g) => {
        const [p, , r] = g.addNode({
          opType: 'Split',
          inputs: ['x', ints(g, [1, 2, 3])],
          attributes: { axis: -1 },
          outputs: 3,
        }).outputs;
        return [p, r];
      },
    },
    'Split with attribute (opset 12)': {
      opset: 12,
      inputs: [{ name: 'x', shape: [4, 3] }],
      build: (g) => [
        ...g.addNode({ opType: 'Split', inputs: ['x'], attributes: { axis: 0, split: Attr.ints([1, 3]) }, outputs: 2 })
          .outputs,
      ],
    },
    'Slice with negative start and step 2': one(
      'Slice',
      (g) => ['x', ints(g, [-3]), ints(g, [100]), ints(g, [2]), ints(g, [2])],
      {},
      [2, 3, 7],
    ),
    'Slice over two axes with default steps': one(
      'Slice',
      (g) => ['x', ints(g, [1, 0]), ints(g, [3, -1]), ints(g, [1, 2])],
      {},
      [2, 4, 5],
    ),
    'Slice backwards (step -1)': one(
      'Slice',
      (g) => ['x', ints(g, [-1]), ints(g, [-1000]), ints(g, [0]), ints(g, [-1])],
      {},
      [4, 3],
    ),
    'Slice without axes on a symbolic shape': one('Slice', (g) => ['x', ints(g, [1]), ints(g, [3])], {}, [4, 3], 17, [
      'n',
      3,
    ]),
    'Gather rows with repeats and a negative index': {
      inputs: [
        { name: 'x', shape: [4, 3] },
        { name: 'i', shape: [2, 3], ints: [0, 2, 2, -1, 0, 1] },
      ],
      build: (g) => [g.addNode({ opType: 'Gather', inputs: ['x', 'i'], attributes: { axis: 0 } }).outputs[0]],
    },
    'Gather along a middle axis': {
      inputs: [
        { name: 'x', shape: [2, 4, 3] },
        { name: 'i', shape: [3], ints: [3, 0, 3] },
      ],
      build: (g) => [g.addNode({ opType: 'Gather', inputs: ['x', 'i'], attributes: { axis: 1 } }).outputs[0]],
    },
    'Gather with a scalar index': {
      inputs: [
        { name: 'x', shape: [2, 4, 3] },
        { name: 'i', shape: [], ints: [2] },
      ],
      build: (g) => [g.addNode({ opType: 'Gather', inputs: ['x', 'i'], attributes: { axis: -1 } }).outputs[0]],
    },
    'GatherElements with repeats (opset 17)': {
      inputs: [
        { name: 'x', shape: [3, 4] },
        { name: 'i', shape: [2, 4], ints: [0, 2, 2, 1, 0, 0, 1, 2] },
      ],
      build: (g) => [g.addNode({ opType: 'GatherElements', inputs: ['x', 'i'], attributes: { axis: 0 } }).outputs[0]],
    },
    'Trilu lower with offset': one('Trilu', (g) => ['x', ints(g, [1], [])], { upper: 0 }, [2, 4, 4]),
  };
  for (const [name, c] of Object.entries(cases)) {
    it(name, async () => {
      expect(worst(await gradientCheckOp(c))).toBeLessThan(TOLERANCE);
    });
  }
});
