import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { externalDataFiles, readModel, writeModel } from '../model-io.ts';
import { OnnxModel } from '../model.ts';
import { InternalError } from '../../errors.ts';
import { seededRandom } from '../../random.ts';
import { GradientError } from './emitter.ts';
import { buildGradientModel, writeDerivedModel } from './gradient-model.ts';

const scratch = mkdtempSync(path.join(tmpdir(), 'myvlm-grad-model-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** y = tanh(x W1) W2 with two 64x64 weights (32 KiB of float64 each). */
function twoLayer(): OnnxModel {
  const random = seededRandom(3);
  const model = OnnxModel.create();
  const g = model.graph;
  g.addInput('x', 'float64', ['batch', 64]);
  const w1 = g.addInitializer(
    'w1',
    Float64Array.from({ length: 64 * 64 }, () => random() - 0.5),
    [64, 64],
  );
  const w2 = g.addInitializer(
    'w2',
    Float64Array.from({ length: 64 * 64 }, () => random() - 0.5),
    [64, 64],
  );
  const h = g.addNode({ opType: 'Tanh', inputs: [g.addNode({ opType: 'MatMul', inputs: ['x', w1] }).outputs[0]] })
    .outputs[0];
  g.addNode({ opType: 'MatMul', inputs: [h, w2], outputs: ['y'] });
  g.addOutput('y', 'float64', ['batch', 64]);
  return model;
}

const sumOfSquares = (graph: OnnxModel['graph']) =>
  graph.addNode({
    opType: 'ReduceSum',
    inputs: [graph.addNode({ opType: 'Mul', inputs: ['y', 'y'] }).outputs[0]],
    attributes: { keepdims: 0 },
  }).outputs[0];

async function gradientAt(file: string, x: Float64Array): Promise<Float64Array> {
  const session = await ort.InferenceSession.create(file);
  try {
    const out = await session.run({ x: new ort.Tensor('float64', x, [2, 64]) });
    return out.x_grad.data as Float64Array;
  } finally {
    await session.release();
  }
}

describe('gradient models', () => {
  it('outputs the loss and one gradient per input, and drops the forward outputs', () => {
    const built = buildGradientModel(twoLayer(), { wrt: ['x'], loss: sumOfSquares });
    expect(built.model.graph.outputs.map((o) => o.name)).toEqual(['loss', 'x_grad']);
    expect(built.gradients).toEqual({ x: 'x_grad' });
    expect(built.differentiatedNodes).toBe(5);
    expect(built.model.graph.outputs[1].shape).toEqual(['batch', 64]);
  });

  it('keeps one copy of external weights on disk, also from another folder', async () => {
    const modelDir = path.join(scratch, 'model');
    await writeModel(twoLayer(), path.join(modelDir, 'decoder.onnx'), { externalData: {} });
    const forward = await readModel(path.join(modelDir, 'decoder.onnx'));
    const built = buildGradientModel(forward, { wrt: ['x'], loss: sumOfSquares });
    expect(externalDataFiles(built.model.proto)).toEqual(['decoder.onnx_data']);

    const beside = path.join(modelDir, 'decoder.grad.onnx');
    writeDerivedModel(built.model, beside);
    const elsewhere = path.join(scratch, 'cache', 'decoder.grad.onnx');
    writeDerivedModel(built.model, elsewhere);
    const weights = statSync(path.join(modelDir, 'decoder.onnx_data'));
    expect(weights.size).toBe(2 * 64 * 64 * 8);
    // The gradient graph itself holds no weights...
    expect(statSync(beside).size).toBeLessThan(weights.size / 4);
    // ...and the copy in the cache folder reads the very same data file (a hard link, not a copy).
    expect(statSync(path.join(scratch, 'cache', 'decoder.onnx_data')).ino).toBe(weights.ino);

    const x = Float64Array.from({ length: 128 }, (_, i) => Math.sin(i));
    const inline = path.join(scratch, 'inline.grad.onnx');
    writeDerivedModel(buildGradientModel(twoLayer(), { wrt: ['x'], loss: sumOfSquares }).model, inline);
    const expected = await gradientAt(inline, x);
    expect(Array.from(await gradientAt(beside, x))).toEqual(Array.from(expected));
    expect(Array.from(await gradientAt(elsewhere, x))).toEqual(Array.from(expected));
    expect(readFileSync(beside).includes(Buffer.from('decoder.onnx_data'))).toBe(true);
  });

  it('refuses to differentiate with respect to a value that is not an input', () => {
    // A caller's mistake, not the export's: a bug.
    expect(() => buildGradientModel(twoLayer(), { wrt: ['y'], loss: sumOfSquares })).toThrow(InternalError);
    expect(() => buildGradientModel(twoLayer(), { wrt: ['nothing'], loss: sumOfSquares })).toThrow(
      /"nothing" is neither an input nor an initializer/,
    );
  });

  it('says when the loss does not depend on the input', () => {
    const model = twoLayer();
    model.graph.addInput('z', 'float64', [3]);
    expect(() => buildGradientModel(model, { wrt: ['z'], loss: sumOfSquares })).toThrow(GradientError);
    expect(() => buildGradientModel(model, { wrt: ['z'], loss: sumOfSquares })).toThrow(/does not depend on "z"/);
  });
});
