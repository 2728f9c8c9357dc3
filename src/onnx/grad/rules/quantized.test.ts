import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dequantizedTwin } from '../../../../test/support/dequantized-twin.ts';
import { addedFloatInitializers } from '../../../../test/support/optimized-model.ts';
import { normal, seededRandom } from '../../../random.ts';
import type { OnnxGraph } from '../../graph.ts';
import { OnnxModel } from '../../model.ts';
import { dataTypeOf, makeFloatTensor } from '../../tensor.ts';
import { GradientError } from '../emitter.ts';
import { DEQUANTIZATION_LIMIT } from './dequantize.ts';
import { buildGradientModel } from '../gradient-model.ts';

// Every quantized rule must give the gradient of its dequantized float twin
// (test/support/dequantized-twin.ts) at the same upstream gradient. With the
// loss sum(y * R) the upstream gradient is R for both, so they agree to
// rounding even where the forward passes differ (dynamic quantization). The
// forward outputs are compared too: that checks the twin's dequantization
// against ONNX Runtime's own kernels, so the reference itself is right.

const X_SHAPE = [2, 3];

type Loss = 'linear' | 'square';

function randoms(count: number, random: () => number, lo: number, hi: number): number[] {
  return Array.from({ length: count }, () => lo + (hi - lo) * random());
}

function newModel(): OnnxModel {
  return OnnxModel.create({ opsets: { '': 14, 'com.microsoft': 1 } });
}

/** Packs codes of `bits` bits into bytes, least significant bits first (MatMulNBits). */
function packLowFirst(codes: readonly number[], bits: number): Uint8Array {
  const perByte = 8 / bits;
  const out = new Uint8Array(Math.ceil(codes.length / perByte));
  codes.forEach((c, i) => (out[Math.floor(i / perByte)] |= c << (bits * (i % perByte))));
  return out;
}

/** Adds input x (float32) and, for half models, a Cast to float16; returns the value to multiply. */
function addInput(g: OnnxGraph, k: number, half: boolean): string {
  g.addInput('x', 'float32', [...X_SHAPE, k]);
  return half
    ? g.addNode({ opType: 'Cast', inputs: ['x'], attributes: { to: dataTypeOf('float16') } }).outputs[0]
    : 'x';
}

/** Names the (float32) output y, casting back from float16. */
function addOutput(g: OnnxGraph, value: string, n: number, half: boolean): void {
  if (half) g.addNode({ opType: 'Cast', inputs: [value], attributes: { to: dataTypeOf('float32') }, outputs: ['y'] });
  else g.addNode({ opType: 'Identity', inputs: [value], outputs: ['y'] });
  g.addOutput('y', 'float32', [...X_SHAPE, n]);
}

interface NBitsCase {
  k: number;
  n: number;
  bits: number;
  blockSize: number;
  zeroPoints: 'none' | 'packed' | 'float';
  gIdx?: 'shuffled';
  bias?: boolean;
  half?: boolean;
}

function nbitsModel(c: NBitsCase, seed = 1): OnnxModel {
  const random = seededRandom(seed);
  const model = newModel();
  const g = model.graph;
  const type = c.half ? 'float16' : 'float32';
  const blocks = Math.ceil(c.k / c.blockSize);
  // Codes of the padding past K are random too: they must not leak into the gradient.
  const codes = Array.from({ length: c.n * blocks * c.blockSize }, () => Math.floor(random() * 2 ** c.bits));
  g.addInitializer('B', packLowFirst(codes, c.bits), [c.n, blocks, (c.blockSize * c.bits) / 8]);
  g.addTensor(makeFloatTensor('scales', type, randoms(c.n * blocks, random, 0.01, 0.1), [c.n, blocks]));
  const inputs = [addInput(g, c.k, Boolean(c.half)), 'B', 'scales'];
  if (c.zeroPoints === 'packed') {
    const perRow = Math.ceil((blocks * c.bits) / 8) * (8 / c.bits);
    const zero = Array.from({ length: c.n * perRow }, (_, i) =>
      i % perRow < blocks ? Math.floor(random() * 2 ** c.bits) : 0,
    );
    g.addInitializer('zero_points', packLowFirst(zero, c.bits), [c.n, Math.ceil((blocks * c.bits) / 8)]);
    inputs.push('zero_points');
  } else if (c.zeroPoints === 'float') {
    g.addTensor(makeFloatTensor('zero_points', type, randoms(c.n * blocks, random, 0, 2 ** c.bits - 1), [c.n, blocks]));
    inputs.push('zero_points');
  } else inputs.push('');
  if (c.gIdx) {
    const order = Array.from({ length: c.k }, (_, i) => Math.floor(i / c.blockSize));
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    g.addInitializer('g_idx', Int32Array.from(order), [c.k]);
    inputs.push('g_idx');
  } else inputs.push('');
  if (c.bias) {
    g.addTensor(makeFloatTensor('bias', type, randoms(c.n, random, -0.5, 0.5), [c.n]));
    inputs.push('bias');
  }
  while (inputs[inputs.length - 1] === '') inputs.pop();
  const y = g.addNode({
    opType: 'MatMulNBits',
    domain: 'com.microsoft',
    inputs,
    attributes: { K: c.k, N: c.n, bits: c.bits, block_size: c.blockSize },
  }).outputs[0];
  addOutput(g, y, c.n, Boolean(c.half));
  return model;
}

interface Bnb4Case {
  k: number;
  n: number;
  blockSize: number;
  quantType: 0 | 1;
}

function bnb4Model(c: Bnb4Case, seed = 2): OnnxModel {
  const random = seededRandom(seed);
  const model = newModel();
  const g = model.graph;
  const count = c.n * c.k;
  const bytes = Uint8Array.from({ length: Math.ceil(count / 2) }, () => Math.floor(random() * 256));
  g.addInitializer('B', bytes, [bytes.length]);
  g.addInitializer('absmax', Float32Array.from(randoms(Math.ceil(count / c.blockSize), random, 0.2, 1.5)), [
    Math.ceil(count / c.blockSize),
  ]);
  const y = g.addNode({
    opType: 'MatMulBnb4',
    domain: 'com.microsoft',
    inputs: [addInput(g, c.k, false), 'B', 'absmax'],
    attributes: { K: c.k, N: c.n, block_size: c.blockSize, quant_type: c.quantType },
  }).outputs[0];
  addOutput(g, y, c.n, false);
  return model;
}

interface IntegerCase {
  k: number;
  /** Products fed by the one DynamicQuantizeLinear. */
  chains: number;
  weight: 'int8' | 'uint8';
  perColumn: boolean;
  /** y = sum of the products + x: the activation also flows past the region. */
  residual: boolean;
  /** Adds x * scale of the quantization to y: the scale leaves the pattern. */
  scaleLeaks?: boolean;
}

function integerModel(c: IntegerCase, seed = 3): OnnxModel {
  const random = seededRandom(seed);
  const model = newModel();
  const g = model.graph;
  const n = c.k;
  g.addInput('x', 'float32', [...X_SHAPE, c.k]);
  const [q, scale, zero] = g.addNode({ opType: 'DynamicQuantizeLinear', inputs: ['x'], outputs: 3 }).outputs;
  const products: string[] = [];
  for (let i = 0; i < c.chains; i++) {
    const signed = c.weight === 'int8';
    const values = Array.from({ length: c.k * n }, () => Math.floor(random() * 256) - (signed ? 128 : 0));
    g.addInitializer(`w${i}`, signed ? Int8Array.from(values) : Uint8Array.from(values), [c.k, n]);
    const zeros = Array.from({ length: c.perColumn ? n : 1 }, () => (signed ? 0 : 100 + Math.floor(random() * 50)));
    const dims = c.perColumn ? [n] : [];
    g.addInitializer(`w${i}_zero`, signed ? Int8Array.from(zeros) : Uint8Array.from(zeros), dims);
    g.addInitializer(`w${i}_scale`, Float32Array.from(randoms(c.perColumn ? n : 1, random, 0.001, 0.01)), dims);
    const integer = g.addNode({ opType: 'MatMulInteger', inputs: [q, `w${i}`, zero, `w${i}_zero`] }).outputs[0];
    const asFloat = g.addNode({ opType: 'Cast', inputs: [integer], attributes: { to: dataTypeOf('float32') } })
      .outputs[0];
    const product = g.addNode({ opType: 'Mul', inputs: [scale, `w${i}_scale`] }).outputs[0];
    products.push(g.addNode({ opType: 'Mul', inputs: [asFloat, product] }).outputs[0]);
  }
  const terms = c.residual ? [...products, 'x'] : products;
  if (c.scaleLeaks) terms.push(g.addNode({ opType: 'Mul', inputs: ['x', scale] }).outputs[0]);
  const y = terms.length === 1 ? terms[0] : g.addNode({ opType: 'Sum', inputs: terms }).outputs[0];
  addOutput(g, y, n, false);
  return model;
}

/** Runs forward + loss + backward; returns the gradient of x and the forward output y. */
async function run(model: OnnxModel, loss: Loss, seed = 9): Promise<{ grad: Float32Array; y: Float32Array }> {
  const built = gradientModel(model, loss, seed);
  const session = await ort.InferenceSession.create(built.model.toBytes(), {
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
  });
  try {
    const k = model.graph.inputs[0].shape?.[2] as number;
    const random = seededRandom(seed + 1);
    const x = new ort.Tensor(
      'float32',
      Float32Array.from({ length: X_SHAPE[0] * X_SHAPE[1] * k }, () => normal(random)),
      [...X_SHAPE, k],
    );
    const out = await session.run({ x });
    return { grad: out[built.gradients.x].data as Float32Array, y: out.y.data as Float32Array };
  } finally {
    await session.release();
  }
}

function gradientModel(model: OnnxModel, loss: Loss, seed = 9) {
  return buildGradientModel(model, {
    wrt: ['x'],
    keep: ['y'],
    loss: (g) => {
      const n = g.outputs.find((o) => o.name === 'y')?.shape?.[2] as number;
      const random = seededRandom(seed);
      const r = g.addInitializer(
        'R',
        Float32Array.from({ length: X_SHAPE[0] * X_SHAPE[1] * n }, () => normal(random)),
        [...X_SHAPE, n],
      );
      const y = loss === 'square' ? g.addNode({ opType: 'Mul', inputs: ['y', 'y'] }).outputs[0] : 'y';
      const weighted = g.addNode({ opType: 'Mul', inputs: [y, r] }).outputs[0];
      return g.addNode({ opType: 'ReduceSum', inputs: [weighted], attributes: { keepdims: 0 } }).outputs[0];
    },
  });
}

/** max |a - b| / max |b|. */
function relativeError(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  expect(scale).toBeGreaterThan(0);
  return diff / scale;
}

/** Float32 paths agree to accumulation-order rounding; float16 ones to a few float16 ulps. */
const FLOAT32_TOLERANCE = 1e-5;
const FLOAT16_TOLERANCE = 5e-3;

async function expectTwinGradient(model: OnnxModel, tolerance: number, forwardTolerance?: number): Promise<void> {
  const twin = dequantizedTwin(model);
  const quantized = await run(model, 'linear');
  const reference = await run(twin.model, 'linear');
  expect(relativeError(quantized.grad, reference.grad)).toBeLessThan(tolerance);
  if (forwardTolerance !== undefined) expect(relativeError(quantized.y, reference.y)).toBeLessThan(forwardTolerance);
}

/**
 * Float initializers of at least `elements` values that ORT's optimization
 * added from the backward of the quantized node (its nodes are named under
 * /grad/<node>): a folded dequantized weight, or a folded copy of its scales
 * or zero points (`elements` is the size of those, the smallest per-weight
 * tensor). The loss's own folded constants are not the rule's business.
 */
async function foldedCopies(model: OnnxModel, elements: number): Promise<string[]> {
  const quantized = model.graph.nodes.find((n) =>
    ['MatMulNBits', 'MatMulBnb4', 'DynamicQuantizeLinear'].includes(n.opType),
  );
  const scope = `/grad/${quantized?.name.replace(/^\//, '')}/`;
  const added = await addedFloatInitializers(gradientModel(model, 'square').model, elements);
  return added.filter((a) => a.name.startsWith(scope)).map((a) => `${a.name} [${a.dims.join(', ')}]`);
}

describe('MatMulNBits gradient (the dequantized twin at the same upstream gradient)', () => {
  const cases: Record<string, NBitsCase> = {
    '4 bits, block 32, symmetric (the q4 exports)': { k: 64, n: 48, bits: 4, blockSize: 32, zeroPoints: 'none' },
    '4 bits, K not a multiple of the block, packed zero points': {
      k: 80,
      n: 24,
      bits: 4,
      blockSize: 32,
      zeroPoints: 'packed',
    },
    '4 bits, block 16, float zero points, bias': {
      k: 40,
      n: 24,
      bits: 4,
      blockSize: 16,
      zeroPoints: 'float',
      bias: true,
    },
    '4 bits, shuffled g_idx, float zero points': {
      k: 80,
      n: 24,
      bits: 4,
      blockSize: 32,
      zeroPoints: 'float',
      gIdx: 'shuffled',
    },
    '4 bits, shuffled g_idx, no zero points': {
      k: 64,
      n: 24,
      bits: 4,
      blockSize: 16,
      zeroPoints: 'none',
      gIdx: 'shuffled',
    },
    '2 bits, packed zero points, K cut in a block': { k: 40, n: 24, bits: 2, blockSize: 16, zeroPoints: 'packed' },
    '8 bits, packed zero points, K cut in a block': { k: 80, n: 24, bits: 8, blockSize: 32, zeroPoints: 'packed' },
    '8 bits, symmetric': { k: 64, n: 24, bits: 8, blockSize: 32, zeroPoints: 'none' },
  };
  for (const [name, c] of Object.entries(cases)) {
    it(name, async () => {
      await expectTwinGradient(nbitsModel(c), FLOAT32_TOLERANCE, 1e-5);
    });
  }

  it('computes in float16 for float16 inputs (the q4f16 exports), 4 and 8 bits', async () => {
    await expectTwinGradient(
      nbitsModel({ k: 80, n: 40, bits: 4, blockSize: 32, zeroPoints: 'packed', bias: true, half: true }),
      FLOAT16_TOLERANCE,
      FLOAT16_TOLERANCE,
    );
    await expectTwinGradient(
      nbitsModel({ k: 64, n: 40, bits: 8, blockSize: 32, zeroPoints: 'none', half: true }),
      FLOAT16_TOLERANCE,
      FLOAT16_TOLERANCE,
    );
  });

  it('refuses g_idx with packed zero points, which ONNX Runtime does not compute as defined', () => {
    const model = nbitsModel({ k: 64, n: 24, bits: 4, blockSize: 32, zeroPoints: 'packed', gIdx: 'shuffled' });
    expect(() => gradientModel(model, 'linear')).toThrow(GradientError);
    expect(() => gradientModel(model, 'linear')).toThrow(/g_idx with packed zero points/);
  });

  it('leaves nothing for ORT to fold at session creation: no dequantized weight, no copy of its scales or zero points', async () => {
    // 48 columns x 2 or 4 blocks: the scales hold 96 or 192 values, the weight 3072.
    expect(await foldedCopies(nbitsModel({ k: 64, n: 48, bits: 4, blockSize: 32, zeroPoints: 'packed' }), 96)).toEqual(
      [],
    );
    expect(
      await foldedCopies(
        nbitsModel({ k: 64, n: 48, bits: 4, blockSize: 16, zeroPoints: 'none', gIdx: 'shuffled' }),
        192,
      ),
    ).toEqual([]);
    expect(await foldedCopies(nbitsModel({ k: 64, n: 48, bits: 8, blockSize: 32, zeroPoints: 'packed' }), 96)).toEqual(
      [],
    );
    expect(await foldedCopies(nbitsModel({ k: 64, n: 48, bits: 2, blockSize: 16, zeroPoints: 'packed' }), 192)).toEqual(
      [],
    );
    expect(
      await foldedCopies(nbitsModel({ k: 64, n: 48, bits: 4, blockSize: 32, zeroPoints: 'float', half: true }), 96),
    ).toEqual([]);
  });
});

describe('MatMulBnb4 gradient (the dequantized twin at the same upstream gradient)', () => {
  const cases: Record<string, Bnb4Case> = {
    'NF4, block 64 (the bnb4 exports)': { k: 64, n: 48, blockSize: 64, quantType: 1 },
    'FP4, block 16': { k: 64, n: 24, blockSize: 16, quantType: 0 },
    'NF4, N x K odd and not a multiple of the block': { k: 33, n: 5, blockSize: 32, quantType: 1 },
    'FP4, blocks across rows': { k: 40, n: 7, blockSize: 16, quantType: 0 },
  };
  for (const [name, c] of Object.entries(cases)) {
    it(name, async () => {
      await expectTwinGradient(bnb4Model(c), FLOAT32_TOLERANCE, 1e-5);
    });
  }

  it('leaves nothing for ORT to fold at session creation: no dequantized weight, no copy of its absmax', async () => {
    expect(await foldedCopies(bnb4Model({ k: 64, n: 48, blockSize: 64, quantType: 1 }), 48)).toEqual([]);
    expect(await foldedCopies(bnb4Model({ k: 33, n: 5, blockSize: 16, quantType: 0 }), 11)).toEqual([]);
  });
});

describe('DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul as one edge (straight-through)', () => {
  const cases: Record<string, IntegerCase> = {
    'int8 weights, per-tensor scale (the q8 and int8 exports)': {
      k: 32,
      chains: 1,
      weight: 'int8',
      perColumn: false,
      residual: false,
    },
    'uint8 weights with a zero point (the uint8 exports)': {
      k: 32,
      chains: 1,
      weight: 'uint8',
      perColumn: false,
      residual: false,
    },
    'uint8 weights, per-column scales and zero points': {
      k: 32,
      chains: 1,
      weight: 'uint8',
      perColumn: true,
      residual: false,
    },
    'one quantization shared by three products, x also used directly (q, k, v and the residual)': {
      k: 32,
      chains: 3,
      weight: 'int8',
      perColumn: true,
      residual: true,
    },
  };
  for (const [name, c] of Object.entries(cases)) {
    it(name, async () => {
      // The forward passes differ by the activation's rounding, the gradients only by float rounding.
      await expectTwinGradient(integerModel(c), FLOAT32_TOLERANCE);
    });
  }

  it('counts every product once: the gradient of the shared region is the sum of its products', async () => {
    const model = integerModel({ k: 32, chains: 3, weight: 'int8', perColumn: false, residual: true });
    const built = gradientModel(model, 'linear');
    const ops = built.model.graph.nodes.filter((n) => n.name.startsWith('/grad')).map((n) => n.opType);
    // One backward product per MatMulInteger, nothing differentiated through the scale's float path.
    expect(ops.filter((op) => op === 'MatMul')).toHaveLength(3);
    const twinGrad = (await run(dequantizedTwin(model).model, 'linear')).grad;
    const grad = (await run(model, 'linear')).grad;
    expect(relativeError(grad, twinGrad)).toBeLessThan(FLOAT32_TOLERANCE);
  });

  it('refuses a DynamicQuantizeLinear whose scale is used elsewhere instead of differentiating only that path', () => {
    const model = integerModel({
      k: 16,
      chains: 1,
      weight: 'int8',
      perColumn: false,
      residual: false,
      scaleLeaks: true,
    });
    expect(() => gradientModel(model, 'linear')).toThrow(GradientError);
    expect(() => gradientModel(model, 'linear')).toThrow(/DynamicQuantizeLinear is understood only when/);
  });

  it('leaves nothing for ORT to fold at session creation: no dequantized weight, no copy of its scales or zero points', async () => {
    expect(
      await foldedCopies(integerModel({ k: 32, chains: 3, weight: 'uint8', perColumn: true, residual: true }), 32),
    ).toEqual([]);
  });
});

describe('weights wider than the dequantization limit, rebuilt a slice of rows at a time', () => {
  let saved = 0;
  beforeAll(() => {
    saved = DEQUANTIZATION_LIMIT.values;
    DEQUANTIZATION_LIMIT.values = 500;
  });
  afterAll(() => {
    DEQUANTIZATION_LIMIT.values = saved;
  });

  /** Backward MatMuls of the model: one per slice. */
  const slices = (model: OnnxModel) =>
    gradientModel(model, 'linear').model.graph.nodes.filter((n) => n.name.startsWith('/grad') && n.opType === 'MatMul')
      .length;

  it('MatMulNBits: 4 bits with packed zero points, 8 bits, g_idx, float16', async () => {
    const cases: [NBitsCase, number][] = [
      [{ k: 80, n: 24, bits: 4, blockSize: 32, zeroPoints: 'packed' }, FLOAT32_TOLERANCE],
      [{ k: 64, n: 40, bits: 8, blockSize: 32, zeroPoints: 'packed' }, FLOAT32_TOLERANCE],
      [{ k: 64, n: 24, bits: 4, blockSize: 16, zeroPoints: 'float', gIdx: 'shuffled' }, FLOAT32_TOLERANCE],
      [{ k: 64, n: 40, bits: 2, blockSize: 16, zeroPoints: 'packed', half: true }, FLOAT16_TOLERANCE],
    ];
    for (const [c, tolerance] of cases) {
      const model = nbitsModel(c);
      // 500 values hold floor(500 / K) rows.
      expect(slices(model)).toBe(Math.ceil(c.n / Math.floor(500 / c.k)));
      await expectTwinGradient(model, tolerance);
    }
  });

  it('MatMulBnb4: slices start on a block and a byte of the flattened matrix, the last block short', async () => {
    for (const c of [
      { k: 40, n: 24, blockSize: 16, quantType: 1 },
      { k: 33, n: 20, blockSize: 16, quantType: 0 },
    ] as Bnb4Case[]) {
      const model = bnb4Model(c);
      expect(slices(model)).toBeGreaterThan(1);
      await expectTwinGradient(model, FLOAT32_TOLERANCE);
    }
  });

  it('MatMulInteger: per-column scales and zero points, three products', async () => {
    const model = integerModel({ k: 32, chains: 3, weight: 'uint8', perColumn: true, residual: true });
    expect(slices(model)).toBe(3 * Math.ceil(32 / Math.floor(500 / 32)));
    await expectTwinGradient(model, FLOAT32_TOLERANCE);
  });

  it('leaves nothing for ORT to fold: every slice waits for the previous one', async () => {
    expect(await foldedCopies(nbitsModel({ k: 64, n: 48, bits: 4, blockSize: 32, zeroPoints: 'packed' }), 96)).toEqual(
      [],
    );
    expect(await foldedCopies(bnb4Model({ k: 64, n: 48, blockSize: 64, quantType: 1 }), 48)).toEqual([]);
  });
});
