import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { gradientCheckOp, worst } from '../../../test/teach/op-harness.ts';
import { OnnxModel } from '../model.ts';
import { Attr } from '../node.ts';
import { seededRandom } from '../../random.ts';
import { GradientError } from './emitter.ts';
import { rewriteFusedOps } from './fused.ts';
import { buildGradientModel } from './gradient-model.ts';
import { gradientRuleFor } from './rules/index.ts';

function randomTensor(shape: number[], seed: number): ort.Tensor {
  const random = seededRandom(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return new ort.Tensor(
    'float32',
    Float32Array.from({ length: n }, () => random() * 2 - 1),
    shape,
  );
}

async function run(model: OnnxModel, feeds: Record<string, ort.Tensor>): Promise<Record<string, Float32Array>> {
  const session = await ort.InferenceSession.create(model.toBytes());
  try {
    const out = await session.run(feeds);
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
  } finally {
    await session.release();
  }
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  return Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i])));
}

/** A model with one fused normalization, built twice: fused, and rewritten. */
function fusedModel(kind: 'simplified' | 'skip-simplified' | 'skip'): OnnxModel {
  const model = OnnxModel.create({ opsets: { '': 17, 'com.microsoft': 1 } });
  const g = model.graph;
  g.addInput('x', 'float32', [2, 3, 8]);
  g.addInput('skip', 'float32', [2, 3, 8]);
  const gamma = g.addInitializer(
    'gamma',
    Float32Array.from({ length: 8 }, (_, i) => 0.5 + i / 8),
    [8],
  );
  const beta = g.addInitializer(
    'beta',
    Float32Array.from({ length: 8 }, (_, i) => i / 16 - 0.2),
    [8],
  );
  const bias = g.addInitializer(
    'bias',
    Float32Array.from({ length: 8 }, (_, i) => 0.1 - i / 40),
    [8],
  );
  if (kind === 'simplified') {
    g.addNode({
      opType: 'SimplifiedLayerNormalization',
      inputs: ['x', gamma],
      outputs: ['y'],
      attributes: { axis: -1, epsilon: Attr.float(1e-5) },
    });
    g.addOutput('y', 'float32');
  } else if (kind === 'skip-simplified') {
    g.addNode({
      opType: 'SkipSimplifiedLayerNormalization',
      domain: 'com.microsoft',
      inputs: ['x', 'skip', gamma, bias],
      outputs: ['y', '', '', 'sum'],
      attributes: { epsilon: Attr.float(1e-5) },
    });
    g.addOutput('y', 'float32');
    g.addOutput('sum', 'float32');
  } else {
    g.addNode({
      opType: 'SkipLayerNormalization',
      domain: 'com.microsoft',
      inputs: ['x', 'skip', gamma, beta, bias],
      outputs: ['y', '', '', 'sum'],
      attributes: { epsilon: Attr.float(1e-5) },
    });
    g.addOutput('y', 'float32');
    g.addOutput('sum', 'float32');
  }
  return model;
}

describe('fused contrib ops', () => {
  for (const kind of ['simplified', 'skip-simplified', 'skip'] as const) {
    it(`rewrites ${kind} layer normalization into standard ops that compute the same`, async () => {
      const feeds = { x: randomTensor([2, 3, 8], 1), skip: randomTensor([2, 3, 8], 2) };
      const fused = fusedModel(kind);
      const expected = await run(fused, feeds);
      const rewritten = fusedModel(kind);
      const { rewritten: done } = rewriteFusedOps(rewritten.graph);
      expect(done).toHaveLength(1);
      expect(rewritten.graph.nodes.every((n) => n.domain === '' && !n.opType.includes('LayerNormalization'))).toBe(
        true,
      );
      const actual = await run(rewritten, feeds);
      for (const name of Object.keys(expected)) expect(maxDiff(expected[name], actual[name])).toBeLessThan(1e-5);
    });
  }

  it('differentiates through a rewritten SkipSimplifiedLayerNormalization (float64)', async () => {
    const results = await gradientCheckOp({
      inputs: [
        { name: 'x', shape: [2, 3, 4] },
        { name: 's', shape: [2, 3, 4] },
        { name: 'gamma', shape: [4], range: [0.5, 1.5] },
      ],
      build: (g) => [
        ...g
          .addNode({
            opType: 'SkipSimplifiedLayerNormalization',
            domain: 'com.microsoft',
            inputs: ['x', 's', 'gamma'],
            outputs: ['y', '', '', 'sum'],
            attributes: { epsilon: Attr.float(1e-4) },
          })
          .outputs.filter(Boolean),
      ],
    });
    expect(worst(results)).toBeLessThan(1e-6);
  });

  /** One contrib node on the path from x to the loss. */
  const contribModel = (op: string): OnnxModel => {
    const model = OnnxModel.create({ opsets: { '': 17, 'com.microsoft': 1 } });
    const g = model.graph;
    g.addInput('x', 'float32', [1, 4, 8]);
    g.addNode({
      opType: op,
      domain: 'com.microsoft',
      inputs: ['x'],
      outputs: ['y'],
      name: '/model/layers.0/attn/Fused',
    });
    g.addOutput('y', 'float32');
    return model;
  };
  const buildOn = (model: OnnxModel) => () =>
    buildGradientModel(model, {
      wrt: ['x'],
      loss: (graph) => graph.addNode({ opType: 'ReduceSum', inputs: ['y'], attributes: { keepdims: 0 } }).outputs[0],
    });

  // MatMulNBits is refused only until its gradient rule lands.
  const refused = [
    'MultiHeadAttention',
    'Attention',
    'PackedAttention',
    ...(gradientRuleFor('com.microsoft', 'MatMulNBits') ? [] : ['MatMulNBits']),
  ];
  for (const op of refused) {
    it(`refuses ${op} on the gradient path, naming it`, () => {
      const build = buildOn(contribModel(op));
      expect(build).toThrow(GradientError);
      expect(build).toThrow(new RegExp(`node "/model/layers\\.0/attn/Fused" uses com\\.microsoft ${op}`));
    });
  }

  for (const op of ['GroupQueryAttention', 'RotaryEmbedding']) {
    it(`refuses a ${op} it cannot rewrite, naming the node and the op`, () => {
      const build = buildOn(contribModel(op));
      expect(build).toThrow(GradientError);
      expect(build).toThrow(new RegExp(`"/model/layers\\.0/attn/Fused" \\(com\\.microsoft ${op}\\)`));
    });
  }

  it('leaves refused ops off the gradient path fused', () => {
    const model = contribModel('MultiHeadAttention');
    expect(rewriteFusedOps(model.graph, () => false).rewritten).toEqual([]);
    expect(model.graph.nodes.map((n) => n.opType)).toEqual(['MultiHeadAttention']);
  });
});
