// Typed views of the ONNX protobuf messages, and the two calls that turn
// bytes into messages and back. Messages decoded from a file keep every field
// the file had (and only those), so an untouched model re-encodes to the same
// bytes; messages built by the project are plain objects of the same shape.
import { OperatorError } from '../errors.ts';
import { ModelProtoType } from './schema.ts';

/** A 64-bit integer as protobufjs decodes it (a `Long`), or a plain number when built here. */
export type Int64 = number | LongBits;

/** The two 32-bit halves of a 64-bit integer (structurally a `Long`). */
export interface LongBits {
  low: number;
  high: number;
  unsigned?: boolean;
}

export interface StringStringEntryProto {
  key?: string;
  value?: string;
}

export interface OperatorSetIdProto {
  domain?: string;
  version?: Int64;
}

export interface TensorShapeDimension {
  dimValue?: Int64;
  dimParam?: string;
  denotation?: string;
}

export interface TensorShapeProto {
  dim?: TensorShapeDimension[];
}

export interface TypeProto {
  tensorType?: { elemType?: number; shape?: TensorShapeProto };
  sequenceType?: { elemType?: TypeProto };
  mapType?: { keyType?: number; valueType?: TypeProto };
  optionalType?: { elemType?: TypeProto };
  sparseTensorType?: { elemType?: number; shape?: TensorShapeProto };
  opaqueType?: { domain?: string; name?: string };
  denotation?: string;
}

export interface ValueInfoProto {
  name?: string;
  type?: TypeProto;
  docString?: string;
  metadataProps?: StringStringEntryProto[];
}

export interface TensorProto {
  dims?: Int64[];
  dataType?: number;
  segment?: { begin?: Int64; end?: Int64 };
  floatData?: number[];
  int32Data?: number[];
  stringData?: Uint8Array[];
  int64Data?: Int64[];
  name?: string;
  rawData?: Uint8Array;
  doubleData?: number[];
  uint64Data?: Int64[];
  docString?: string;
  externalData?: StringStringEntryProto[];
  dataLocation?: number;
  metadataProps?: StringStringEntryProto[];
}

export interface SparseTensorProto {
  values?: TensorProto;
  indices?: TensorProto;
  dims?: Int64[];
}

export interface AttributeProto {
  name?: string;
  f?: number;
  i?: Int64;
  s?: Uint8Array;
  t?: TensorProto;
  g?: GraphProto;
  floats?: number[];
  ints?: Int64[];
  strings?: Uint8Array[];
  tensors?: TensorProto[];
  graphs?: GraphProto[];
  docString?: string;
  tp?: TypeProto;
  typeProtos?: TypeProto[];
  type?: number;
  refAttrName?: string;
  sparseTensor?: SparseTensorProto;
  sparseTensors?: SparseTensorProto[];
}

export interface NodeProto {
  input?: string[];
  output?: string[];
  name?: string;
  opType?: string;
  attribute?: AttributeProto[];
  docString?: string;
  domain?: string;
  overload?: string;
  metadataProps?: StringStringEntryProto[];
}

export interface GraphProto {
  node?: NodeProto[];
  name?: string;
  initializer?: TensorProto[];
  docString?: string;
  input?: ValueInfoProto[];
  output?: ValueInfoProto[];
  valueInfo?: ValueInfoProto[];
  quantizationAnnotation?: { tensorName?: string; quantParameterTensorNames?: StringStringEntryProto[] }[];
  sparseInitializer?: SparseTensorProto[];
  metadataProps?: StringStringEntryProto[];
}

export interface FunctionProto {
  name?: string;
  input?: string[];
  output?: string[];
  attribute?: string[];
  node?: NodeProto[];
  docString?: string;
  opsetImport?: OperatorSetIdProto[];
  domain?: string;
  attributeProto?: AttributeProto[];
  valueInfo?: ValueInfoProto[];
  overload?: string;
  metadataProps?: StringStringEntryProto[];
}

export interface ModelProto {
  irVersion?: Int64;
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: Int64;
  docString?: string;
  graph?: GraphProto;
  opsetImport?: OperatorSetIdProto[];
  metadataProps?: StringStringEntryProto[];
  trainingInfo?: unknown[];
  functions?: FunctionProto[];
  configuration?: unknown[];
}

/** AttributeProto.AttributeType, the discriminator of an attribute's value. */
export const AttributeType = {
  UNDEFINED: 0,
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
  TENSORS: 9,
  GRAPHS: 10,
  SPARSE_TENSOR: 11,
  SPARSE_TENSORS: 12,
  TYPE_PROTO: 13,
  TYPE_PROTOS: 14,
} as const;

/** TensorProto.DataLocation: where a tensor's bytes live. */
export const DataLocation = { DEFAULT: 0, EXTERNAL: 1 } as const;

/** What the operator can do about an ONNX file that breaks the format: get a good copy of it. */
export const DAMAGED_MODEL_HINT =
  'The file is damaged, incomplete or not written to the ONNX format: download or export the model again (`npx myvlm models fetch <id>` for a registry model).';

/**
 * Parses the bytes of an .onnx file. Bad bytes become an OperatorError that
 * names the file, because a truncated download is the usual cause.
 */
export function decodeModel(bytes: Uint8Array, source = 'the model'): ModelProto {
  try {
    return ModelProtoType.decode(bytes) as unknown as ModelProto;
  } catch (cause) {
    throw new OperatorError(
      `${source} is not a readable ONNX file (${cause instanceof Error ? cause.message : String(cause)}).`,
      { cause, hint: DAMAGED_MODEL_HINT },
    );
  }
}

/** Serializes a model; fields are written in field-number order, as the C++ serializer does. */
export function encodeModel(model: ModelProto): Uint8Array {
  return ModelProtoType.encode(model).finish();
}

const TWO_32 = 4294967296;
/** The int64 range. */
export const INT64_MAX = (1n << 63n) - 1n;
export const INT64_MIN = -(1n << 63n);

/** A 64-bit integer as a bigint, exact for every value. */
export function int64ToBigInt(value: Int64 | bigint | undefined | null): bigint {
  if (value === undefined || value === null) return 0n;
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') return BigInt(Math.trunc(value));
  const bits = (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0);
  return value.unsigned ? bits : BigInt.asIntN(64, bits);
}

/**
 * A 64-bit integer as a number. Values past 2^53 lose precision; the int64
 * extremes used as "until the end" sentinels (Slice ends) come back as
 * +-9.22e18, which `int64FromNumber` maps back to the same extremes.
 */
export function int64ToNumber(value: Int64 | bigint | undefined | null): number {
  if (value === undefined || value === null) return 0;
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (value.unsigned) return (value.high >>> 0) * TWO_32 + (value.low >>> 0);
  return value.high * TWO_32 + (value.low >>> 0);
}

/** Wire bits for a signed 64-bit integer; numbers past the int64 range clamp to its ends. */
export function int64FromNumber(value: number | bigint): Int64 {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value)) return value;
    if (!Number.isFinite(value)) throw new RangeError(`not an integer: ${value}`);
    value = BigInt(Math.trunc(value));
  }
  const clamped = value > INT64_MAX ? INT64_MAX : value < INT64_MIN ? INT64_MIN : value;
  const bits = BigInt.asUintN(64, clamped);
  return { low: Number(bits & 0xffffffffn) | 0, high: Number(bits >> 32n) | 0, unsigned: false };
}

/** Reads a StringStringEntryProto list as a plain record (later keys win). */
export function entriesToRecord(entries: readonly StringStringEntryProto[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of entries ?? []) out[e.key ?? ''] = e.value ?? '';
  return out;
}
