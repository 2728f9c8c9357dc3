// Tensors as data: ONNX element types, and conversion between TensorProto
// (raw bytes, typed fields or external data) and JavaScript typed arrays.
import { InternalError, OperatorError } from '../errors.ts';
import {
  DAMAGED_MODEL_HINT,
  DataLocation,
  entriesToRecord,
  INT64_MAX,
  INT64_MIN,
  int64FromNumber,
  int64ToBigInt,
  int64ToNumber,
  type TensorProto,
} from './proto.ts';

/** TensorProto.DataType: the element type codes of the ONNX format. */
export const DataType = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  COMPLEX64: 14,
  COMPLEX128: 15,
  BFLOAT16: 16,
  FLOAT8E4M3FN: 17,
  FLOAT8E4M3FNUZ: 18,
  FLOAT8E5M2: 19,
  FLOAT8E5M2FNUZ: 20,
  UINT4: 21,
  INT4: 22,
  FLOAT4E2M1: 23,
  FLOAT8E8M0: 24,
  UINT2: 25,
  INT2: 26,
} as const;

/**
 * Element types by the names ONNX Runtime's JavaScript API uses for tensors
 * (`float32`, `int64`, ...); the builder and inspection speak these names.
 */
export type ElementType =
  | 'float32'
  | 'float64'
  | 'float16'
  | 'bfloat16'
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64'
  | 'bool'
  | 'string'
  | 'complex64'
  | 'complex128'
  | 'float8e4m3fn'
  | 'float8e4m3fnuz'
  | 'float8e5m2'
  | 'float8e5m2fnuz'
  | 'uint4'
  | 'int4'
  | 'float4e2m1'
  | 'float8e8m0'
  | 'uint2'
  | 'int2';

const NAMES: readonly (ElementType | 'undefined')[] = [
  'undefined',
  'float32',
  'uint8',
  'int8',
  'uint16',
  'int16',
  'int32',
  'int64',
  'string',
  'bool',
  'float16',
  'float64',
  'uint32',
  'uint64',
  'complex64',
  'complex128',
  'bfloat16',
  'float8e4m3fn',
  'float8e4m3fnuz',
  'float8e5m2',
  'float8e5m2fnuz',
  'uint4',
  'int4',
  'float4e2m1',
  'float8e8m0',
  'uint2',
  'int2',
];

/** Bits per element, for the fixed-size types. */
const BITS: Readonly<Record<number, number>> = {
  1: 32,
  2: 8,
  3: 8,
  4: 16,
  5: 16,
  6: 32,
  7: 64,
  9: 8,
  10: 16,
  11: 64,
  12: 32,
  13: 64,
  14: 64,
  15: 128,
  16: 16,
  17: 8,
  18: 8,
  19: 8,
  20: 8,
  21: 4,
  22: 4,
  23: 4,
  24: 8,
  25: 2,
  26: 2,
};

/** The element type name of an ONNX data type code (`'unknown(99)'` for codes past the format). */
export function elementTypeName(code: number | undefined): ElementType | 'undefined' | `unknown(${number})` {
  const c = code ?? 0;
  return NAMES[c] ?? `unknown(${c})`;
}

/** The ONNX data type code of an element type name. */
export function dataTypeOf(type: ElementType): number {
  const code = NAMES.indexOf(type);
  if (code <= 0) throw new RangeError(`unknown element type ${type}`);
  return code;
}

/** Storage of a tensor's elements once read: the natural typed array per type. */
export type TensorData = NumericArray | string[];

/** Number of elements of a tensor (1 for a scalar). */
export function elementCount(dims: readonly (number | bigint)[] | undefined): number {
  let n = 1;
  for (const d of dims ?? []) n *= Number(d);
  return n;
}

/** Dims of a TensorProto as numbers. */
export function tensorDims(tensor: TensorProto): number[] {
  return (tensor.dims ?? []).map((d) => int64ToNumber(d));
}

/** Bytes the elements take when stored raw; undefined for strings. */
export function byteLength(dataType: number, count: number): number | undefined {
  const bits = BITS[dataType];
  return bits === undefined ? undefined : Math.ceil((bits * count) / 8);
}

/** True when the tensor's bytes live in a separate file. */
export function isExternal(tensor: TensorProto): boolean {
  return tensor.dataLocation === DataLocation.EXTERNAL;
}

/** Where an external tensor's bytes are: file (relative to the model), offset and length. */
export interface ExternalLocation {
  location: string;
  offset: number;
  length: number | undefined;
}

/** Reads the external-data entries of a tensor. */
export function externalLocation(tensor: TensorProto): ExternalLocation {
  const entries = entriesToRecord(tensor.externalData);
  if (!entries.location)
    throw new OperatorError(`Tensor "${tensor.name ?? ''}" is marked external but names no file.`, {
      hint: DAMAGED_MODEL_HINT,
    });
  return {
    location: entries.location,
    offset: entries.offset ? Number(entries.offset) : 0,
    length: entries.length ? Number(entries.length) : undefined,
  };
}

/** Reads the bytes of an external tensor (given its location); the model reader supplies one. */
export type ExternalDataReader = (where: ExternalLocation) => Uint8Array;

function copyAligned(bytes: Uint8Array): ArrayBuffer {
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy.buffer;
}

function fromRaw(dataType: number, raw: Uint8Array, count: number): TensorData {
  const buffer = copyAligned(raw);
  switch (dataType) {
    case DataType.FLOAT:
      return new Float32Array(buffer, 0, count);
    case DataType.DOUBLE:
      return new Float64Array(buffer, 0, count);
    case DataType.INT8:
      return new Int8Array(buffer, 0, count);
    case DataType.UINT8:
    case DataType.BOOL:
      return new Uint8Array(buffer, 0, count);
    case DataType.INT16:
      return new Int16Array(buffer, 0, count);
    case DataType.UINT16:
    case DataType.FLOAT16:
    case DataType.BFLOAT16:
      return new Uint16Array(buffer, 0, count);
    case DataType.INT32:
      return new Int32Array(buffer, 0, count);
    case DataType.UINT32:
      return new Uint32Array(buffer, 0, count);
    case DataType.INT64:
      return new BigInt64Array(buffer, 0, count);
    case DataType.UINT64:
      return new BigUint64Array(buffer, 0, count);
    case DataType.COMPLEX64:
      return new Float32Array(buffer, 0, count * 2);
    case DataType.COMPLEX128:
      return new Float64Array(buffer, 0, count * 2);
    default:
      return new Uint8Array(buffer); // packed 8/4/2-bit types stay as their bytes
  }
}

function fromTypedFields(t: TensorProto, dataType: number, count: number): TensorData {
  switch (dataType) {
    case DataType.FLOAT:
      return Float32Array.from(t.floatData ?? []);
    case DataType.COMPLEX64:
      return Float32Array.from(t.floatData ?? []);
    case DataType.DOUBLE:
    case DataType.COMPLEX128:
      return Float64Array.from(t.doubleData ?? []);
    case DataType.INT64:
      return BigInt64Array.from((t.int64Data ?? []).map((v) => int64ToBigInt(v)));
    case DataType.UINT64:
      return BigUint64Array.from((t.uint64Data ?? []).map((v) => BigInt.asUintN(64, int64ToBigInt(v))));
    case DataType.UINT32:
      return Uint32Array.from((t.uint64Data ?? []).map((v) => int64ToNumber(v)));
    case DataType.STRING:
      return (t.stringData ?? []).map((s) => new TextDecoder().decode(s));
    case DataType.INT32:
      return Int32Array.from(t.int32Data ?? []);
    case DataType.INT16:
      return Int16Array.from(t.int32Data ?? []);
    case DataType.INT8:
      return Int8Array.from(t.int32Data ?? []);
    case DataType.UINT16:
    case DataType.FLOAT16:
    case DataType.BFLOAT16:
      return Uint16Array.from(t.int32Data ?? []);
    case DataType.UINT8:
    case DataType.BOOL:
      return Uint8Array.from(t.int32Data ?? []);
    default: {
      // 8/4/2-bit types: one element per int32 entry, packed here like raw data.
      const bits = BITS[dataType] ?? 8;
      const out = new Uint8Array(byteLength(dataType, count) ?? 0);
      (t.int32Data ?? []).forEach((v, i) => {
        const bit = i * bits;
        out[bit >> 3] |= (v & ((1 << bits) - 1)) << (bit & 7);
      });
      return out;
    }
  }
}

/**
 * The elements of a tensor as a typed array (a copy). 16-bit floats come back
 * as their bit patterns (Uint16Array); packed sub-byte types as their bytes.
 * External tensors need `readExternal`, which the model reader provides.
 */
export function tensorToArray(tensor: TensorProto, readExternal?: ExternalDataReader): TensorData {
  const dataType = tensor.dataType ?? 0;
  const count = elementCount(tensorDims(tensor));
  if (isExternal(tensor)) {
    if (!readExternal)
      throw new InternalError(
        `Tensor "${tensor.name ?? ''}" keeps its data in an external file; read the model from its path.`,
      );
    const where = externalLocation(tensor);
    const bytes = readExternal({ ...where, length: where.length ?? byteLength(dataType, count) });
    return fromRaw(dataType, bytes, count);
  }
  if (tensor.rawData && tensor.rawData.byteLength > 0) {
    const expected = byteLength(dataType, count);
    if (expected !== undefined && tensor.rawData.byteLength < expected) {
      throw new OperatorError(
        `Tensor "${tensor.name ?? ''}" holds ${tensor.rawData.byteLength} bytes, ${expected} expected.`,
        { hint: DAMAGED_MODEL_HINT },
      );
    }
    return fromRaw(dataType, tensor.rawData, count);
  }
  return fromTypedFields(tensor, dataType, count);
}

/** Numeric elements as a plain array of numbers (int64 converted), for small tensors such as shapes. */
export function tensorToNumbers(tensor: TensorProto, readExternal?: ExternalDataReader): number[] {
  const data = tensorToArray(tensor, readExternal);
  if (Array.isArray(data)) throw new RangeError(`tensor "${tensor.name ?? ''}" holds strings`);
  return Array.from(data as ArrayLike<number | bigint>, (v) => Number(v));
}

/**
 * int64 elements, exact for bigints and safe integers. Numbers past 2^53 can
 * only be the int64 extremes read back as numbers (+-9.22e18, the Slice
 * "until the end" sentinel exporters write as INT64_MAX): they clamp to those
 * extremes instead of wrapping around to the other end.
 */
export function int64Values(values: Iterable<number | bigint>): BigInt64Array {
  return BigInt64Array.from(values, (v) => {
    const big =
      typeof v === 'bigint'
        ? v
        : Number.isSafeInteger(v)
          ? BigInt(v)
          : Number.isFinite(v)
            ? BigInt(Math.trunc(v))
            : Number.NaN;
    if (typeof big !== 'bigint') throw new RangeError(`not an integer: ${v}`);
    return big > INT64_MAX ? INT64_MAX : big < INT64_MIN ? INT64_MIN : big;
  });
}

/** Floating element types a constant can be written in. */
export type FloatElementType = 'float32' | 'float64' | 'float16' | 'bfloat16';

const FLOAT_VIEW = new Float32Array(1);
const BITS_VIEW = new Uint32Array(FLOAT_VIEW.buffer);

/** IEEE half-precision bits of a number, rounded to nearest even (overflow gives infinity). */
export function toFloat16Bits(value: number): number {
  FLOAT_VIEW[0] = value;
  const bits = BITS_VIEW[0];
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  let mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - e;
    const half = mantissa >>> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const midpoint = 1 << (shift - 1);
    return sign | (half + (rest > midpoint || (rest === midpoint && half & 1) ? 1 : 0));
  }
  const half = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  return sign | (half + (rest > 0x1000 || (rest === 0x1000 && half & 1) ? 1 : 0));
}

/** The number an IEEE half-precision bit pattern stands for. */
export function fromFloat16Bits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa ? Number.NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** bfloat16 bits of a number (the top half of its float32, rounded to nearest even). */
export function toBfloat16Bits(value: number): number {
  FLOAT_VIEW[0] = value;
  const bits = BITS_VIEW[0];
  if ((bits & 0x7f800000) === 0x7f800000 && bits & 0x7fffff) return (bits >>> 16) | 0x40;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/**
 * Floating values as the typed array a tensor of `type` stores: float32 and
 * float64 as themselves, the 16-bit types as their bit patterns.
 */
export function floatValues(
  type: FloatElementType,
  values: ArrayLike<number>,
): Float32Array | Float64Array | Uint16Array {
  switch (type) {
    case 'float32':
      return Float32Array.from(values);
    case 'float64':
      return Float64Array.from(values);
    case 'float16':
      return Uint16Array.from(values, toFloat16Bits);
    case 'bfloat16':
      return Uint16Array.from(values, toBfloat16Bits);
  }
}

/** A floating constant tensor of any float type. */
export function makeFloatTensor(
  name: string,
  type: FloatElementType,
  values: ArrayLike<number>,
  dims: readonly number[],
): TensorProto {
  return makeTensor(name, floatValues(type, values), dims, type);
}

/** Typed arrays the builder accepts as tensor data, with the element type each one means. */
export type NumericArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** The element type a typed array stands for (Uint8Array is uint8; pass `bool` explicitly when meant). */
export function elementTypeOfArray(data: NumericArray): ElementType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Uint16Array) return 'uint16';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Uint32Array) return 'uint32';
  if (data instanceof BigInt64Array) return 'int64';
  return 'uint64';
}

/**
 * A TensorProto holding `data` as little-endian raw bytes (the compact form
 * exporters write). `elementType` overrides the array's own type where one
 * storage serves several types (bool in a Uint8Array, float16 bits in a Uint16Array).
 */
export function makeTensor(
  name: string,
  data: NumericArray,
  dims: readonly number[],
  elementType?: ElementType,
): TensorProto {
  const type = elementType ?? elementTypeOfArray(data);
  const count = elementCount(dims);
  const perElement = type === 'complex64' || type === 'complex128' ? 2 : 1;
  if (data.length !== count * perElement) {
    throw new RangeError(`tensor "${name}": ${data.length} values for shape [${dims.join(', ')}]`);
  }
  const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  return { name, dims: dims.map((d) => int64FromNumber(d)), dataType: dataTypeOf(type), rawData: raw };
}

/** A string tensor (strings are never raw). */
export function makeStringTensor(name: string, values: readonly string[], dims: readonly number[]): TensorProto {
  if (values.length !== elementCount(dims))
    throw new RangeError(`tensor "${name}": ${values.length} strings for shape [${dims.join(', ')}]`);
  const encoder = new TextEncoder();
  return {
    name,
    dims: dims.map((d) => int64FromNumber(d)),
    dataType: DataType.STRING,
    stringData: values.map((s) => encoder.encode(s)),
  };
}
