import { describe, expect, it } from 'vitest';
import { OperatorError } from '../../errors.ts';
import { decodeYunet, type FloatTensor } from './decode-yunet.ts';

const STRIDES = [8, 16, 32];

/** All-zero YuNet outputs for a W x H input (score 0 everywhere). */
function emptyOutputs(width: number, height: number): Record<string, FloatTensor> {
  const outputs: Record<string, FloatTensor> = {};
  for (const s of STRIDES) {
    const cells = (width / s) * (height / s);
    outputs[`cls_${s}`] = { data: new Float32Array(cells), dims: [1, cells, 1] };
    outputs[`obj_${s}`] = { data: new Float32Array(cells), dims: [1, cells, 1] };
    outputs[`bbox_${s}`] = { data: new Float32Array(cells * 4), dims: [1, cells, 4] };
    outputs[`kps_${s}`] = { data: new Float32Array(cells * 10), dims: [1, cells, 10] };
  }
  return outputs;
}

describe('decodeYunet', () => {
  it('decodes score, box and landmarks of one cell with the grid formula', () => {
    const outputs = emptyOutputs(64, 32);
    // stride 16 on a 64x32 input: 4 columns, 2 rows; cell 6 is column 2, row 1.
    const i = 6;
    outputs.cls_16.data[i] = 0.81;
    outputs.obj_16.data[i] = 1.2; // clamped to 1
    outputs.bbox_16.data.set([0.5, 0.25, Math.log(2), Math.log(3)], i * 4);
    outputs.kps_16.data.set([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0], i * 10);
    const faces = decodeYunet(outputs, { inputWidth: 64, inputHeight: 32, strides: STRIDES, scoreThreshold: 0.5 });
    expect(faces).toHaveLength(1);
    const [face] = faces;
    expect(face.score).toBeCloseTo(0.9, 6);
    // centre ((2 + 0.5) * 16, (1 + 0.25) * 16) = (40, 20); size (32, 48)
    expect(face.box.x).toBeCloseTo(40 - 16, 5);
    expect(face.box.y).toBeCloseTo(20 - 24, 5);
    expect(face.box.width).toBeCloseTo(32, 5);
    expect(face.box.height).toBeCloseTo(48, 5);
    expect(face.landmarks[0][0]).toBeCloseTo((2 + 0.1) * 16, 5);
    expect(face.landmarks[0][1]).toBeCloseTo((1 + 0.2) * 16, 5);
    expect(face.landmarks[4][0]).toBeCloseTo((2 + 0.9) * 16, 5);
    expect(face.landmarks[4][1]).toBeCloseTo((1 + 1.0) * 16, 5);
  });

  it('drops cells under the score threshold and negative scores', () => {
    const outputs = emptyOutputs(32, 32);
    outputs.cls_8.data[0] = 0.3;
    outputs.obj_8.data[0] = 0.3; // sqrt(0.09) = 0.3 < 0.5
    outputs.cls_8.data[1] = -0.5;
    outputs.obj_8.data[1] = -0.5; // clamped to 0, not 0.25
    outputs.cls_32.data[0] = 0.49;
    outputs.obj_32.data[0] = 1; // 0.7 >= 0.5
    const faces = decodeYunet(outputs, { inputWidth: 32, inputHeight: 32, strides: STRIDES, scoreThreshold: 0.5 });
    expect(faces.map((f) => f.score.toFixed(2))).toEqual(['0.70']);
  });

  it('names a missing or short output', () => {
    const outputs = emptyOutputs(32, 32);
    delete outputs.kps_16;
    expect(() =>
      decodeYunet(outputs, { inputWidth: 32, inputHeight: 32, strides: STRIDES, scoreThreshold: 0.5 }),
    ).toThrow(OperatorError);
    expect(() =>
      decodeYunet(outputs, { inputWidth: 32, inputHeight: 32, strides: STRIDES, scoreThreshold: 0.5 }),
    ).toThrow(/kps_16/);
    const short = emptyOutputs(32, 32);
    short.bbox_8 = { data: new Float32Array(3), dims: [1, 1, 3] };
    expect(() =>
      decodeYunet(short, { inputWidth: 32, inputHeight: 32, strides: STRIDES, scoreThreshold: 0.5 }),
    ).toThrow(/bbox_8/);
  });
});
