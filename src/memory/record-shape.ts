// The shape check for concept records, used on every write and every read:
// a damaged row or a buggy caller is caught at the store's edge, with the path
// of the bad field, instead of surfacing later as a wrong recognition. Its
// plain Errors only name the field; the codec (codec.ts) decides who must act:
// a bad write is a bug, a bad read a damaged store.
import { OBJECT_HEAD } from '../config/defaults.ts';
import type {
  ConceptEmbedding,
  ConceptKind,
  ConceptRecord,
  FaceHeadParams,
  HeadParams,
  LinearHeadParams,
  PhotoRef,
} from './concept.ts';

const KINDS: readonly ConceptKind[] = ['person', 'object'];
const SHA256 = /^[0-9a-f]{64}$/;

export type Fields = Record<string, unknown>;

/** Checks `value` field by field and returns a record holding exactly the known fields. */
export function parseConceptRecord(value: unknown): ConceptRecord {
  const o = object(value, 'concept');
  return {
    id: text(o.id, 'id'),
    scope: text(o.scope, 'scope'),
    name: text(o.name, 'name'),
    identifier: text(o.identifier, 'identifier'),
    kind: oneOf(o.kind, KINDS, 'kind'),
    owner: text(o.owner, 'owner'),
    createdAt: timestamp(o.createdAt, 'createdAt'),
    updatedAt: timestamp(o.updatedAt, 'updatedAt'),
    version: integer(o.version, 'version', 1),
    head: o.head === null ? null : head(o.head),
    embeddings: Object.fromEntries(
      Object.entries(object(o.embeddings, 'embeddings')).map(([model, e]) => [
        model,
        embedding(e, `embeddings.${model}`),
      ]),
    ),
    facts: list(o.facts, 'facts').map((fact, i) => text(fact, `facts[${i}]`, true)),
    photos: list(o.photos, 'photos').map((p, i) => photo(p, `photos[${i}]`)),
  };
}

function head(value: unknown): HeadParams {
  const o = object(value, 'head');
  if (o.type === 'face') return faceHead(o);
  if (o.type === 'linear') return linearHead(o);
  throw new Error(`head.type is ${JSON.stringify(o.type)}, expected "face" or "linear"`);
}

function faceHead(o: Fields): FaceHeadParams {
  const dims = integer(o.dims, 'head.dims', 1);
  const keys = floats(o.keys, 'head.keys');
  if (keys.length % dims !== 0) throw new Error(`head.keys has ${keys.length} values, not a multiple of dims ${dims}`);
  return { type: 'face', recognizer: text(o.recognizer, 'head.recognizer'), dims, keys };
}

function linearHead(o: Fields): LinearHeadParams {
  const dims = integer(o.dims, 'head.dims', 1);
  const weight = floats(o.weight, 'head.weight', OBJECT_HEAD.classes * dims);
  const bias = floats(o.bias, 'head.bias', OBJECT_HEAD.classes);
  const n = object(o.normalization, 'head.normalization');
  const t = object(o.trainedOn, 'head.trainedOn');
  const threshold = finite(o.threshold, 'head.threshold');
  if (threshold < 0 || threshold > 1) throw new Error(`head.threshold ${threshold} is outside [0, 1]`);
  return {
    type: 'linear',
    extractor: text(o.extractor, 'head.extractor'),
    dims,
    weight,
    bias,
    normalization: {
      center: n.center === null ? null : floats(n.center, 'head.normalization.center', dims),
      l2: boolean(n.l2, 'head.normalization.l2'),
    },
    threshold,
    trainedOn: {
      positives: integer(t.positives, 'head.trainedOn.positives', 0),
      negatives: integer(t.negatives, 'head.trainedOn.negatives', 0),
      steps: integer(t.steps, 'head.trainedOn.steps', 0),
      seed: integer(t.seed, 'head.trainedOn.seed', Number.MIN_SAFE_INTEGER),
    },
    ...(o.scoring === undefined ? {} : { scoring: scoring(o.scoring) }),
  };
}

/** A head stored before region scoring has no `scoring` and reads the whole photo. */
function scoring(value: unknown): 'whole' | 'regions' {
  if (value === 'whole' || value === 'regions') return value;
  throw new Error(`head.scoring is ${JSON.stringify(value)}, expected "whole" or "regions"`);
}

function embedding(value: unknown, path: string): ConceptEmbedding {
  const o = object(value, path);
  const vector = floats(o.vector, `${path}.vector`);
  if (vector.length === 0) throw new Error(`${path}.vector is empty`);
  return {
    vector,
    steps: integer(o.steps, `${path}.steps`, 0),
    finalLoss: o.finalLoss === null ? null : finite(o.finalLoss, `${path}.finalLoss`),
    updatedAt: timestamp(o.updatedAt, `${path}.updatedAt`),
  };
}

function photo(value: unknown, path: string): PhotoRef {
  const o = object(value, path);
  if (typeof o.sha256 !== 'string' || !SHA256.test(o.sha256))
    throw new Error(`${path}.sha256 is not a lowercase hex sha256`);
  return {
    sha256: o.sha256,
    width: integer(o.width, `${path}.width`, 1),
    height: integer(o.height, `${path}.height`, 1),
    caption: o.caption === null ? null : text(o.caption, `${path}.caption`, true),
    // Records written before roles existed hold examples only.
    role:
      o.role === undefined || o.role === 'example'
        ? 'example'
        : o.role === 'not-it'
          ? 'not-it'
          : fail(`${path}.role is not "example" or "not-it"`),
    addedAt: timestamp(o.addedAt, `${path}.addedAt`),
  };
}

function fail(message: string): never {
  throw new Error(message);
}

export function object(value: unknown, path: string): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Float32Array) {
    throw new Error(`${path} is not an object`);
  }
  return value as Fields;
}

export function list(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) throw new Error(`${path} is not an array`);
  return value;
}

export function text(value: unknown, path: string, allowEmpty = false): string {
  if (typeof value !== 'string') throw new Error(`${path} is not a string`);
  if (!allowEmpty && value.length === 0) throw new Error(`${path} is empty`);
  return value;
}

export function timestamp(value: unknown, path: string): string {
  const s = text(value, path);
  if (Number.isNaN(Date.parse(s))) throw new Error(`${path} is not a date: ${JSON.stringify(s)}`);
  return s;
}

function finite(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`${path} is not a finite number`);
  return value;
}

export function integer(value: unknown, path: string, min: number): number {
  if (!Number.isSafeInteger(value) || (value as number) < min) throw new Error(`${path} is not an integer >= ${min}`);
  return value as number;
}

export function boolean(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') throw new Error(`${path} is not a boolean`);
  return value;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], path: string): T {
  if (!allowed.includes(value as T))
    throw new Error(`${path} is ${JSON.stringify(value)}, expected one of ${allowed.join(', ')}`);
  return value as T;
}

export function floats(value: unknown, path: string, length?: number): Float32Array {
  if (!(value instanceof Float32Array)) throw new Error(`${path} is not a Float32Array`);
  if (length !== undefined && value.length !== length)
    throw new Error(`${path} has ${value.length} values, expected ${length}`);
  return value;
}
