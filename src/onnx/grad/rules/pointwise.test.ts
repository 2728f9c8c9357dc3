import { describe, expect, it } from 'vitest';
import { gradientCheckOp, worst, type OpCase } from '../../../../test/teach/op-harness.ts';
import { dataTypeOf } from '../../tensor.ts';

/** float64 central differences agree with a correct rule to ~1e-8; 1e-6 leaves room for conditioning. */
const TOLERANCE = 1e-6;

function binary(
  op: string,
  a: number[],
  b: number[],
  extra: Partial<OpCase> = {},
  ranges: [[number, number]?, [number, number]?] = [],
): OpCase {
  return {
    inputs: [
      { name: 'a', shape: a, range: ranges[0] },
      { name: 'b', shape: b, range: ranges[1] },
    ],
    build: (g) => [g.addNode({ opType: op, inputs: ['a', 'b'] }).outputs[0]],
    ...extra,
  };
}

function unary(op: string, range?: [number, number]): OpCase {
  return {
    inputs: [{ name: 'x', shape: [2, 3, 4], range }],
    build: (g) => [g.addNode({ opType: op, inputs: ['x'] }).outputs[0]],
  };
}

describe('gradients of element-wise ops (float64, central differences)', () => {
  const positive: [number, number] = [0.5, 2];
  const cases: Record<string, OpCase> = {
    'Add, same shapes': binary('Add', [2, 3, 4], [2, 3, 4]),
    'Add, trailing broadcast': binary('Add', [2, 3, 4], [4]),
    'Add, middle broadcast': binary('Add', [2, 3, 4], [3, 1]),
    'Add, both broadcast': binary('Add', [2, 1, 4], [3, 1]),
    'Add, broadcast known only at runtime': {
      inputs: [
        { name: 'a', shape: [2, 3, 4], declared: ['p', 'q', 'r'] },
        { name: 'b', shape: [3, 1], declared: ['s', 't'] },
      ],
      build: (g) => [g.addNode({ opType: 'Add', inputs: ['a', 'b'] }).outputs[0]],
    },
    'Sub, broadcast': binary('Sub', [2, 3, 4], [1, 4]),
    'Mul, broadcast': binary('Mul', [2, 3, 4], [3, 1]),
    'Div, broadcast': binary('Div', [2, 3, 4], [4], {}, [undefined, positive]),
    'Pow, both inputs': binary('Pow', [2, 3], [3], {}, [positive, positive]),
    'Pow, constant exponent': {
      inputs: [
        { name: 'x', shape: [3, 4], range: positive },
        { name: 'e', shape: [], initializer: true, range: [2, 2] },
      ],
      build: (g) => [g.addNode({ opType: 'Pow', inputs: ['x', 'e'] }).outputs[0]],
    },
    'Max, broadcast': binary('Max', [2, 3, 4], [4]),
    'Min, broadcast': binary('Min', [2, 3, 4], [3, 1]),
    'Sum of three, broadcast': {
      inputs: [
        { name: 'a', shape: [2, 3] },
        { name: 'b', shape: [3] },
        { name: 'c', shape: [2, 1] },
      ],
      build: (g) => [g.addNode({ opType: 'Sum', inputs: ['a', 'b', 'c'] }).outputs[0]],
    },
    Where: {
      inputs: [
        { name: 'c', shape: [3, 4], bools: Array.from({ length: 12 }, (_, i) => i % 3 === 0) },
        { name: 'a', shape: [3, 4] },
        { name: 'b', shape: [4] },
      ],
      build: (g) => [g.addNode({ opType: 'Where', inputs: ['c', 'a', 'b'] }).outputs[0]],
    },
    Neg: unary('Neg'),
    Sqrt: unary('Sqrt', positive),
    Reciprocal: unary('Reciprocal', positive),
    Exp: unary('Exp'),
    Log: unary('Log', positive),
    Sigmoid: unary('Sigmoid', [-3, 3]),
    Tanh: unary('Tanh', [-2, 2]),
    Sin: unary('Sin', [-3, 3]),
    Cos: unary('Cos', [-3, 3]),
    Abs: unary('Abs', [0.1, 1]),
    Relu: unary('Relu'),
    Identity: unary('Identity'),
    'Cast through float32 and Erf (ONNX Runtime has no float64 Erf)': {
      inputs: [{ name: 'x', shape: [2, 5], range: [-1.5, 1.5] }],
      build: (g) => {
        const narrow = g.addNode({ opType: 'Cast', inputs: ['x'], attributes: { to: dataTypeOf('float32') } })
          .outputs[0];
        const erf = g.addNode({ opType: 'Erf', inputs: [narrow] }).outputs[0];
        return [g.addNode({ opType: 'Cast', inputs: [erf], attributes: { to: dataTypeOf('float64') } }).outputs[0]];
      },
      epsilon: 1e-2,
    },
  };
  for (const [name, c] of Object.entries(cases)) {
    it(name, async () => {
      const tolerance = c.epsilon ? 1e-3 : TOLERANCE;
      expect(worst(await gradientCheckOp(c))).toBeLessThan(tolerance);
    });
  }

  it('passes no gradient through shape arithmetic', async () => {
    // y = x * rows(x): the row count comes through Shape/Gather/Cast and is a constant for the gradient.
    const c: OpCase = {
      inputs: [{ name: 'x', shape: [3, 2] }],
      build: (g) => {
        const shape = g.addNode({ opType: 'Shape', inputs: ['x'] }).outputs[0];
        const rows = g.addNode({
          opType: 'Gather',
          inputs: [shape, g.constant(BigInt64Array.of(0n), [])],
          attributes: { axis: 0 },
        }).outputs[0];
        const scale = g.addNode({ opType: 'Cast', inputs: [rows], attributes: { to: dataTypeOf('float64') } })
          .outputs[0];
        return [g.addNode({ opType: 'Mul', inputs: ['x', scale] }).outputs[0]];
      },
    };
    expect(worst(await gradientCheckOp(c))).toBeLessThan(TOLERANCE);
  });
});
