import { describe, expect, it } from 'vitest';
import { OperatorError } from '../errors.ts';
import { readTfjsWeights } from './tfjs-weights.ts';

const manifest = [
  {
    paths: ['w.bin'],
    weights: [
      { name: 'q', shape: [2, 2], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.5, min: -1 } },
      { name: 'f', shape: [2], dtype: 'float32' },
    ],
  },
];

function bin(): Uint8Array {
  const bytes = new Uint8Array(4 + 8);
  bytes.set([0, 1, 2, 255]);
  const view = new DataView(bytes.buffer);
  view.setFloat32(4, 1.25, true);
  view.setFloat32(8, -3.5, true);
  return bytes;
}

describe('readTfjsWeights', () => {
  it('dequantizes uint8 tensors as q * scale + min and reads float32 ones as stored', () => {
    const weights = readTfjsWeights(manifest, bin());
    expect(weights.get('q')).toEqual({ shape: [2, 2], values: Float32Array.from([-1, -0.5, 0, 126.5]) });
    expect(weights.get('f')).toEqual({ shape: [2], values: Float32Array.from([1.25, -3.5]) });
  });

  it('refuses weights files that do not match the manifest, saying which', () => {
    expect(() => readTfjsWeights(manifest, bin().subarray(0, 10))).toThrow(/ends inside f/);
    const longer = new Uint8Array(13);
    expect(() => readTfjsWeights(manifest, longer)).toThrow(/describes 12 bytes but the weights file has 13/);
    expect(() => readTfjsWeights({}, bin())).toThrow(OperatorError);
    const int8 = [
      { weights: [{ name: 'x', shape: [1], dtype: 'float32', quantization: { dtype: 'int4', scale: 1, min: 0 } }] },
    ];
    expect(() => readTfjsWeights(int8, bin())).toThrow(/x has an unsupported quantization/);
  });
});
