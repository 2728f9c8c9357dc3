// The real shared models as the ground truth of the ONNX reader and writer:
// byte-for-byte round trips, the same ONNX Runtime outputs after rewriting
// (also with external data), and inspection that matches what they hold.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { decodeModel, encodeModel } from '../../src/onnx/proto.ts';
import { readModel, writeModel } from '../../src/onnx/model-io.ts';
import { inspectModel, formatInspection } from '../../src/onnx/inspect.ts';
import { tensorToArray } from '../../src/onnx/tensor.ts';
import { validateGraph } from '../support/onnx-check.ts';
import { onnxCommand } from '../../src/cli/onnx.ts';
import { SHARED_MODELS } from '../support/paths.ts';

const YUNET = path.join(SHARED_MODELS, 'face-detection/yunet_2023mar_640.onnx');
const MOBILEFACENET = path.join(SHARED_MODELS, 'face-recognition/mobilefacenet.onnx');
const MOBILENET_V3 = path.join(SHARED_MODELS, 'image-features/mobilenet_v3_small_576.onnx');
const MOBILENET_V2_INT8 = path.join(SHARED_MODELS, 'image-features/mobilenet_v2_int8_1280.onnx');

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'myvlm-onnx-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** Deterministic input filling a tensor shape with a smooth pattern. */
function pattern(dims: number[]): ort.Tensor {
  const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 0.01) * 0.5 + 0.5;
  return new ort.Tensor('float32', data, dims);
}

function sameBytes(a: Float32Array, b: Float32Array): boolean {
  return (
    a.length > 0 &&
    Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))
  );
}

async function runFile(file: string, input: string, dims: number[]): Promise<Record<string, Float32Array>> {
  const session = await ort.InferenceSession.create(file);
  const out = await session.run({ [input]: pattern(dims) });
  await session.release();
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
}

describe('reading and writing the shared real models', () => {
  it.each([
    'face-detection/yunet_2023mar_640.onnx',
    'face-detection/yunet_s_dynamic.onnx',
    'face-detection/ultraface_rfb_320.onnx',
    'face-recognition/mobilefacenet.onnx',
    'image-features/mobilenet_v3_small_576.onnx',
  ])('re-encodes %s to the same bytes', async (file) => {
    const bytes = await readFile(path.join(SHARED_MODELS, file));
    expect(Buffer.from(encodeModel(decodeModel(bytes))).equals(bytes)).toBe(true);
  });

  it('finds no structural problem in any of them, and keeps their stored node order as a valid order', async () => {
    for (const file of [YUNET, MOBILEFACENET, MOBILENET_V3, MOBILENET_V2_INT8]) {
      const model = await readModel(file);
      expect(validateGraph(model.graph)).toEqual([]);
      expect(model.graph.topologicalOrder()).toEqual(model.graph.nodes);
    }
  });

  it('re-encodes the int8 MobileNetV2 (whose writer interleaved repeated fields) to a model with identical content and outputs', async () => {
    const bytes = await readFile(MOBILENET_V2_INT8);
    const model = decodeModel(bytes);
    const again = encodeModel(model);
    expect(again.byteLength).toBe(bytes.byteLength);
    expect(Buffer.from(encodeModel(decodeModel(again))).equals(Buffer.from(again))).toBe(true);
    expect(model.graph?.output?.map((o) => o.name)).toEqual(['class_logits', 'view']);
    const rewritten = path.join(scratch, 'mobilenet_v2_int8.onnx');
    await writeModel(await readModel(MOBILENET_V2_INT8), rewritten);
    const [before, after] = [
      await runFile(MOBILENET_V2_INT8, 'image', [1, 3, 224, 224]),
      await runFile(rewritten, 'image', [1, 3, 224, 224]),
    ];
    expect(after.view).toEqual(before.view);
    expect(after.class_logits).toEqual(before.class_logits);
  });

  it('moves weights to an external data file and back without changing a single output', async () => {
    const model = await readModel(MOBILEFACENET);
    const externalFile = path.join(scratch, 'ext', 'mobilefacenet.onnx');
    const written = await writeModel(model, externalFile, { externalData: { minBytes: 4096 } });
    expect(written.externalFile).toBe(`${externalFile}_data`);
    expect(written.bytes).toBeLessThan(200_000);
    expect(written.externalBytes).toBeGreaterThan(3_500_000);

    const reread = await readModel(externalFile);
    const name = model.graph.initializers.find((t) => (t.rawData?.byteLength ?? 0) > 100_000)?.name ?? '';
    expect(
      sameBytes(reread.graph.initializerData(name) as Float32Array, model.graph.initializerData(name) as Float32Array),
    ).toBe(true);
    const inspection = await inspectModel(externalFile);
    expect(inspection.externalData).toEqual([{ location: 'mobilefacenet.onnx_data', bytes: written.externalBytes }]);

    // Back inline again from the external form: still the same tensors.
    const inline = path.join(scratch, 'inline.onnx');
    await writeModel(reread, inline);
    const original = await runFile(MOBILEFACENET, 'input', [2, 3, 112, 112]);
    expect((await runFile(externalFile, 'input', [2, 3, 112, 112])).embeddings).toEqual(original.embeddings);
    expect((await runFile(inline, 'input', [2, 3, 112, 112])).embeddings).toEqual(original.embeddings);
    const t = (await readModel(inline)).graph.initializer(name);
    expect(t && sameBytes(tensorToArray(t) as Float32Array, model.graph.initializerData(name) as Float32Array)).toBe(
      true,
    );
  });
});

describe('onnx inspect on the shared real models', () => {
  it('reports YuNet: one fixed input, twelve outputs, 106 nodes', async () => {
    const i = await inspectModel(YUNET);
    expect(i.inputs).toEqual([{ name: 'input', kind: 'tensor', elementType: 'float32', shape: [1, 3, 640, 640] }]);
    expect(i.outputs.map((o) => o.name)).toEqual([
      'cls_8',
      'cls_16',
      'cls_32',
      'obj_8',
      'obj_16',
      'obj_32',
      'bbox_8',
      'bbox_16',
      'bbox_32',
      'kps_8',
      'kps_16',
      'kps_32',
    ]);
    expect(i.outputs.find((o) => o.name === 'kps_8')?.shape).toEqual([1, 6400, 10]);
    expect(i.opsets).toEqual({ '': 11 });
    expect(i.nodeCount).toBe(106);
    expect(i.ops).toEqual([
      { op: 'Conv', count: 53 },
      { op: 'Relu', count: 15 },
      { op: 'Reshape', count: 12 },
      { op: 'Transpose', count: 12 },
      { op: 'Sigmoid', count: 6 },
      { op: 'MaxPool', count: 4 },
      { op: 'Add', count: 2 },
      { op: 'Resize', count: 2 },
    ]);
    expect(i.externalData).toEqual([]);
  });

  it('reports MobileFaceNet: a dynamic batch and 66 Constant nodes', async () => {
    const i = await inspectModel(MOBILEFACENET);
    expect(i.inputs).toEqual([
      { name: 'input', kind: 'tensor', elementType: 'float32', shape: ['batch', 3, 112, 112] },
    ]);
    expect(i.outputs.map((o) => [o.name, o.elementType, o.shape?.[0]])).toEqual([['embeddings', 'float32', 'batch']]);
    expect(i.nodeCount).toBe(168);
    expect(Object.fromEntries(i.ops.map((o) => [o.op, o.count]))).toEqual({
      Constant: 66,
      Conv: 51,
      Clip: 32,
      Add: 12,
      Relu: 2,
      Concat: 1,
      Gather: 1,
      Reshape: 1,
      Shape: 1,
      Unsqueeze: 1,
    });
    expect(i.opsets).toEqual({ '': 12 });
  });

  it('reports MobileNetV3-Small: 118 nodes, 921 k parameters', async () => {
    const i = await inspectModel(MOBILENET_V3);
    expect(i.inputs).toEqual([
      { name: 'input', kind: 'tensor', elementType: 'float32', shape: ['batch_size', 3, 224, 224] },
    ]);
    expect(i.outputs).toEqual([{ name: 'mean_9', kind: 'tensor', elementType: 'float32', shape: [1, 576, 1, 1] }]);
    expect(i.nodeCount).toBe(118);
    expect(i.ops[0]).toEqual({ op: 'Conv', count: 52 });
    expect(i.ops.find((o) => o.op === 'HardSwish')?.count).toBe(18);
    expect(i.parameterCount).toBeGreaterThan(900_000);
    expect(i.parameterCount).toBeLessThan(950_000);
    // Inputs and outputs agree with what ONNX Runtime reads from the same file.
    const session = await ort.InferenceSession.create(MOBILENET_V3);
    expect(session.inputNames).toEqual(i.inputs.map((v) => v.name));
    expect(session.outputNames).toEqual(i.outputs.map((v) => v.name));
    await session.release();
  });

  it('prints the summary through the CLI, as text and as JSON', async () => {
    const chunks: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      chunks.push(String(chunk));
      return true;
    });
    try {
      expect(await onnxCommand(['inspect', YUNET])).toBe(0);
      expect(await onnxCommand(['inspect', MOBILEFACENET, '--json'])).toBe(0);
    } finally {
      spy.mockRestore();
    }
    const text = chunks[0];
    expect(text).toContain('Opsets: ai.onnx 11');
    expect(text).toMatch(/Inputs \(1\):\n {2}input {2}float32\[1, 3, 640, 640\]/);
    expect(text).toMatch(/Outputs \(12\):/);
    expect(text).toMatch(/Nodes: 106, 8 operator types:\n {2}Conv +53\n/);
    const json = JSON.parse(chunks[1]) as {
      nodeCount: number;
      inputs: { name: string }[];
      ops: { op: string; count: number }[];
    };
    expect(json.nodeCount).toBe(168);
    expect(json.inputs[0].name).toBe('input');
    expect(json.ops[0]).toEqual({ op: 'Constant', count: 66 });
    expect(formatInspection(await inspectModel(MOBILENET_V2_INT8))).toContain(
      'view          float32 (shape not declared)',
    );
  });
});
