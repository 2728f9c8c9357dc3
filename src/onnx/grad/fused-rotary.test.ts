import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { gradientCheckOp, worst } from '../../../test/teach/op-harness.ts';
import { normal, seededRandom } from '../../random.ts';
import { OnnxModel } from '../model.ts';
import type { AttributeInput } from '../node.ts';
import { GradientError } from './emitter.ts';
import { rewriteFusedOps } from './fused.ts';

const MAX_POSITIONS = 40;

function tables(half: number): { cos: Float32Array; sin: Float32Array } {
  const cos = new Float32Array(MAX_POSITIONS * half);
  const sin = new Float32Array(MAX_POSITIONS * half);
  for (let p = 0; p < MAX_POSITIONS; p++) {
    for (let i = 0; i < half; i++) {
      cos[p * half + i] = Math.cos(p / 500 ** (i / half));
      sin[p * half + i] = Math.sin(p / 500 ** (i / half));
    }
  }
  return { cos, sin };
}

/** A RotaryEmbedding case: the input's shape, the positions and the attributes. */
interface Case {
  input: number[];
  positions: number[];
  positionShape: number[];
  half: number;
  attributes?: Record<string, AttributeInput>;
}

function rotaryModel(c: Case): OnnxModel {
  const model = OnnxModel.create({ opsets: { '': 17, 'com.microsoft': 1 } });
  const g = model.graph;
  g.addInput(
    'x',
    'float32',
    c.input.map((d, i) => (i === 0 ? 'batch' : d)),
  );
  g.addInput('position_ids', 'int64', c.positionShape.length === 2 ? ['batch', c.positionShape[1]] : [1]);
  const { cos, sin } = tables(c.half);
  g.addInitializer('cos_cache', cos, [MAX_POSITIONS, c.half]);
  g.addInitializer('sin_cache', sin, [MAX_POSITIONS, c.half]);
  g.addNode({
    opType: 'RotaryEmbedding',
    domain: 'com.microsoft',
    inputs: ['x', 'position_ids', 'cos_cache', 'sin_cache'],
    outputs: ['y'],
    attributes: c.attributes,
    name: '/model/layers.0/attn/rotary',
  });
  g.addOutput('y', 'float32');
  return model;
}

async function run(model: OnnxModel, feeds: Record<string, ort.Tensor>): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(model.toBytes());
  try {
    return (await session.run(feeds)).y.data as Float32Array;
  } finally {
    await session.release();
  }
}

/** ONNX Runtime's kernel against the rewrite: the worst difference, and how far the op moved its input. */
async function compare(c: Case): Promise<{ diff: number; moved: number }> {
  const random = seededRandom(5);
  const n = c.input.reduce((a, b) => a * b, 1);
  const x = Float32Array.from({ length: n }, () => normal(random));
  const feeds = {
    x: new ort.Tensor('float32', x, c.input),
    position_ids: new ort.Tensor('int64', BigInt64Array.from(c.positions, BigInt), c.positionShape),
  };
  const expected = await run(rotaryModel(c), feeds);
  const rewritten = rotaryModel(c);
  expect(rewriteFusedOps(rewritten.graph).rewritten).toHaveLength(1);
  expect(rewritten.graph.nodes.some((node) => node.domain === 'com.microsoft')).toBe(false);
  const actual = await run(rewritten, feeds);
  let diff = 0;
  let moved = 0;
  for (let i = 0; i < n; i++) {
    diff = Math.max(diff, Math.abs(expected[i] - actual[i]));
    moved = Math.max(moved, Math.abs(expected[i] - x[i]));
  }
  return { diff, moved };
}

describe('com.microsoft RotaryEmbedding rewritten into standard ops', () => {
  const positions = [3, 0, 7, 1, 30, 12, 5, 5];
  const cases: [string, Case][] = [
    ['4-D [B, N, S, H], halves', { input: [2, 3, 4, 16], positions, positionShape: [2, 4], half: 8 }],
    [
      '4-D [B, N, S, H], interleaved',
      { input: [2, 3, 4, 16], positions, positionShape: [2, 4], half: 8, attributes: { interleaved: 1 } },
    ],
    [
      '3-D without num_heads (head size from the caches)',
      { input: [2, 4, 48], positions, positionShape: [2, 4], half: 8 },
    ],
    [
      '3-D, partial rotary_embedding_dim, interleaved',
      {
        input: [2, 4, 64],
        positions,
        positionShape: [2, 4],
        half: 8,
        attributes: { num_heads: 2, rotary_embedding_dim: 16, interleaved: 1 },
      },
    ],
    [
      '4-D, partial rotary, halves',
      {
        input: [2, 2, 4, 32],
        positions,
        positionShape: [2, 4],
        half: 8,
        attributes: { num_heads: 2, rotary_embedding_dim: 16 },
      },
    ],
    ['one position: the first of every sequence', { input: [2, 4, 32], positions: [9], positionShape: [1], half: 8 }],
  ];
  for (const [what, c] of cases) {
    it(`matches ONNX Runtime: ${what}`, async () => {
      const { diff, moved } = await compare(c);
      expect(moved).toBeGreaterThan(0.1);
      expect(diff).toBeLessThan(1e-5);
    });
  }

  it('differentiates through the rewrite (float64, interleaved, partial)', async () => {
    const { cos, sin } = tables(4);
    const results = await gradientCheckOp({
      inputs: [
        { name: 'x', shape: [2, 5, 2 * 16] },
        { name: 'pos', shape: [2, 5], ints: [0, 1, 2, 3, 4, 9, 8, 7, 6, 5] },
      ],
      build: (g) => {
        g.addInitializer('cos', Float64Array.from(cos), [MAX_POSITIONS, 4]);
        g.addInitializer('sin', Float64Array.from(sin), [MAX_POSITIONS, 4]);
        const attributes = { num_heads: 2, rotary_embedding_dim: 8, interleaved: 1 };
        return [
          ...g.addNode({
            opType: 'RotaryEmbedding',
            domain: 'com.microsoft',
            inputs: ['x', 'pos', 'cos', 'sin'],
            attributes,
            outputs: 1,
          }).outputs,
        ];
      },
    });
    expect(worst(results)).toBeLessThan(1e-6);
  });

  it('refuses packed batching and position_ids of unknown rank, naming the node', () => {
    const packed = rotaryModel({
      input: [2, 4, 16],
      positions,
      positionShape: [2, 4],
      half: 8,
      attributes: { is_packed_batching: 1 },
    });
    expect(() => rewriteFusedOps(packed.graph)).toThrow(/rotary.*packed \(ragged\) batching/);
    const unknown = rotaryModel({ input: [2, 4, 16], positions, positionShape: [2, 4], half: 8 });
    unknown.graph.proto.input = unknown.graph.proto.input?.map((i) =>
      i.name === 'position_ids' ? { name: 'position_ids' } : i,
    );
    unknown.graph.refresh();
    expect(() => rewriteFusedOps(unknown.graph)).toThrow(GradientError);
    expect(() => rewriteFusedOps(unknown.graph)).toThrow(/rank of its position_ids/);
  });
});
