// Teaching the quantized decoders users download: for every quantized export
// of the replicas, the teaching graph builds, keeps the exported quantized
// forward, runs in ONNX Runtime (optimized as the session pool does), and its
// gradient w.r.t. inputs_embeds matches the teaching gradient of the float32
// twin with the dequantized weights (test/support/dequantized-twin.ts).
// Weights quantized ahead of time (q4, q4f16, bnb4) give the twin's gradient
// up to float rounding. Dynamic activation quantization (q8, int8, uint8) is
// differentiated straight-through: its gradient equals exactly that of a twin
// whose forward adds back the activation rounding the quantized model makes,
// and approximates the plain float twin's as far as the rounding leaves the
// forward pass alone (closely on the std-0.02 replicas, not at all on the
// sharp one, whose output swings with the input).
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { readModel } from '../../src/onnx/model-io.ts';
import type { OnnxModel } from '../../src/onnx/model.ts';
import { normal, seededRandom } from '../../src/random.ts';
import { buildTeachingModel, LOSS_INPUTS, LOSS_OUTPUTS } from '../../src/teach/loss-graph.ts';
import { dequantizedTwin, dynamicQuantizationRounding } from '../support/dequantized-twin.ts';
import { addedFloatInitializers } from '../support/optimized-model.ts';
import { SHARED_MODELS } from '../support/paths.ts';

const REPLICAS = path.join(SHARED_MODELS, 'vlm-replicas');
const BATCH = 2;
const SEQUENCE = 12;

type Variant = 'quantized' | 'int8' | 'uint8' | 'q4' | 'q4f16' | 'bnb4';
const DYNAMIC: readonly Variant[] = ['quantized', 'int8', 'uint8'];

/** Agreement bounds: cosine similarity at least, relative L2 error at most. */
interface Bound {
  cosine: number;
  relative: number;
}

/**
 * Bounds from measurements (tmp/measure-quantized.ts, 3 feeds each, embeds of
 * std 1 and 0.05), with margins of 3-20x on the error:
 * - q4, bnb4 vs float twin: relative <= 1.4e-6 on every replica;
 * - q4f16 vs float32 twin: <= 8.9e-5 on the std-0.02 replicas, <= 3.2e-2
 *   (cosine >= 0.99967) on the sharp one, where float16 arithmetic shows;
 * - q8/int8/uint8 vs the rounding twin: <= 5.6e-7, <= 5.9e-5 on sharp;
 * - q8/int8/uint8 vs the plain float twin: <= 1.8e-4 (cosine >= 0.999999) on
 *   the std-0.02 replicas; on sharp cosine -0.74 to 0.99, so no bound there.
 */
const WEIGHT_ONLY: Bound = { cosine: 0.9999999, relative: 1e-5 };
const HALF: Record<'plain' | 'sharp', Bound> = {
  plain: { cosine: 0.99999, relative: 1e-3 },
  sharp: { cosine: 0.999, relative: 0.1 },
};
const STRAIGHT_THROUGH: Record<'plain' | 'sharp', Bound> = {
  plain: { cosine: 0.9999999, relative: 1e-5 },
  sharp: { cosine: 0.999999, relative: 5e-4 },
};
const DYNAMIC_VS_FLOAT: Bound = { cosine: 0.9999, relative: 3e-3 };
/**
 * The onnxruntime-genai int4 decoders ask MatMulNBits for accuracy_level 4,
 * which lets the CPU kernel quantize A to int8 per block: straight-through
 * again. Measured 1.1e-4 (cosine 0.99999999) on both std-0.02 replicas.
 */
const GENAI_VS_FLOAT: Bound = { cosine: 0.9999, relative: 3e-3 };

/**
 * Elements of the smallest weight of the replicas (64 x 64): a dequantized or
 * transposed weight folded into an initializer has at least that many. (ORT
 * itself converts some float16 scales of q4f16 to float32 copies, "FusedBack_"
 * initializers of N x blocks values, the plain decoder's forward as well.)
 */
const SMALLEST_WEIGHT = 64 * 64;

const int64 = (values: number[], dims: number[]) => new ort.Tensor('int64', BigInt64Array.from(values, BigInt), dims);

/** Decoder and loss feeds for a batch of two sequences, the second right-padded. */
function teachingFeeds(decoder: OnnxModel, seed: number): Record<string, ort.Tensor> {
  const random = seededRandom(seed);
  const hidden = decoder.graph.inputs.find((i) => i.name === 'inputs_embeds')?.shape?.[2] as number;
  const vocabulary = decoder.graph.outputs.find((o) => o.name === 'logits')?.shape?.[2] as number;
  const lengths = [SEQUENCE, SEQUENCE - 2];
  const real = (i: number) => i % SEQUENCE < lengths[Math.floor(i / SEQUENCE)];
  const feeds: Record<string, ort.Tensor> = {
    inputs_embeds: new ort.Tensor(
      'float32',
      Float32Array.from({ length: BATCH * SEQUENCE * hidden }, () => normal(random)),
      [BATCH, SEQUENCE, hidden],
    ),
    attention_mask: int64(
      Array.from({ length: BATCH * SEQUENCE }, (_, i) => (real(i) ? 1 : 0)),
      [BATCH, SEQUENCE],
    ),
    position_ids: int64(
      Array.from({ length: BATCH * SEQUENCE }, (_, i) => i % SEQUENCE),
      [BATCH, SEQUENCE],
    ),
    [LOSS_INPUTS.labels]: int64(
      Array.from({ length: BATCH * SEQUENCE }, (_, i) =>
        i % SEQUENCE > 5 && real(i) ? Math.floor(random() * vocabulary) : -100,
      ),
      [BATCH, SEQUENCE],
    ),
    [LOSS_INPUTS.conceptPosition]: int64([3, 4], [BATCH]),
    [LOSS_INPUTS.attentionLambda]: new ort.Tensor('float32', Float32Array.of(0.5), []),
  };
  for (const input of decoder.graph.inputs) {
    if (!input.name.startsWith('past_key_values.')) continue;
    const [, heads, , head] = input.shape as number[];
    feeds[input.name] = new ort.Tensor('float32', new Float32Array(0), [BATCH, heads, 0, head]);
  }
  return feeds;
}

/** Loss and gradient of the teaching graph of `decoder`, optimized as the session pool does. */
async function teach(
  decoder: OnnxModel,
  feeds: Record<string, ort.Tensor>,
): Promise<{ loss: number; gradient: Float32Array }> {
  const teaching = buildTeachingModel(decoder);
  const session = await ort.InferenceSession.create(teaching.model.toBytes(), {
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
  });
  try {
    const own = Object.fromEntries(Object.entries(feeds).filter(([name]) => session.inputNames.includes(name)));
    const out = await session.run(own);
    return {
      loss: Number((out[LOSS_OUTPUTS.loss].data as Float32Array)[0]),
      gradient: out[teaching.embedsGradient].data as Float32Array,
    };
  } finally {
    await session.release();
  }
}

function agreement(a: Float32Array, b: Float32Array): Bound {
  expect(a.length).toBe(b.length);
  let dot = 0;
  let aa = 0;
  let bb = 0;
  let dd = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
    dd += (a[i] - b[i]) ** 2;
  }
  expect(bb).toBeGreaterThan(0);
  return { cosine: dot / Math.sqrt(aa * bb), relative: Math.sqrt(dd / bb) };
}

function expectWithin(measured: Bound, bound: Bound): void {
  expect(measured.cosine).toBeGreaterThan(bound.cosine);
  expect(measured.relative).toBeLessThan(bound.relative);
}

/** Quantized forward nodes by kind, to check the teaching graph keeps them. */
function quantizedOps(model: OnnxModel): Record<string, number> {
  const kinds = ['MatMulNBits', 'MatMulBnb4', 'MatMulInteger', 'DynamicQuantizeLinear'];
  const counts: Record<string, number> = {};
  for (const node of model.graph.nodes)
    if (kinds.includes(node.opType)) counts[node.opType] = (counts[node.opType] ?? 0) + 1;
  return counts;
}

for (const replica of ['llava-interleave-qwen-tiny', 'llava-interleave-qwen-tiny-sharp', 'llava-1.5-tiny']) {
  const sharp = replica.endsWith('-sharp') ? 'sharp' : 'plain';
  describe(`teaching the quantized ${replica} decoders`, () => {
    for (const variant of ['q4', 'q4f16', 'bnb4', 'quantized', 'int8', 'uint8'] as const satisfies readonly Variant[]) {
      it(`${variant}: keeps the quantized forward and matches its dequantized float32 twin`, async () => {
        const decoder = await readModel(path.join(REPLICAS, replica, `onnx/decoder_model_merged_${variant}.onnx`));
        const teaching = buildTeachingModel(decoder);
        // The forward is the exported one: every quantized node is still there, none was replaced by a float MatMul.
        expect(quantizedOps(teaching.model)).toEqual(quantizedOps(decoder));
        expect(Object.values(quantizedOps(decoder)).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(15);
        // Nothing weight-sized is folded into an initializer when ORT optimizes the teaching graph as the session pool does.
        expect(await addedFloatInitializers(teaching.model, SMALLEST_WEIGHT)).toEqual([]);

        const feeds = teachingFeeds(decoder, 1);
        const twin = dequantizedTwin(decoder, { float32: true });
        expect(Object.values(twin.replaced).reduce((a, b) => a + b, 0)).toBe(15);
        const [quantized, float] = [await teach(decoder, feeds), await teach(twin.model, feeds)];
        expect(quantized.gradient.every(Number.isFinite)).toBe(true);
        expect(Math.abs(quantized.loss - float.loss)).toBeLessThan(0.05 * float.loss);
        const vsFloat = agreement(quantized.gradient, float.gradient);

        if (!DYNAMIC.includes(variant)) {
          expectWithin(vsFloat, variant === 'q4f16' ? HALF[sharp] : WEIGHT_ONLY);
          return;
        }
        const rounded = dequantizedTwin(decoder, { float32: true, roundingInputs: true });
        expect(rounded.roundings.length).toBeGreaterThan(0);
        const straightThrough = await teach(rounded.model, {
          ...feeds,
          ...(await dynamicQuantizationRounding(decoder, rounded, feeds)),
        });
        // Same forward as the quantized model, so the same loss to float rounding.
        expect(Math.abs(straightThrough.loss - quantized.loss)).toBeLessThan(1e-4 * quantized.loss);
        expectWithin(agreement(quantized.gradient, straightThrough.gradient), STRAIGHT_THROUGH[sharp]);
        if (sharp === 'plain') expectWithin(vsFloat, DYNAMIC_VS_FLOAT);
      });
    }
  });
}

// Depends on fused.ts rewriting GroupQueryAttention (with rotary) into standard ops.
describe('teaching the onnxruntime-genai int4 decoders (GroupQueryAttention, MatMulNBits at accuracy level 4)', () => {
  for (const replica of ['llava-interleave-qwen-tiny', 'llava-1.5-tiny']) {
    it(`${replica}: matches its dequantized float32 twin`, async () => {
      const decoder = await readModel(path.join(REPLICAS, replica, 'extra/decoder_model_merged_genai_int4.onnx'));
      const twin = dequantizedTwin(decoder, { float32: true });
      expect(twin.replaced.MatMulNBits).toBeGreaterThan(0);
      const feeds = teachingFeeds(decoder, 1);
      const [quantized, float] = [await teach(decoder, feeds), await teach(twin.model, feeds)];
      expect(Math.abs(quantized.loss - float.loss)).toBeLessThan(0.01 * float.loss);
      expectWithin(agreement(quantized.gradient, float.gradient), GENAI_VS_FLOAT);
    });
  }
});
