// Reading TensorFlow.js weight files: a JSON manifest that names each tensor,
// its shape and (optionally) how it was quantized, and the binary shards that
// hold the values back to back in manifest order. Quantized tensors come back
// as float32 the way tfjs itself restores them: value = q * scale + min.
import { OperatorError } from '../errors.ts';

/** One named float32 tensor, dimensions as the manifest gives them (TensorFlow's layout). */
export interface FloatTensor {
  shape: number[];
  values: Float32Array;
}

interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; scale: number; min: number };
}

/** The weights can only be wrong if the package that ships them changed. */
const PACKAGE_HINT =
  'Reinstall the npm packages (`npm ci`); if it persists, the package version changed its weight format.';

function malformed(problem: string): OperatorError {
  return new OperatorError(`The TensorFlow.js weights manifest is not in the expected form: ${problem}`, {
    hint: PACKAGE_HINT,
  });
}

/** Bytes per stored value of each storage type the reader supports. */
const STORED_BYTES: Record<string, number> = { float32: 4, uint8: 1, uint16: 2 };

function specsOf(manifest: unknown): WeightSpec[] {
  if (!Array.isArray(manifest)) throw malformed('expected a list of weight groups.');
  return manifest.flatMap((group: unknown) => {
    const weights = (group as { weights?: unknown }).weights;
    if (!Array.isArray(weights)) throw malformed('a weight group has no "weights" list.');
    return weights.map((raw: unknown): WeightSpec => {
      const w = raw as Partial<WeightSpec>;
      if (typeof w.name !== 'string' || !Array.isArray(w.shape) || !w.shape.every((d) => Number.isInteger(d) && d > 0))
        throw malformed('a weight has no name or no positive whole-number shape.');
      if (w.dtype !== 'float32') throw malformed(`${w.name} has dtype ${String(w.dtype)}; only float32 is supported.`);
      const q = w.quantization;
      if (q && (!(q.dtype in STORED_BYTES) || !Number.isFinite(q.scale) || !Number.isFinite(q.min)))
        throw malformed(`${w.name} has an unsupported quantization (${JSON.stringify(q)}).`);
      return { name: w.name, shape: w.shape, dtype: w.dtype, quantization: q };
    });
  });
}

/**
 * Every tensor of a tfjs weights manifest, read from `data` (the manifest's
 * shards concatenated in order), dequantized to float32. The data must be
 * used up exactly: a size mismatch means the files do not belong together.
 */
export function readTfjsWeights(manifest: unknown, data: Uint8Array): Map<string, FloatTensor> {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const tensors = new Map<string, FloatTensor>();
  let offset = 0;
  for (const spec of specsOf(manifest)) {
    const count = spec.shape.reduce((a, b) => a * b, 1);
    const stored = spec.quantization?.dtype ?? 'float32';
    const size = count * STORED_BYTES[stored];
    if (offset + size > data.byteLength)
      throw malformed(`the weights file ends inside ${spec.name} (${data.byteLength} bytes).`);
    const values = new Float32Array(count);
    const q = spec.quantization;
    for (let i = 0; i < count; i++) {
      const at = offset + i * STORED_BYTES[stored];
      if (stored === 'float32') values[i] = view.getFloat32(at, true);
      else values[i] = (stored === 'uint8' ? view.getUint8(at) : view.getUint16(at, true)) * q!.scale + q!.min;
    }
    tensors.set(spec.name, { shape: spec.shape, values });
    offset += size;
  }
  if (offset !== data.byteLength)
    throw malformed(`the manifest describes ${offset} bytes but the weights file has ${data.byteLength}.`);
  return tensors;
}
