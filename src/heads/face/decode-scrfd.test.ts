import { describe, expect, it } from 'vitest';
import { OperatorError } from '../../errors.ts';
import { decodeScrfd } from './decode-scrfd.ts';
import type { FloatTensor } from './decode-yunet.ts';

const STRIDES = [8, 16, 32];

/** SCRFD outputs in graph order (scores, boxes, landmarks per stride), all zero. */
function emptyOutputs(width: number, height: number, anchorsPerCell: number, batched: boolean): FloatTensor[] {
  const make = (channels: number) =>
    STRIDES.map((s) => {
      const n = (width / s) * (height / s) * anchorsPerCell;
      return { data: new Float32Array(n * channels), dims: batched ? [1, n, channels] : [n, channels] };
    });
  return [...make(1), ...make(4), ...make(10)];
}

const context = { inputWidth: 64, inputHeight: 32, strides: STRIDES, scoreThreshold: 0.5, anchorsPerCell: 2 };

describe('decodeScrfd', () => {
  it.each([false, true])(
    'decodes distance boxes and landmark offsets around the anchor centre (batched %s)',
    (batched) => {
      const outputs = emptyOutputs(64, 32, 2, batched);
      // stride 8 on 64x32: 8 columns, 4 rows, 2 anchors per cell. Anchor 21 is the second anchor of
      // cell 10 = column 2, row 1: centre (16, 8).
      const a = 21;
      outputs[0].data[a] = 0.9;
      outputs[3].data.set([1, 0.5, 2, 1.5], a * 4);
      outputs[6].data.set([-1, -0.5, 1, -0.5, 0, 0.25, -0.75, 1, 0.75, 1], a * 10);
      const faces = decodeScrfd(outputs, context);
      expect(faces).toHaveLength(1);
      const [face] = faces;
      expect(face.score).toBeCloseTo(0.9, 6);
      // left = 16 - 8, top = 8 - 4, right = 16 + 16, bottom = 8 + 12
      expect(face.box).toEqual({ x: 8, y: 4, width: 24, height: 16 });
      expect(face.landmarks[0]).toEqual([8, 4]);
      expect(face.landmarks[2]).toEqual([16, 10]);
      expect(face.landmarks[4]).toEqual([22, 16]);
    },
  );

  it('reads every stride and keeps only scores at or above the threshold', () => {
    const outputs = emptyOutputs(64, 32, 2, false);
    outputs[0].data[0] = 0.49;
    outputs[1].data[3] = 0.5; // stride 16: cell 1 = column 1, row 0 -> centre (16, 0)
    outputs[2].data[1] = 0.95; // stride 32: cell 0 -> centre (0, 0)
    const faces = decodeScrfd(outputs, context);
    expect(faces.map((f) => Number(f.score.toFixed(4)))).toEqual([0.5, 0.95]);
    expect(faces[0].landmarks[0]).toEqual([16, 0]);
  });

  it('refuses outputs of the wrong count or shape', () => {
    const outputs = emptyOutputs(64, 32, 2, false);
    expect(() => decodeScrfd(outputs.slice(0, 6), context)).toThrow(OperatorError);
    expect(() => decodeScrfd(outputs.slice(0, 6), context)).toThrow(/expects 9 outputs/);
    outputs[4] = { data: new Float32Array(10), dims: [10, 1] };
    expect(() => decodeScrfd(outputs, context)).toThrow(OperatorError);
    expect(() => decodeScrfd(outputs, context)).toThrow(/boxes of stride 16/);
  });
});
