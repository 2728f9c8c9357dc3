// The whole tiny LLaVA decoder (RMSNorm, rotary, grouped-query attention,
// SwiGLU, KV-cache inputs) differentiated with MyVLM's loss, attention
// regularization on, checked against central differences in float64.
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { checkGradient } from '../support/gradient-check.ts';
import { resolveSizes } from '../../src/onnx/tiny/config.ts';
import { buildDecoder, cacheNames } from '../../src/onnx/tiny/decoder.ts';
import { baseVocabularySize, LLAVA_TOKENIZER } from '../../src/onnx/tiny/tokenizer.ts';
import { normal, seededRandom } from '../../src/random.ts';
import {
  buildTeachingModel,
  findAttentionProbabilities,
  LOSS_INPUTS,
  LOSS_OUTPUTS,
} from '../../src/teach/loss-graph.ts';

const BATCH = 2;
const SEQUENCE = 7;

function decoderFeeds(sizes: ReturnType<typeof resolveSizes>, lambda: number): Record<string, ort.Tensor> {
  const random = seededRandom(11);
  const { hiddenSize: H, kvHeads, headDim, layers } = sizes;
  const int64 = (values: number[], dims: number[]) =>
    new ort.Tensor(
      'int64',
      BigInt64Array.from(values, (v) => BigInt(v)),
      dims,
    );
  const feeds: Record<string, ort.Tensor> = {
    inputs_embeds: new ort.Tensor(
      'float64',
      Float64Array.from({ length: BATCH * SEQUENCE * H }, () => normal(random)),
      [BATCH, SEQUENCE, H],
    ),
    // The second sequence is one token shorter (right padding), as in a training batch.
    attention_mask: int64([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0], [BATCH, SEQUENCE]),
    position_ids: int64([0, 1, 2, 3, 4, 5, 6, 0, 1, 2, 3, 4, 5, 6], [BATCH, SEQUENCE]),
    [LOSS_INPUTS.labels]: int64([-100, -100, -100, 5, 17, 42, 3, -100, -100, -100, 8, 9, 3, -100], [BATCH, SEQUENCE]),
    [LOSS_INPUTS.conceptPosition]: int64([2, 1], [BATCH]),
    [LOSS_INPUTS.attentionLambda]: new ort.Tensor('float64', Float64Array.of(lambda), []),
  };
  for (let i = 0; i < layers; i++) {
    const n = cacheNames(i);
    feeds[n.pastKey] = new ort.Tensor('float64', new Float64Array(0), [BATCH, kvHeads, 0, headDim]);
    feeds[n.pastValue] = new ort.Tensor('float64', new Float64Array(0), [BATCH, kvHeads, 0, headDim]);
  }
  return feeds;
}

describe('gradient of the whole tiny LLaVA decoder', () => {
  const sizes = resolveSizes(
    'llava',
    { dtype: 'float64', layers: 2, hiddenSize: 32, heads: 4, kvHeads: 2, seed: 3 },
    baseVocabularySize(LLAVA_TOKENIZER),
  );

  it('finds one attention Softmax per layer, in layer order', () => {
    const decoder = buildDecoder(sizes);
    const found = findAttentionProbabilities(decoder.graph);
    expect(found).toHaveLength(sizes.layers);
    expect(found.map((v) => decoder.graph.producer(v)?.name)).toEqual([
      '/model/layers.0/attn/Softmax',
      '/model/layers.1/attn/Softmax',
    ]);
  });

  for (const direction of ['row', 'column'] as const) {
    it(`matches central differences with the attention regularization on (${direction})`, async () => {
      const teaching = buildTeachingModel(buildDecoder(sizes), { direction });
      expect(teaching.attentionLayers).toBe(2);
      const feeds = decoderFeeds(sizes, 0.5);
      const result = await checkGradient(
        teaching.model,
        feeds,
        { wrt: 'inputs_embeds', loss: LOSS_OUTPUTS.loss, gradient: teaching.embedsGradient },
        { directions: 4, coordinates: 4 },
      );
      expect(result.loss).toBeGreaterThan(0);
      expect(result.maxRelativeError).toBeLessThan(1e-6);
    });
  }

  it('reports the two parts of the loss, and the regularization scales with lambda', async () => {
    const teaching = buildTeachingModel(buildDecoder(sizes));
    const session = await ort.InferenceSession.create(teaching.model.toBytes(), { graphOptimizationLevel: 'basic' });
    try {
      const run = async (lambda: number) => session.run(decoderFeeds(sizes, lambda));
      const a = await run(1);
      const b = await run(3);
      const value = (t: ort.Tensor) => Number((t.data as Float64Array)[0]);
      const caption = value(a[LOSS_OUTPUTS.caption]);
      // A random model predicts about uniformly: cross-entropy near ln(vocabulary).
      expect(caption).toBeGreaterThan(0.5 * Math.log(sizes.vocabSize));
      expect(caption).toBeLessThan(2 * Math.log(sizes.vocabSize));
      expect(value(b[LOSS_OUTPUTS.caption])).toBeCloseTo(caption, 12);
      expect(value(b[LOSS_OUTPUTS.attention])).toBeCloseTo(3 * value(a[LOSS_OUTPUTS.attention]), 12);
      expect(value(a[LOSS_OUTPUTS.loss])).toBeCloseTo(caption + value(a[LOSS_OUTPUTS.attention]), 12);
      // The gradient is nonzero only where the sequence can influence a counted label.
      const grad = a[teaching.embedsGradient];
      expect(grad.dims).toEqual([BATCH, SEQUENCE, sizes.hiddenSize]);
      const data = grad.data as Float64Array;
      const rowNorm = (b: number, t: number) =>
        Math.hypot(...data.subarray((b * SEQUENCE + t) * sizes.hiddenSize, (b * SEQUENCE + t + 1) * sizes.hiddenSize));
      expect(rowNorm(0, 0)).toBeGreaterThan(0);
      expect(rowNorm(0, SEQUENCE - 1)).toBe(0); // the last position predicts nothing
    } finally {
      await session.release();
    }
  });
});
