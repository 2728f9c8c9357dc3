import { describe, expect, it } from 'vitest';
import { DataType, dataTypeOf, elementTypeName, makeStringTensor, makeTensor, tensorDims, tensorToArray, tensorToNumbers } from './tensor.ts';
import { DataLocation, int64FromNumber, type TensorProto } from './proto.ts';
import { UserError } from '../errors.ts';

describe('tensors as data', () => {
  it('stores typed arrays as raw little-endian bytes and reads them back unchanged', () => {
    const cases = [
      Float32Array.of(1.5, -2, 3.25),
      Float64Array.of(Math.PI, -1e-300),
      Int32Array.of(-7, 8),
      BigInt64Array.of(-(1n << 62n), 9n),
      Uint8Array.of(0, 255),
      Int8Array.of(-128, 127),
      Uint16Array.of(0x3c00),
      BigUint64Array.of((1n << 64n) - 1n),
    ];
    for (const data of cases) {
      const t = makeTensor('t', data, [data.length]);
      expect(t.rawData?.byteLength).toBe(data.byteLength);
      const back = tensorToArray(t);
      expect(back.constructor).toBe(data.constructor);
      expect(Array.from(back as ArrayLike<unknown>)).toEqual(Array.from(data as ArrayLike<unknown>));
    }
  });

  it('reads the typed fields that older exporters write instead of raw bytes', () => {
    const base = { dims: [int64FromNumber(2)] };
    expect(Array.from(tensorToArray({ ...base, dataType: DataType.FLOAT, floatData: [0.5, 2] }) as Float32Array)).toEqual([0.5, 2]);
    expect(Array.from(tensorToArray({ ...base, dataType: DataType.INT64, int64Data: [int64FromNumber(-3), { low: -1, high: 0x7fffffff }] }) as BigInt64Array)).toEqual([
      -3n,
      (1n << 63n) - 1n,
    ]);
    expect(Array.from(tensorToArray({ ...base, dataType: DataType.BOOL, int32Data: [1, 0] }) as Uint8Array)).toEqual([1, 0]);
    expect(Array.from(tensorToArray({ ...base, dataType: DataType.DOUBLE, doubleData: [1e-9, 3] }) as Float64Array)).toEqual([1e-9, 3]);
    expect(Array.from(tensorToArray({ ...base, dataType: DataType.FLOAT16, int32Data: [0x3c00, 0xc000] }) as Uint16Array)).toEqual([0x3c00, 0xc000]);
    // INT4 packs two elements per byte, low nibble first.
    expect(Array.from(tensorToArray({ dims: [int64FromNumber(3)], dataType: DataType.INT4, int32Data: [1, -1, 7] }) as Uint8Array)).toEqual([0xf1, 0x07]);
  });

  it('handles scalars, strings and bool tensors', () => {
    const scalar = makeTensor('s', Float32Array.of(4), []);
    expect(tensorDims(scalar)).toEqual([]);
    expect(tensorToNumbers(scalar)).toEqual([4]);
    const strings = makeStringTensor('names', ['Anna', 'Bob'], [2]);
    expect(tensorToArray(strings)).toEqual(['Anna', 'Bob']);
    const flags = makeTensor('b', Uint8Array.of(1, 0, 1), [3], 'bool');
    expect(flags.dataType).toBe(DataType.BOOL);
    expect(() => makeTensor('bad', Float32Array.of(1, 2), [3])).toThrow(RangeError);
  });

  it('reads external bytes through the reader it is given, and names the fix without one', () => {
    const external: TensorProto = {
      name: 'w',
      dims: [int64FromNumber(2)],
      dataType: DataType.FLOAT,
      dataLocation: DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: 'weights.bin' },
        { key: 'offset', value: '4' },
      ],
    };
    const file = new Uint8Array(new Float32Array([9, 1.5, -2]).buffer);
    const read = tensorToArray(external, ({ location, offset, length }) => {
      expect(location).toBe('weights.bin');
      return file.slice(offset, offset + (length ?? 0));
    });
    expect(Array.from(read as Float32Array)).toEqual([1.5, -2]);
    expect(() => tensorToArray(external)).toThrow(UserError);
  });

  it('maps element type names to ONNX codes and back', () => {
    expect(dataTypeOf('float32')).toBe(1);
    expect(dataTypeOf('int64')).toBe(7);
    expect(dataTypeOf('float64')).toBe(11);
    expect(elementTypeName(9)).toBe('bool');
    expect(elementTypeName(99)).toBe('unknown(99)');
  });
});
