// How a concept record is written down: plain JSON in which every
// Float32Array becomes `{"$f32": "<base64 of its little-endian bytes>"}`.
// Copying raw bytes keeps weights bit-exact (-0, denormals, infinities, NaN
// payloads) at 4/3 characters per byte, where JSON numbers would cost ~10
// characters per float and lose NaN and -0.
import { endianness } from 'node:os';
import { InternalError, OperatorError } from '../errors.ts';
import type { ConceptRecord } from './concept.ts';
import { parseConceptRecord } from './record-shape.ts';

/**
 * Layout version written into every stored concept. Bump it when the record
 * shape changes, and teach `decodeConcept` to migrate the older layouts.
 */
export const CONCEPT_FORMAT = 1;

/** The JSON-safe value the store keeps for one concept. */
export interface StoredConcept {
  format: number;
  concept: JsonValue;
}

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * A stored record that cannot be read back: the concept database on disk is
 * damaged, or was written by a newer version. Only the operator can fix it.
 * (A record this process fails to write is a bug: an InternalError.)
 */
export class StoredConceptError extends OperatorError {
  override readonly name = 'StoredConceptError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, {
      ...options,
      hint: 'Restore the concept store (MYVLM_DATA_DIR) from a backup, or run the version of this program that wrote it.',
    });
  }
}

const FLOAT32_TAG = '$f32';
const LITTLE_ENDIAN = endianness() === 'LE';
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Raw little-endian bytes of `values` as base64; exact for every bit pattern. */
export function float32ToBase64(values: Float32Array): string {
  const bytes = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  return (LITTLE_ENDIAN ? bytes : Buffer.from(bytes).swap32()).toString('base64');
}

/** Inverse of `float32ToBase64`; refuses text that is not base64 of whole floats. */
export function base64ToFloat32(text: string): Float32Array {
  if (!BASE64.test(text)) throw new StoredConceptError('float32 data is not valid base64');
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length % 4 !== 0)
    throw new StoredConceptError(`float32 data has ${bytes.length} bytes, not a multiple of 4`);
  const values = new Float32Array(bytes.length / 4);
  const view = Buffer.from(values.buffer);
  bytes.copy(view);
  if (!LITTLE_ENDIAN) view.swap32();
  return values;
}

/** Validates `record` and turns it into the value the store writes. */
export function encodeConcept(record: ConceptRecord): StoredConcept {
  let checked: ConceptRecord;
  try {
    checked = parseConceptRecord(record);
  } catch (error) {
    throw new InternalError(`refusing to store a malformed concept: ${(error as Error).message}`, { cause: error });
  }
  return { format: CONCEPT_FORMAT, concept: toJson(checked, 'concept') };
}

/** Turns a stored value back into a validated record; throws StoredConceptError when it is damaged. */
export function decodeConcept(stored: unknown): ConceptRecord {
  if (typeof stored !== 'object' || stored === null || !('format' in stored) || !('concept' in stored)) {
    throw new StoredConceptError('stored concept has no format/concept envelope');
  }
  const { format, concept } = stored;
  if (format !== CONCEPT_FORMAT) {
    // Older layouts are migrated here once a second format exists.
    throw new StoredConceptError(
      typeof format === 'number' && format > CONCEPT_FORMAT
        ? `stored concept has format ${format}, written by a newer version of this program`
        : `stored concept has unknown format ${String(format)}`,
    );
  }
  try {
    return parseConceptRecord(fromJson(concept));
  } catch (error) {
    if (error instanceof StoredConceptError) throw error;
    throw new StoredConceptError(`stored concept is damaged: ${(error as Error).message}`, { cause: error });
  }
}

/** `value` as JSON, every Float32Array as base64 of its bytes (throws InternalError on what cannot be stored). */
export function toJson(value: unknown, path: string): JsonValue {
  if (value instanceof Float32Array) return { [FLOAT32_TAG]: float32ToBase64(value) };
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    // JSON would silently write NaN and Infinity as null.
    if (!Number.isFinite(value)) throw new InternalError(`${path} is ${value}; plain numbers must be finite`);
    return value;
  }
  if (Array.isArray(value)) return value.map((item, i) => toJson(item, `${path}[${i}]`));
  if (typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, toJson(item, `${path}.${key}`)]));
  }
  throw new InternalError(`${path} has type ${typeof value}, which cannot be stored`);
}

/** Inverse of `toJson`: base64 floats back into Float32Arrays (the caller checks the shape). */
export function fromJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromJson);
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value);
  if (entries.length === 1 && entries[0][0] === FLOAT32_TAG && typeof entries[0][1] === 'string') {
    return base64ToFloat32(entries[0][1]);
  }
  return Object.fromEntries(entries.map(([key, item]) => [key, fromJson(item)]));
}
