import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { gradientCheckOp, worst } from '../../../test/teach/op-harness.ts';
import { normal, seededRandom } from '../../random.ts';
import { findAttentionProbabilities } from '../../teach/loss-graph.ts';
import { OnnxModel } from '../model.ts';
import { Attr, type AttributeInput } from '../node.ts';
import { floatValues, fromFloat16Bits } from '../tensor.ts';
import type { Dim } from '../types.ts';
import { GradientError } from './emitter.ts';
import { rewriteFusedOps } from './fused.ts';

/** One GroupQueryAttention case: sizes, the step it runs, and the attributes under test. */
interface Case {
  heads: number;
  kvHeads: number;
  head: number;
  batch: number;
  /** New tokens this step. */
  sequence: number;
  /** Rows in the past buffer (0: an empty past). */
  past: number;
  /** Each sequence's length after this step (seqlens_k + 1). */
  lengths: number[];
  /** total_sequence_length (default: the longest length). */
  total?: number;
  packed?: boolean;
  /** cos_cache's last dim; 0 without rotary. */
  rotaryHalf?: number;
  attributes?: Record<string, AttributeInput>;
  positionIds?: number[];
  bias?: boolean;
  opset?: number;
  /** Declare the query without its sizes (the rewrite computes them at runtime). */
  opaque?: boolean;
  /** Compute in float16 (the fp16 genai exports). */
  half?: boolean;
}

const MAX_POSITIONS = 32;

function caches(half: number): { cos: Float32Array; sin: Float32Array } {
  const cos = new Float32Array(MAX_POSITIONS * half);
  const sin = new Float32Array(MAX_POSITIONS * half);
  for (let p = 0; p < MAX_POSITIONS; p++) {
    for (let i = 0; i < half; i++) {
      const angle = p / 10000 ** (i / half);
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

/** The one-node model; built anew for each side so the rewrite never touches the fused one. */
function gqaModel(c: Case): OnnxModel {
  const model = OnnxModel.create({ opsets: { '': c.opset ?? 17, 'com.microsoft': 1 } });
  const g = model.graph;
  const type = c.half ? 'float16' : 'float32';
  const qWidth = (c.packed ? c.heads + 2 * c.kvHeads : c.heads) * c.head;
  const shape = (dims: Dim[]): Dim[] | undefined => (c.opaque ? undefined : dims);
  g.addInput('query', type, shape(['batch', 'sequence', qWidth]));
  if (!c.packed) {
    g.addInput('key', type, ['batch', 'sequence', c.kvHeads * c.head]);
    g.addInput('value', type, ['batch', 'sequence', c.kvHeads * c.head]);
  }
  g.addInput('past_key', type, ['batch', c.kvHeads, 'past', c.head]);
  g.addInput('past_value', type, ['batch', c.kvHeads, 'past', c.head]);
  g.addInput('seqlens_k', 'int32', ['batch']);
  g.addInput('total_sequence_length', 'int32', []);
  const inputs: string[] = [
    'query',
    c.packed ? '' : 'key',
    c.packed ? '' : 'value',
    'past_key',
    'past_value',
    'seqlens_k',
    'total_sequence_length',
  ];
  if (c.rotaryHalf) {
    const { cos, sin } = caches(c.rotaryHalf);
    const table = (values: Float32Array) => (c.half ? floatValues('float16', values) : values);
    inputs.push(
      g.addInitializer('cos_cache', table(cos), [MAX_POSITIONS, c.rotaryHalf], type),
      g.addInitializer('sin_cache', table(sin), [MAX_POSITIONS, c.rotaryHalf], type),
    );
  } else inputs.push('', '');
  if (c.positionIds) inputs.push(g.addInput('position_ids', 'int64', ['batch', 'sequence']));
  if (c.bias) {
    if (!c.positionIds) inputs.push('');
    inputs.push(g.addInput('attention_bias', type, [1, c.heads, 'sequence', 'total']));
  }
  const attributes = { num_heads: c.heads, kv_num_heads: c.kvHeads, do_rotary: c.rotaryHalf ? 1 : 0, ...c.attributes };
  g.addNode({
    opType: 'GroupQueryAttention',
    domain: 'com.microsoft',
    inputs,
    outputs: ['output', 'present_key', 'present_value'],
    attributes,
    name: '/model/layers.3/attn/GroupQueryAttention',
  });
  g.addOutput('output', type);
  g.addOutput('present_key', type);
  g.addOutput('present_value', type);
  return model;
}

function feedsOf(c: Case, seed: number): Record<string, ort.Tensor> {
  const random = seededRandom(seed);
  const tensor = (dims: number[]) => {
    const values = Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => normal(random));
    return c.half
      ? new ort.Tensor('float16', floatValues('float16', values) as Uint16Array, dims)
      : new ort.Tensor('float32', values, dims);
  };
  const total = c.total ?? Math.max(...c.lengths);
  const feeds: Record<string, ort.Tensor> = {
    query: tensor([c.batch, c.sequence, (c.packed ? c.heads + 2 * c.kvHeads : c.heads) * c.head]),
    past_key: tensor([c.batch, c.kvHeads, c.past, c.head]),
    past_value: tensor([c.batch, c.kvHeads, c.past, c.head]),
    seqlens_k: new ort.Tensor(
      'int32',
      Int32Array.from(c.lengths, (n) => n - 1),
      [c.batch],
    ),
    total_sequence_length: new ort.Tensor('int32', Int32Array.of(total), []),
  };
  if (!c.packed) {
    feeds.key = tensor([c.batch, c.sequence, c.kvHeads * c.head]);
    feeds.value = tensor([c.batch, c.sequence, c.kvHeads * c.head]);
  }
  if (c.positionIds)
    feeds.position_ids = new ort.Tensor('int64', BigInt64Array.from(c.positionIds, BigInt), [c.batch, c.sequence]);
  if (c.bias) feeds.attention_bias = tensor([1, c.heads, c.sequence, Math.max(total, c.past)]);
  return feeds;
}

async function run(model: OnnxModel, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(model.toBytes());
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

/** A float32 or float16 tensor's values as numbers. */
function valuesOf(t: ort.Tensor): ArrayLike<number> {
  return t.type === 'float16' ? Array.from(t.data as Uint16Array, fromFloat16Bits) : (t.data as Float32Array);
}

/** Largest |a - b| over the elements `keep` accepts (by flat index). */
function maxDiff(a: ort.Tensor, b: ort.Tensor, keep: (i: number) => boolean = () => true): number {
  expect(b.dims).toEqual(a.dims);
  const x = valuesOf(a);
  const y = valuesOf(b);
  let worstSeen = 0;
  for (let i = 0; i < x.length; i++) if (keep(i)) worstSeen = Math.max(worstSeen, Math.abs(x[i] - y[i]));
  return worstSeen;
}

/**
 * Output rows of real tokens. Padded query rows are compared too, except
 * under a local window: there ONNX Runtime's kernels treat them differently
 * with and without softcap, and nothing reads them.
 */
function realRows(c: Case): (i: number) => boolean {
  if (!c.attributes?.local_window_size) return () => true;
  const width = c.heads * c.head;
  const total = c.total ?? Math.max(...c.lengths);
  const first = c.sequence === total;
  return (i) => {
    const row = Math.floor(i / width);
    const b = Math.floor(row / c.sequence);
    const past = first ? 0 : c.lengths[b] - c.sequence;
    return past + (row % c.sequence) < c.lengths[b];
  };
}

/** Runs ONNX Runtime's kernel and the rewrite on the same feeds; returns the worst difference per output. */
async function compare(c: Case, seed = 1): Promise<Record<string, number>> {
  const feeds = feedsOf(c, seed);
  const expected = await run(gqaModel(c), feeds);
  const rewritten = gqaModel(c);
  expect(rewriteFusedOps(rewritten.graph).rewritten).toEqual([
    { node: '/model/layers.3/attn/GroupQueryAttention', opType: 'GroupQueryAttention' },
  ]);
  expect(rewritten.graph.nodes.some((n) => n.domain === 'com.microsoft')).toBe(false);
  const actual = await run(rewritten, feeds);
  // A wrong rewrite moves these by O(1): the inputs are standard normal.
  expect(Math.max(...Array.from(valuesOf(expected.output), Math.abs))).toBeGreaterThan(0.1);
  return {
    output: maxDiff(expected.output, actual.output, realRows(c)),
    present_key: maxDiff(expected.present_key, actual.present_key),
    present_value: maxDiff(expected.present_value, actual.present_value),
  };
}

const TOLERANCE = 2e-5;
const expectClose = (diffs: Record<string, number>) => {
  for (const [name, d] of Object.entries(diffs)) expect(d, name).toBeLessThan(TOLERANCE);
};

describe('GroupQueryAttention rewritten into standard ops', () => {
  const grouped = { heads: 4, kvHeads: 2, head: 16 };

  for (const interleaved of [0, 1]) {
    it(`matches ONNX Runtime on a right-padded prompt, packed QKV, rotary ${interleaved ? 'interleaved' : 'in halves'}`, async () => {
      expectClose(
        await compare({
          ...grouped,
          batch: 2,
          sequence: 5,
          past: 0,
          lengths: [5, 3],
          packed: true,
          rotaryHalf: 8,
          attributes: { rotary_interleaved: interleaved },
        }),
      );
    });
  }

  it('matches a cached step on a right-padded past (the new row overwrites the padding), separate Q/K/V, no rotary', async () => {
    expectClose(await compare({ ...grouped, batch: 2, sequence: 1, past: 5, lengths: [6, 4], total: 6 }));
  });

  it("matches a cached step with rotary at each sequence's own position", async () => {
    expectClose(
      await compare({
        ...grouped,
        batch: 2,
        sequence: 1,
        past: 5,
        lengths: [6, 3],
        total: 6,
        packed: true,
        rotaryHalf: 8,
      }),
    );
  });

  for (const interleaved of [0, 1]) {
    it(`matches a second prompt on a past with partial rotary (${interleaved ? 'interleaved' : 'halves'}), one KV head`, async () => {
      expectClose(
        await compare({
          heads: 2,
          kvHeads: 1,
          head: 32,
          batch: 1,
          sequence: 3,
          past: 4,
          lengths: [7],
          packed: true,
          rotaryHalf: 8,
          attributes: { rotary_interleaved: interleaved },
        }),
      );
    });
  }

  it('matches with softcap, a custom scale, a local window and attention_bias', async () => {
    const c: Case = {
      ...grouped,
      batch: 2,
      sequence: 6,
      past: 0,
      lengths: [6, 4],
      rotaryHalf: 8,
      bias: true,
      attributes: { softcap: Attr.float(1.5), scale: Attr.float(0.3), local_window_size: 3 },
    };
    expectClose(await compare(c));
  });

  it('matches a cached step inside a local window', async () => {
    expectClose(
      await compare({
        ...grouped,
        batch: 2,
        sequence: 1,
        past: 6,
        lengths: [7, 5],
        total: 7,
        rotaryHalf: 8,
        attributes: { local_window_size: 3 },
      }),
    );
  });

  it('takes position_ids: only the first one on the first prompt, all of them on a cached step', async () => {
    const prompt: Case = {
      ...grouped,
      batch: 2,
      sequence: 3,
      past: 0,
      lengths: [3, 3],
      packed: true,
      rotaryHalf: 8,
      positionIds: [4, 9, 1, 0, 0, 0],
    };
    const diffs = await compare(prompt);
    expectClose(diffs);
    expectClose(
      await compare({
        ...grouped,
        batch: 2,
        sequence: 1,
        past: 4,
        lengths: [5, 5],
        total: 5,
        packed: true,
        rotaryHalf: 8,
        positionIds: [11, 20],
      }),
    );
  });

  it('computes head size and scale at runtime when the graph does not state them', async () => {
    expectClose(
      await compare({
        ...grouped,
        batch: 2,
        sequence: 4,
        past: 0,
        lengths: [4, 2],
        packed: true,
        rotaryHalf: 8,
        opaque: true,
      }),
    );
  });

  it("matches in float16 (the fp16 exports), masking with float16's lowest value", async () => {
    const diffs = await compare({
      ...grouped,
      batch: 2,
      sequence: 5,
      past: 0,
      lengths: [5, 3],
      packed: true,
      rotaryHalf: 8,
      half: true,
    });
    // float16 keeps 11 bits: outputs of order 1 agree to a few of its steps.
    for (const [name, d] of Object.entries(diffs)) expect(d, name).toBeLessThan(1e-2);
  });

  it('places new keys with a one-hot product below opset 16 (no GatherElements gradient there)', async () => {
    const c: Case = {
      ...grouped,
      batch: 2,
      sequence: 1,
      past: 4,
      lengths: [5, 3],
      total: 5,
      packed: true,
      rotaryHalf: 8,
      opset: 14,
    };
    expectClose(await compare(c));
    const model = gqaModel(c);
    rewriteFusedOps(model.graph);
    expect(model.graph.nodes.some((n) => n.opType === 'GatherElements')).toBe(false);
  });

  it('exposes the probabilities as a Softmax over the keys named after the layer', () => {
    const model = gqaModel({ ...grouped, batch: 1, sequence: 1, past: 0, lengths: [1], packed: true, rotaryHalf: 8 });
    rewriteFusedOps(model.graph);
    const [probabilities] = findAttentionProbabilities(model.graph);
    const softmax = model.graph.producer(probabilities);
    expect(softmax?.name).toBe('/model/layers.3/attn/GroupQueryAttention/Softmax');
    expect(softmax?.int('axis')).toBe(-1);
  });

  it('names the layer by order when the node name has none', () => {
    const model = gqaModel({ ...grouped, batch: 1, sequence: 1, past: 0, lengths: [1], packed: true });
    const node = model.graph.nodes.find((n) => n.opType === 'GroupQueryAttention');
    if (!node) throw new Error('no node');
    node.proto.name = 'attention';
    model.graph.refresh();
    rewriteFusedOps(model.graph);
    expect(model.graph.producer(findAttentionProbabilities(model.graph)[0])?.name).toBe(
      '/model/layers.0/attention/Softmax',
    );
  });

  it('differentiates through the rewrite (float64, past, rotary, grouped heads)', async () => {
    const { cos, sin } = caches(8);
    const results = await gradientCheckOp({
      inputs: [
        { name: 'qkv', shape: [2, 3, 8 * 16] },
        { name: 'past_k', shape: [2, 2, 2, 16], wrt: false },
        { name: 'past_v', shape: [2, 2, 2, 16], wrt: false },
      ],
      build: (g) => {
        g.addInitializer('cos', Float64Array.from(cos), [MAX_POSITIONS, 8]);
        g.addInitializer('sin', Float64Array.from(sin), [MAX_POSITIONS, 8]);
        g.addInitializer('seqlens', Int32Array.of(4, 3), [2]);
        g.addInitializer('total', Int32Array.of(5), []);
        const inputs = ['qkv', '', '', 'past_k', 'past_v', 'seqlens', 'total', 'cos', 'sin'];
        const attributes = { num_heads: 4, kv_num_heads: 2, do_rotary: 1, rotary_interleaved: 1 };
        return [
          ...g.addNode({
            opType: 'GroupQueryAttention',
            domain: 'com.microsoft',
            inputs,
            outputs: 3,
            attributes,
            name: '/model/layers.0/attn/GQA',
          }).outputs,
        ];
      },
    });
    expect(worst(results)).toBeLessThan(1e-6);
  });

  const refusals: [string, Partial<Case>, RegExp][] = [
    ['bidirectional attention', { attributes: { causal: 0 } }, /causal/],
    ['smooth softmax', { attributes: { smooth_softmax: 1 } }, /smooth softmax/],
    ['a quantized cache', { attributes: { k_quant_type: 'PER_TENSOR' } }, /quantized KV cache/],
    ['uneven head groups', { heads: 3, kvHeads: 2 }, /multiple of kv_num_heads/],
  ];
  for (const [what, change, message] of refusals) {
    it(`refuses ${what}, naming the node`, () => {
      const model = gqaModel({ ...grouped, batch: 1, sequence: 1, past: 0, lengths: [1], packed: true, ...change });
      const rewrite = () => rewriteFusedOps(model.graph);
      expect(rewrite).toThrow(GradientError);
      expect(rewrite).toThrow(message);
      expect(rewrite).toThrow(/layers\.3\/attn\/GroupQueryAttention/);
    });
  }

  it('refuses head_sink', () => {
    const model = gqaModel({ ...grouped, batch: 1, sequence: 1, past: 0, lengths: [1], packed: true });
    const node = model.graph.nodes[0];
    model.graph.addInitializer('sink', Float32Array.of(0, 0, 0, 0), [4]);
    node.proto.input = [...node.inputs, '', '', 'sink'];
    model.graph.refresh();
    expect(() => rewriteFusedOps(model.graph)).toThrow(/head_sink/);
  });
});
