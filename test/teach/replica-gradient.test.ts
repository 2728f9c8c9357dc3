// The teaching graph of real-format exports, checked two independent ways:
// against PyTorch autograd (a fixture written by
// fixtures/make-torch-teaching-gradient.py from the very model the replica
// was exported from) and against central finite differences of its own loss,
// with the checker every gradient rule is tested with.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { checkGradient } from '../support/gradient-check.ts';
import { readModel } from '../../src/onnx/model-io.ts';
import { normal, seededRandom } from '../../src/random.ts';
import { buildTeachingModel, LOSS_INPUTS, LOSS_OUTPUTS } from '../../src/teach/loss-graph.ts';
import { SHARED_MODELS } from '../support/paths.ts';
import { relativeError } from '../support/numbers.ts';

const REPLICAS = path.join(SHARED_MODELS, 'vlm-replicas');

interface TorchFixture {
  inputs: {
    inputs_embeds: number[];
    inputs_embeds_shape: [number, number, number];
    attention_mask: number[][];
    position_ids: number[][];
    labels: number[][];
    concept_position: number[];
    lambda: number;
  };
  expected: {
    caption_loss: number;
    attention_loss: number;
    loss: number;
    gradient: number[];
    attention_gradient: number[];
  };
}

const fixture = JSON.parse(
  readFileSync(path.join(import.meta.dirname, 'fixtures/torch-teaching-gradient.json'), 'utf8'),
) as TorchFixture;

const int64 = (rows: number[][]) =>
  new ort.Tensor(
    'int64',
    BigInt64Array.from(rows.flat(), (v) => BigInt(v)),
    [rows.length, rows[0].length],
  );

/** The decoder's feeds plus the loss inputs, with an empty KV cache of the decoder's shape. */
function feeds(
  session: ort.InferenceSession,
  embeds: Float32Array,
  dims: readonly number[],
  lambda: number,
  inputs = fixture.inputs,
): Record<string, ort.Tensor> {
  const out: Record<string, ort.Tensor> = {
    inputs_embeds: new ort.Tensor('float32', embeds, dims),
    attention_mask: int64(inputs.attention_mask),
    position_ids: int64(inputs.position_ids),
    [LOSS_INPUTS.labels]: int64(inputs.labels),
    [LOSS_INPUTS.conceptPosition]: new ort.Tensor(
      'int64',
      BigInt64Array.from(inputs.concept_position, (v) => BigInt(v)),
      [dims[0]],
    ),
    [LOSS_INPUTS.attentionLambda]: new ort.Tensor('float32', Float32Array.of(lambda), []),
  };
  for (const meta of session.inputMetadata) {
    if (!meta.name.startsWith('past_key_values') || !meta.isTensor) continue;
    out[meta.name] = new ort.Tensor('float32', new Float32Array(0), [
      dims[0],
      meta.shape[1] as number,
      0,
      meta.shape[3] as number,
    ]);
  }
  return out;
}

describe('teaching graph of the LLaVA-interleave replica against PyTorch autograd', () => {
  it('computes the loss and its gradient that PyTorch computes in float64 for the same model', async () => {
    const teaching = buildTeachingModel(
      await readModel(path.join(REPLICAS, 'llava-interleave-qwen-tiny/onnx/decoder_model_merged.onnx')),
    );
    const session = await ort.InferenceSession.create(teaching.model.toBytes(), {
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
    });
    try {
      const embeds = Float32Array.from(fixture.inputs.inputs_embeds);
      const dims = fixture.inputs.inputs_embeds_shape;
      const at = async (lambda: number) => session.run(feeds(session, embeds, dims, lambda));
      const value = (out: ort.InferenceSession.ReturnType, name: string) => Number((out[name].data as Float32Array)[0]);

      const out = await at(fixture.inputs.lambda);
      expect(value(out, LOSS_OUTPUTS.caption)).toBeCloseTo(fixture.expected.caption_loss, 5);
      expect(value(out, LOSS_OUTPUTS.attention)).toBeCloseTo(fixture.expected.attention_loss, 7);
      expect(value(out, LOSS_OUTPUTS.loss)).toBeCloseTo(fixture.expected.loss, 5);
      expect(
        relativeError(out[LOSS_OUTPUTS.embedsGradient].data as Float32Array, fixture.expected.gradient),
      ).toBeLessThan(1e-4);

      // The attention term barely moves the gradient at lambda 0.5 on random weights; at a large lambda it dominates, and it is linear in lambda.
      const large = 1e4;
      const scaled = fixture.expected.gradient.map(
        (g, i) => g + (large / fixture.inputs.lambda - 1) * fixture.expected.attention_gradient[i],
      );
      const heavy = await at(large);
      expect(value(heavy, LOSS_OUTPUTS.attention)).toBeCloseTo(
        (fixture.expected.attention_loss * large) / fixture.inputs.lambda,
        2,
      );
      expect(relativeError(heavy[LOSS_OUTPUTS.embedsGradient].data as Float32Array, scaled)).toBeLessThan(1e-3);
    } finally {
      await session.release();
    }
  });
});

describe('teaching graphs of the fp32 replicas against central finite differences', () => {
  // The std-0.02 replicas: smooth enough for float32 differences (the sharp one is too sensitive to its input).
  for (const replica of ['llava-interleave-qwen-tiny', 'llava-1.5-tiny']) {
    it(`${replica}: the gradient of inputs_embeds matches the loss's central differences, attention regularization on`, async () => {
      const teaching = buildTeachingModel(
        await readModel(path.join(REPLICAS, replica, 'onnx/decoder_model_merged.onnx')),
      );
      const bytes = teaching.model.toBytes();
      const probe = await ort.InferenceSession.create(bytes);
      const random = seededRandom(7);
      const dims = [2, 14, 64];
      const embeds = Float32Array.from({ length: dims[0] * dims[1] * dims[2] }, () => 0.05 * normal(random));
      const labels = [0, 1].map((b) =>
        Array.from({ length: dims[1] }, (_, t) => (t >= 8 && !(b === 1 && t >= 12) ? (t * 37 + b * 11) % 900 : -100)),
      );
      const input = feeds(probe, embeds, dims, 50, {
        ...fixture.inputs,
        attention_mask: [0, 1].map((b) => Array.from({ length: dims[1] }, (_, t) => (b === 1 && t >= 12 ? 0 : 1))),
        position_ids: [0, 1].map(() => Array.from({ length: dims[1] }, (_, t) => t)),
        labels,
        concept_position: [5, 4],
      });
      await probe.release();
      const result = await checkGradient(
        bytes,
        input,
        { wrt: 'inputs_embeds', loss: LOSS_OUTPUTS.loss, gradient: LOSS_OUTPUTS.embedsGradient },
        { directions: 4, coordinates: 0, epsilon: 1e-2 },
      );
      expect(result.loss).toBeGreaterThan(0);
      // float32 differences of a float32 graph: 6.5e-3 (Qwen) and 8.8e-4 (LLaVA-1.5) measured, far below what a wrong rule gives.
      expect(result.maxRelativeError).toBeLessThan(2e-2);
    });
  }
});
