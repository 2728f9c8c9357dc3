import { describe, expect, it } from 'vitest';
import { findModel } from '../../models/registry.ts';
import { ort } from '../../models/session.ts';
import { OnnxModel } from '../../onnx/model.ts';
import { Ops } from '../../onnx/ops.ts';
import { detectorInputSize, OnnxFaceDetector, writePaddedNchw } from './detector.ts';

describe('detectorInputSize', () => {
  it('uses the square of a fixed-size graph', () => {
    expect(detectorInputSize(findModel('face-detection', 'yunet-2023mar'), 910, 1137)).toEqual({
      width: 640,
      height: 640,
    });
  });

  it("keeps the photo's aspect for dynamic graphs: long side 640, short side up to a multiple of 32", () => {
    const dynamic = findModel('face-detection', 'yunet-s-dynamic');
    expect(detectorInputSize(dynamic, 910, 1137)).toEqual({ width: 544, height: 640 }); // 910 * 640 / 1137 = 512.2
    expect(detectorInputSize(dynamic, 100, 50)).toEqual({ width: 640, height: 320 }); // small photos are scaled up
    expect(detectorInputSize(dynamic, 5000, 10)).toEqual({ width: 640, height: 32 });
    expect(detectorInputSize(dynamic, 300, 200, 320)).toEqual({ width: 320, height: 224 });
  });
});

describe('writePaddedNchw', () => {
  it('writes planes in the model channel order, normalized, with normalized black padding', () => {
    const image = { width: 2, height: 1, data: new Uint8Array([10, 20, 30, 40, 50, 60]) };
    const out = new Float32Array(3 * 3 * 2);
    writePaddedNchw(
      image,
      { width: 3, height: 2 },
      { channels: 'bgr', scale: 1, mean: [1, 2, 3], std: [1, 1, 2] },
      out,
    );
    // plane 0 = blue - 1, plane 1 = green - 2, plane 2 = (red - 3) / 2; padding = -mean / std
    expect([...out.subarray(0, 6)]).toEqual([29, 59, -1, -1, -1, -1]);
    expect([...out.subarray(6, 12)]).toEqual([18, 48, -2, -2, -2, -2]);
    expect([...out.subarray(12, 18)]).toEqual([3.5, 18.5, -1.5, -1.5, -1.5, -1.5]);
  });
});

/**
 * A stand-in for an SCRFD export on a 64x64 input: nine outputs in graph order
 * (scores, boxes, landmarks for strides 8, 16, 32), named by number as the
 * buffalo_l exports are, holding hand-made values.
 */
async function tinyScrfd(): Promise<ort.InferenceSession> {
  const model = OnnxModel.create({ opsets: { '': 17 } });
  const graph = model.graph;
  const op = new Ops(graph);
  graph.addInput('input.1', 'float32', [1, 3, 64, 64]);
  const strides = [8, 16, 32];
  const anchors = strides.map((s) => (64 / s) * (64 / s) * 2);
  const scores = anchors.map((n) => new Float32Array(n));
  const boxes = anchors.map((n) => new Float32Array(n * 4));
  const kps = anchors.map((n) => new Float32Array(n * 10));
  // Stride 8, cell (column 3, row 2) -> centre (24, 16); its first anchor is a face, its second a weaker duplicate.
  const cell = 2 * 8 + 3;
  scores[0][cell * 2] = 0.9;
  boxes[0].set([2, 1, 2, 3], cell * 2 * 4); // (8, 8) to (40, 40) around (24, 16)
  kps[0].set([-1, -0.5, 1, -0.5, 0, 0.5, -0.5, 1.5, 0.5, 1.5], cell * 2 * 10);
  scores[0][cell * 2 + 1] = 0.7;
  boxes[0].set([2, 1, 2, 3], (cell * 2 + 1) * 4);
  // A stride-32 face below the score threshold.
  scores[2][0] = 0.3;
  const all = [
    ...scores.map((d) => [d, 1] as const),
    ...boxes.map((d) => [d, 4] as const),
    ...kps.map((d) => [d, 10] as const),
  ];
  all.forEach(([data, channels], i) => {
    const name = String(440 + i);
    op.node('Identity', [op.floats(data, [1, data.length / channels, channels], 'float32')], {}, { output: name });
    graph.addOutput(name, 'float32', [1, data.length / channels, channels]);
  });
  return ort.InferenceSession.create(model.toBytes());
}

describe('OnnxFaceDetector with an SCRFD-style graph', () => {
  it('decodes outputs by graph order, maps faces back to the photo, and suppresses duplicates', async () => {
    const scrfd = findModel('face-detection', 'scrfd-10g-buffalo-l');
    const entry = { ...scrfd, preprocess: { ...scrfd.preprocess, width: 64, height: 64 } };
    const session = await tinyScrfd();
    try {
      const detector = new OnnxFaceDetector(entry, session);
      // A 128x96 photo letterboxes into 64x64 at scale 0.5, so photo = input * 2.
      const photo = { width: 128, height: 96, data: new Uint8Array(128 * 96 * 3).fill(128) };
      const faces = await detector.detect(photo);
      expect(faces).toHaveLength(1);
      const [face] = faces;
      expect(face.score).toBeCloseTo(0.9, 5);
      expect(face.box).toEqual({ x: 16, y: 16, width: 64, height: 64 });
      expect(face.landmarks[0]).toEqual([32, 24]);
      expect(face.landmarks[2]).toEqual([48, 40]);
      expect(face.landmarks[4]).toEqual([56, 56]);
      // The same graph with a minimum face size above 64 photo pixels finds nothing.
      expect(await new OnnxFaceDetector(entry, session, { minFaceSize: 65 }).detect(photo)).toEqual([]);
    } finally {
      await session.release();
    }
  });
});
