import { describe, expect, it } from 'vitest';
import {
  DataType,
  dataTypeOf,
  elementTypeName,
  floatValues,
  fromFloat16Bits,
  int64Values,
  makeStringTensor,
  makeTensor,
  tensorDims,
  tensorToArray,
  tensorToNumbers,
  toBfloat16Bits,
  toFloat16Bits,
} from './tensor.ts';
import { DataLocation, int64FromNumber, type TensorProto } from './proto.ts';
import { InternalError } from '../errors.ts';

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
    expect(
      Array.from(tensorToArray({ ...base, dataType: DataType.FLOAT, floatData: [0.5, 2] }) as Float32Array),
    ).toEqual([0.5, 2]);
    expect(
      Array.from(
        tensorToArray({
          ...base,
          dataType: DataType.INT64,
          int64Data: [int64FromNumber(-3), { low: -1, high: 0x7fffffff }],
        }) as BigInt64Array,
      ),
    ).toEqual([-3n, (1n << 63n) - 1n]);
    expect(Array.from(tensorToArray({ ...base, dataType: DataType.BOOL, int32Data: [1, 0] }) as Uint8Array)).toEqual([
      1, 0,
    ]);
    expect(
      Array.from(tensorToArray({ ...base, dataType: DataType.DOUBLE, doubleData: [1e-9, 3] }) as Float64Array),
    ).toEqual([1e-9, 3]);
    expect(
      Array.from(tensorToArray({ ...base, dataType: DataType.FLOAT16, int32Data: [0x3c00, 0xc000] }) as Uint16Array),
    ).toEqual([0x3c00, 0xc000]);
    // INT4 packs two elements per byte, low nibble first.
    expect(
      Array.from(
        tensorToArray({ dims: [int64FromNumber(3)], dataType: DataType.INT4, int32Data: [1, -1, 7] }) as Uint8Array,
      ),
    ).toEqual([0xf1, 0x07]);
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
    expect(() => tensorToArray(external)).toThrow(InternalError);
    expect(() => tensorToArray(external)).toThrow(/keeps its data in an external file; read the model from its path/);
  });

  it('maps element type names to ONNX codes and back', () => {
    expect(dataTypeOf('float32')).toBe(1);
    expect(dataTypeOf('int64')).toBe(7);
    expect(dataTypeOf('float64')).toBe(11);
    expect(elementTypeName(9)).toBe('bool');
    expect(elementTypeName(99)).toBe('unknown(99)');
  });

  it('keeps int64 constants exact, and the int64 extremes read back as numbers return to the extremes', () => {
    const max = (1n << 63n) - 1n;
    // Exporters slice rotate_half with an end of INT64_MAX; read as a number it is 2^63, which BigInt() would wrap to INT64_MIN.
    const asNumber = tensorToNumbers(makeTensor('ends', BigInt64Array.of(max, -max - 1n), [2]));
    expect(Array.from(int64Values(asNumber))).toEqual([max, -max - 1n]);
    expect(Array.from(int64Values([max, -3n, 7, -(2 ** 40)]))).toEqual([max, -3n, 7n, -(2n ** 40n)]);
    expect(() => int64Values([Number.NaN])).toThrow(RangeError);
  });

  it('writes float16 and bfloat16 constants as their IEEE bit patterns, rounding to nearest even', () => {
    expect([1, -2, 0.5, 65504, 1e6, 2 ** -24, 0].map(toFloat16Bits)).toEqual([
      0x3c00, 0xc000, 0x3800, 0x7bff, 0x7c00, 0x0001, 0,
    ]);
    // 1 + 2^-11 lies exactly between two halves: it rounds to the even one (1.0).
    expect(toFloat16Bits(1 + 2 ** -11)).toBe(0x3c00);
    expect(toFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    for (const v of [1, -2.5, 0.1, 1e-5, 60000])
      expect(Math.abs(fromFloat16Bits(toFloat16Bits(v)) - v)).toBeLessThanOrEqual(
        Math.max(Math.abs(v) * 2 ** -11, 2 ** -25),
      ); // subnormals keep an absolute step of 2^-24
    expect([1, -2, 3.140625].map(toBfloat16Bits)).toEqual([0x3f80, 0xc000, 0x4049]);
    const half = makeTensor('h', floatValues('float16', [1, 0.5]), [2], 'float16');
    expect(half.dataType).toBe(DataType.FLOAT16);
    expect(Array.from(tensorToArray(half) as Uint16Array)).toEqual([0x3c00, 0x3800]);
  });
});
