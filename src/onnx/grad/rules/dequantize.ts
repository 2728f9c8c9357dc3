// Rebuilds the float weight of a quantized MatMul inside the backward pass,
// as the transposed matrix D [N, K] (so dA = dY · D needs no transpose), in
// standard ONNX ops of opset 11 and later. Every packed tensor is read
// through a runtime view anchored on the arriving gradient (frozen-weights.ts):
// the float matrix is made when that layer's gradient arrives and freed after
// its product, never folded into an initializer; a wide one (an lm_head) is
// rebuilt a slice of rows at a time. The layouts are ONNX Runtime's:
// MatMulNBits packs codes low bits first along K in blocks, MatMulBnb4 packs
// the flattened [N, K] matrix high nibble first.
import type { OnnxNode } from '../../node.ts';
import { dataTypeOf, floatValues } from '../../tensor.ts';
import type { FloatType, GradEmitter } from '../emitter.ts';
import { GradientError } from '../emitter.ts';
import { frozenDims, isFrozen, runtimeView, runtimeZero } from './frozen-weights.ts';

/** Rows [start, end) of D, that is output columns of the MatMul. */
export interface Rows {
  start: number;
  end: number;
}

/**
 * How many dequantized values one backward product may hold at once (64 MB
 * in float32): a wider weight is rebuilt and multiplied a slice of rows at a
 * time. A setting so that tests can make small weights take that path.
 */
export const DEQUANTIZATION_LIMIT = { values: 1 << 24 };

/** MatMulBnb4 quant_type values. */
const BNB4_FP4 = 0;
const BNB4_NF4 = 1;

/**
 * FP4 as bitsandbytes defines it: sign bit, then 3 bits of a tiny float with
 * exponent bias 3, normalized by its largest magnitude (12).
 */
const FP4_MAGNITUDES = [0, 0.0625, 8, 12, 4, 6, 2, 3].map((v) => v / 12);
export const FP4_VALUES = [...FP4_MAGNITUDES, ...FP4_MAGNITUDES.map((v) => -v)];

/** NF4: the 16 quantiles of a standard normal distribution scaled to [-1, 1] (QLoRA). */
export const NF4_VALUES = [
  -1, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635, -0.18477343022823334,
  -0.09105003625154495, 0, 0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
  0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1,
];

/** The ops written here take their shapes, axes and pads as inputs (opset 11 and later). */
function requireOpset11(e: GradEmitter, label: string): void {
  if (e.opset < 11)
    throw new GradientError(
      `Cannot differentiate ${label}: rebuilding its quantized weight needs opset 11 or later; the model has opset ${e.opset}.`,
    );
}

function requireFrozen(e: GradEmitter, value: string, what: string, label: string): void {
  if (!isFrozen(e, value))
    throw new GradientError(
      `Cannot differentiate ${label}: its ${what} "${value}" is computed in the graph; only frozen (initializer) weights are supported.`,
    );
}

/**
 * Splits each byte of `bytes` (uint8 [..., 1]) into its 8/bits codes along
 * the last axis (uint8 [..., 8/bits]). BitShift left then right isolates one
 * code without BitwiseAnd (opset 18); uint8 arithmetic drops the bits shifted
 * out. `lowFirst` orders the codes from the least significant bits.
 */
function unpackCodes(e: GradEmitter, bytes: string, bits: number, lowFirst: boolean): string {
  if (bits === 8) return bytes;
  const perByte = 8 / bits;
  const positions = Array.from({ length: perByte }, (_, j) => (lowFirst ? j : perByte - 1 - j));
  const left = e.graph.constant(
    Uint8Array.from(positions, (p) => 8 - bits * (p + 1)),
    [perByte],
    { name: `${e.graph.scope}/shift_left` },
  );
  const right = e.graph.constant(Uint8Array.of(8 - bits), [1], { name: `${e.graph.scope}/shift_right` });
  const raised = e.op('BitShift', [bytes, left], { direction: 'LEFT' });
  return e.op('BitShift', [raised, right], { direction: 'RIGHT' });
}

function reshape(
  e: GradEmitter,
  x: string,
  dims: readonly number[],
  type: FloatType | 'uint8' | 'int32' | undefined,
): string {
  const out = e.op('Reshape', [x, e.ints(dims)]);
  e.facts.set(out, { type, shape: [...dims] });
  return out;
}

function sliceAxis(e: GradEmitter, x: string, axis: number, end: number, start = 0): string {
  return e.op('Slice', [x, e.ints([start]), e.ints([end]), e.ints([axis])]);
}

/** Rows [start, end) of a view along `axis`, the view itself when they are all its rows. */
function rowsOf(e: GradEmitter, view: string, rows: Rows, total: number, axis = 0): string {
  return rows.start === 0 && rows.end === total ? view : sliceAxis(e, view, axis, rows.end, rows.start);
}

/**
 * dA = dY · D for a D [N, K] that `rebuild` makes from frozen tensors. When D
 * holds more than DEQUANTIZATION_LIMIT values it is rebuilt in slices of
 * rows (a multiple of `align`), and each slice's rebuild, and the slice of
 * dY it multiplies, are anchored on the partial sum so far: they run one
 * after another, and only one slice of D is alive at a time.
 */
export function productWithRebuiltWeight(
  e: GradEmitter,
  grad: string,
  shape: { n: number; k: number; align?: number },
  rebuild: (rows: Rows, anchor: string) => string,
): string {
  const { n, k } = shape;
  const align = shape.align ?? 1;
  if (n * k <= DEQUANTIZATION_LIMIT.values) return e.op('MatMul', [grad, rebuild({ start: 0, end: n }, grad)]);
  const step = Math.max(align, Math.floor(DEQUANTIZATION_LIMIT.values / k / align) * align);
  let sum: string | undefined;
  for (let start = 0; start < n; start += step) {
    const end = Math.min(n, start + step);
    const from = sum ? e.op('Add', [e.ints([start]), runtimeZero(e, sum)]) : e.ints([start]);
    const slice = e.op('Slice', [grad, from, e.ints([end]), e.ints([-1])]);
    const part = e.op('MatMul', [slice, rebuild({ start, end }, sum ?? grad)]);
    sum = sum ? e.op('Add', [sum, part]) : part;
  }
  return sum as string;
}

function toFloat(e: GradEmitter, x: string, type: FloatType): string {
  const out = e.of(x).type === type ? x : e.op('Cast', [x], { to: dataTypeOf(type) });
  e.facts.set(out, { type, shape: e.of(x).shape });
  return out;
}

/** The layout of one MatMulNBits node, from its attributes and inputs. */
interface NBitsLayout {
  k: number;
  n: number;
  bits: number;
  blockSize: number;
  blocks: number;
}

function nbitsLayout(node: OnnxNode, label: string): NBitsLayout {
  const k = node.int('K');
  const n = node.int('N');
  const bits = node.int('bits', 4);
  const blockSize = node.int('block_size');
  if (bits !== 2 && bits !== 4 && bits !== 8)
    throw new GradientError(
      `Cannot differentiate ${label}: ${bits}-bit MatMulNBits weights are not supported (2, 4 and 8 are).`,
    );
  if (blockSize < 16 || (blockSize & (blockSize - 1)) !== 0)
    throw new GradientError(
      `Cannot differentiate ${label}: block_size ${blockSize} is not a power of two of at least 16.`,
    );
  return { k, n, bits, blockSize, blocks: Math.ceil(k / blockSize) };
}

/**
 * D [N, K] of a com.microsoft MatMulNBits node (inputs A, B, scales,
 * zero_points?, g_idx?, bias?): (code - zero point) * scale per block of K,
 * the zero point 2^(bits-1) when absent, K cut from the padded last block.
 * With g_idx, column k uses block g_idx[k] (ONNX Runtime computes that only
 * for 4 bits without packed zero points, so other combinations are refused).
 */
export function nbitsTransposedWeight(
  e: GradEmitter,
  node: OnnxNode,
  rows: Rows,
  anchor: string,
  label: string,
): string {
  const { k, n, bits, blockSize, blocks } = nbitsLayout(node, label);
  const r = rows.end - rows.start;
  requireOpset11(e, label);
  const type = e.floatType(node.inputs[0]);
  const [, packed, scales] = node.inputs;
  const zeroPoints = node.inputs[3] ?? '';
  const gIdx = node.inputs[4] ?? '';
  requireFrozen(e, packed, 'packed weight', label);
  requireFrozen(e, scales, 'scales', label);
  if (zeroPoints) requireFrozen(e, zeroPoints, 'zero points', label);
  if (gIdx) requireFrozen(e, gIdx, 'g_idx', label);
  const packedZeroPoints = Boolean(zeroPoints) && e.of(zeroPoints).type === 'uint8';
  if (gIdx && (bits !== 4 || packedZeroPoints)) {
    throw new GradientError(
      `Cannot differentiate ${label}: it has g_idx with ${bits !== 4 ? `${bits}-bit weights` : 'packed zero points'}, ` +
        "which ONNX Runtime's CPU kernel does not compute as the operator defines, " +
        'so no gradient would match what it answers with.',
    );
  }
  const perByte = 8 / bits;
  const blob = (blockSize * bits) / 8;
  // A view must not feed a Reshape, Squeeze or Unsqueeze: ORT fuses such a
  // chain into one Reshape of the constant when the final shape is static,
  // which would make the whole dequantization foldable again. So views take
  // their final shape at once, and sub-byte codes are unpacked first.
  const packedCodes =
    bits === 8
      ? rowsOf(e, runtimeView(e, packed, [n, blocks * blockSize], anchor), rows, n)
      : reshape(
          e,
          unpackCodes(e, rowsOf(e, runtimeView(e, packed, [n, blocks, blob, 1], anchor), rows, n), bits, true),
          [r, blocks * blockSize],
          'uint8',
        );
  const codes = toFloat(e, packedCodes, type);

  // Zero points and scales per (column n, block): [N, blocks] to gather by g_idx, else [N, blocks, 1].
  const perBlock = gIdx ? [n, blocks] : [n, blocks, 1];
  let zero: string;
  if (!zeroPoints) zero = e.scalar(2 ** (bits - 1), type);
  else if (packedZeroPoints && bits !== 8) {
    const columns = Math.ceil((blocks * bits) / 8);
    const unpacked = reshape(
      e,
      unpackCodes(e, rowsOf(e, runtimeView(e, zeroPoints, [n, columns, 1], anchor), rows, n), bits, true),
      [r, columns * perByte],
      'uint8',
    );
    const inBlocks = columns * perByte > blocks ? sliceAxis(e, unpacked, 1, blocks) : unpacked;
    zero = toFloat(e, gIdx ? inBlocks : e.unsqueeze(inBlocks, [2]), type);
  } else zero = toFloat(e, rowsOf(e, runtimeView(e, zeroPoints, perBlock, anchor), rows, n), type);
  const scale = toFloat(e, rowsOf(e, runtimeView(e, scales, perBlock, anchor), rows, n), type);

  let out: string;
  if (gIdx) {
    // Column k takes the values of block g_idx[k]; the default zero point is one scalar.
    const byColumn = (x: string) => (x === zero && !zeroPoints ? x : e.op('Gather', [x, gIdx], { axis: 1 }));
    const inK = blocks * blockSize > k ? sliceAxis(e, codes, 1, k) : codes;
    out = e.op('Mul', [e.op('Sub', [inK, byColumn(zero)]), byColumn(scale)]);
  } else {
    const blocked = reshape(e, codes, [r, blocks, blockSize], type);
    const values = reshape(e, e.op('Mul', [e.op('Sub', [blocked, zero]), scale]), [r, blocks * blockSize], type);
    out = blocks * blockSize > k ? sliceAxis(e, values, 1, k) : values;
  }
  e.facts.set(out, { type, shape: [r, k] });
  return out;
}

/**
 * Rows of D per slice of a MatMulBnb4 weight must start on a block and a
 * byte of the flattened matrix: a multiple of this many rows.
 */
export function bnb4RowAlignment(node: OnnxNode): number {
  const unit = node.int('block_size') % 2 === 0 ? node.int('block_size') : 2 * node.int('block_size');
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  return unit / gcd(node.int('K'), unit);
}

/**
 * D [N, K] of a com.microsoft MatMulBnb4 node (inputs A, B, absmax): the
 * [N, K] matrix flattened, two codes per byte (high nibble first), each code
 * a value of the FP4 or NF4 table times the absmax of its block of the
 * flattened matrix (the last block may be short). `rows` must start at a
 * multiple of bnb4RowAlignment.
 */
export function bnb4TransposedWeight(
  e: GradEmitter,
  node: OnnxNode,
  rows: Rows,
  anchor: string,
  label: string,
): string {
  const k = node.int('K');
  const n = node.int('N');
  const blockSize = node.int('block_size');
  const quantType = node.int('quant_type');
  requireOpset11(e, label);
  if (node.int('transB', 1) !== 1)
    throw new GradientError(
      `Cannot differentiate ${label}: MatMulBnb4 with transB 0 is not supported (ONNX Runtime does not run it either).`,
    );
  if (quantType !== BNB4_FP4 && quantType !== BNB4_NF4)
    throw new GradientError(
      `Cannot differentiate ${label}: unknown bnb4 quant_type ${quantType} (0 is FP4, 1 is NF4).`,
    );
  const type = e.floatType(node.inputs[0]);
  const [, packed, absmax] = node.inputs;
  requireFrozen(e, packed, 'packed weight', label);
  requireFrozen(e, absmax, 'absmax', label);
  // The slice of the flattened matrix, in values, bytes and blocks.
  const [first, last] = [rows.start * k, rows.end * k];
  const count = last - first;
  const [byteStart, byteEnd] = [first / 2, Math.ceil(last / 2)];
  const [blockStart, blockEnd] = [first / blockSize, Math.ceil(last / blockSize)];
  const blocks = blockEnd - blockStart;
  const allBytes = Math.ceil((n * k) / 2);
  const allBlocks = Math.ceil((n * k) / blockSize);
  const bytes = rowsOf(e, runtimeView(e, packed, [allBytes, 1], anchor), { start: byteStart, end: byteEnd }, allBytes);
  const flat = reshape(e, unpackCodes(e, bytes, 4, false), [2 * (byteEnd - byteStart)], 'uint8');
  const codes = e.op('Cast', [2 * (byteEnd - byteStart) > count ? sliceAxis(e, flat, 0, count) : flat], {
    to: dataTypeOf('int32'),
  });
  const table = e.graph.constant(floatValues(type, quantType === BNB4_FP4 ? FP4_VALUES : NF4_VALUES), [16], {
    name: `${e.graph.scope}/bnb4_table`,
    elementType: type,
  });
  let values = e.op('Gather', [table, codes], { axis: 0 });
  const padding = blocks * blockSize - count;
  // Pads the short last block so every block is a row that its absmax scales.
  if (padding > 0) values = e.op('Pad', [values, e.ints([0, padding])]);
  const scale = toFloat(
    e,
    rowsOf(e, runtimeView(e, absmax, [allBlocks, 1], anchor), { start: blockStart, end: blockEnd }, allBlocks),
    type,
  );
  const scaled = reshape(
    e,
    e.op('Mul', [reshape(e, values, [blocks, blockSize], type), scale]),
    [blocks * blockSize],
    type,
  );
  return reshape(e, padding > 0 ? sliceAxis(e, scaled, 0, count) : scaled, [rows.end - rows.start, k], type);
}

/** A frozen integer weight of MatMulInteger with its zero point and float scale (from the Mul after it). */
export interface IntegerWeight {
  /** int8 or uint8 [K, N]. */
  weight: string;
  /** Same type as the weight: a scalar, or [N] per column; '' when absent (0). */
  zeroPoint: string;
  /** float: a scalar, or [N] per column. */
  scale: string;
}

/** D [N, K] = (Wᵀ - zero point) * scale of an integer weight, in `type` (rows of D: columns of W). */
export function integerTransposedWeight(
  e: GradEmitter,
  w: IntegerWeight,
  type: FloatType,
  rows: Rows,
  anchor: string,
  label: string,
): string {
  requireFrozen(e, w.weight, 'integer weight', label);
  const [k, n] = frozenDims(e, w.weight, label);
  // Per column values become [N, 1] to scale the rows of D; a single value broadcasts as it is.
  const perColumn = (value: string, what: string): string => {
    requireFrozen(e, value, what, label);
    const count = frozenDims(e, value, label).reduce((a, b) => a * b, 1);
    if (count === 1) return value;
    if (count !== n)
      throw new GradientError(`Cannot differentiate ${label}: its ${what} has ${count} values for ${n} columns.`);
    return rowsOf(e, runtimeView(e, value, [n, 1], anchor), rows, n);
  };
  const transposed = e.transpose(rowsOf(e, runtimeView(e, w.weight, [k, n], anchor), rows, n, 1), [1, 0]);
  let values = toFloat(e, transposed, type);
  if (w.zeroPoint) values = e.op('Sub', [values, toFloat(e, perColumn(w.zeroPoint, 'zero point'), type)]);
  const out = e.op('Mul', [values, toFloat(e, perColumn(w.scale, 'scale'), type)]);
  e.facts.set(out, { type, shape: [rows.end - rows.start, k] });
  return out;
}
