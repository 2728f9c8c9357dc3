import { describe, expect, it } from 'vitest';
import { InternalError, OperatorError } from '../errors.ts';
import {
  base64ToFloat32,
  CONCEPT_FORMAT,
  decodeConcept,
  encodeConcept,
  float32ToBase64,
  StoredConceptError,
} from './codec.ts';
import type { ConceptRecord } from './concept.ts';

/** A stored concept read back as plain JSON, to damage it field by field. */
interface StoredJson {
  format: number;
  concept: { head: unknown; embeddings: unknown };
}

function storedJson(record: ConceptRecord): StoredJson {
  return JSON.parse(JSON.stringify(encodeConcept(record))) as StoredJson;
}

function bitsOf(values: Float32Array): number[] {
  return Array.from(new Uint32Array(values.buffer, values.byteOffset, values.length));
}

/** Float32 values whose bit patterns JSON numbers could not carry. */
function awkwardFloats(): Float32Array {
  const bits = new Uint32Array([
    0x80000000, // -0
    0x00000001, // smallest denormal
    0x807fffff, // largest negative denormal
    0x7f800000, // +Infinity
    0xff800000, // -Infinity
    0x7fc00000, // canonical quiet NaN
    0x7fa12345, // signalling NaN with a payload
    0xffc0beef, // negative quiet NaN with a payload
    0x7f7fffff, // largest finite
    0x3f800000, // 1
  ]);
  return new Float32Array(bits.buffer);
}

function randomFloats(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32 - 0.5) * 2 ** ((i % 40) - 20);
  }
  return out;
}

function sampleRecord(): ConceptRecord {
  return {
    id: '0b7e1f0a-2c1d-4e5f-8a9b-0c1d2e3f4a5b',
    scope: 'telegram:chat:-1001234',
    name: 'Anna',
    identifier: 'Anna',
    kind: 'object',
    owner: 'telegram:user:42',
    createdAt: '2025-01-02T03:04:05.000Z',
    updatedAt: '2025-01-02T03:04:05.000Z',
    version: 3,
    head: {
      type: 'linear',
      extractor: 'clip-vit-b32',
      dims: 5,
      weight: awkwardFloats(),
      bias: new Float32Array([-0.5, 0.25]),
      normalization: { center: randomFloats(5, 7), l2: true },
      threshold: 0.5,
      trainedOn: { positives: 4, negatives: 150, steps: 500, seed: 42 },
    },
    embeddings: {
      'llava-1.6': {
        vector: randomFloats(4096, 1),
        steps: 40,
        finalLoss: 0.125,
        updatedAt: '2025-01-02T03:04:05.000Z',
      },
    },
    facts: ['Anna is my daughter', ':base64:not really'],
    photos: [
      {
        sha256: 'a'.repeat(64),
        width: 640,
        height: 480,
        caption: null,
        role: 'example',
        addedAt: '2025-01-02T03:04:05.000Z',
      },
    ],
  };
}

/** What the store does: the stored value goes through JSON text. */
function throughJson(record: ConceptRecord): ConceptRecord {
  return decodeConcept(JSON.parse(JSON.stringify(encodeConcept(record))));
}

describe('float32 base64', () => {
  it('round-trips every awkward bit pattern exactly', () => {
    const values = awkwardFloats();
    expect(bitsOf(base64ToFloat32(float32ToBase64(values)))).toEqual(bitsOf(values));
  });

  it('round-trips random values and unaligned views exactly', () => {
    const values = randomFloats(10_001, 3);
    expect(bitsOf(base64ToFloat32(float32ToBase64(values)))).toEqual(bitsOf(values));
    const view = new Float32Array(values.buffer, 4 * 3, 17);
    expect(bitsOf(base64ToFloat32(float32ToBase64(view)))).toEqual(bitsOf(view));
    expect(base64ToFloat32(float32ToBase64(new Float32Array(0))).length).toBe(0);
  });

  it('refuses text that is not base64 of whole floats', () => {
    expect(() => base64ToFloat32('AAAA')).toThrow(StoredConceptError); // 3 bytes
    expect(() => base64ToFloat32('AAAA')).toThrow(/3 bytes, not a multiple of 4/);
    expect(() => base64ToFloat32('not base64!')).toThrow(StoredConceptError);
    expect(() => base64ToFloat32('not base64!')).toThrow(/not valid base64/);
  });
});

describe('concept codec', () => {
  it('round-trips a whole record through JSON text bit-exactly', () => {
    const record = sampleRecord();
    const back = throughJson(record);
    expect(back).toEqual(record);
    const head = back.head;
    if (head?.type !== 'linear' || record.head?.type !== 'linear') throw new Error('expected a linear head');
    expect(head.weight).toBeInstanceOf(Float32Array);
    expect(bitsOf(head.weight)).toEqual(bitsOf(record.head.weight));
    expect(bitsOf(back.embeddings['llava-1.6'].vector)).toEqual(bitsOf(record.embeddings['llava-1.6'].vector));
    expect(back.facts[1]).toBe(':base64:not really');
  });

  it("reads an object head stored before region scoring (no scoring field) as it was, and keeps a region head's scoring", () => {
    const before = throughJson(sampleRecord());
    if (before.head?.type !== 'linear') throw new Error('expected a linear head');
    expect('scoring' in before.head).toBe(false);
    const regions = sampleRecord();
    if (regions.head?.type !== 'linear') throw new Error('expected a linear head');
    regions.head.scoring = 'regions';
    const back = throughJson(regions);
    expect(back.head?.type === 'linear' && back.head.scoring).toBe('regions');
    const stored = storedJson(regions);
    stored.concept.head = { ...(stored.concept.head as object), scoring: 'everywhere' };
    expect(() => decodeConcept(stored)).toThrow(/head\.scoring/);
  });

  it('stores floats in about 4/3 characters per byte', () => {
    const record = sampleRecord();
    const floats = 4096 + 10 + 2 + 5;
    const text = JSON.stringify(encodeConcept(record));
    const overhead = 1200; // every non-float field of the sample, generously
    expect(text.length).toBeLessThan(Math.ceil((floats * 4 * 4) / 3) + overhead);
    expect(text.length).toBeGreaterThan(Math.ceil((4096 * 4 * 4) / 3));
  });

  it('tags the format version and refuses unknown ones', () => {
    const stored = encodeConcept(sampleRecord());
    expect(stored.format).toBe(CONCEPT_FORMAT);
    expect(() => decodeConcept({ ...stored, format: CONCEPT_FORMAT + 1 })).toThrow(StoredConceptError);
    expect(() => decodeConcept({ ...stored, format: CONCEPT_FORMAT + 1 })).toThrow(/newer version/);
    expect(() => decodeConcept({ concept: stored.concept })).toThrow(StoredConceptError);
    expect(() => decodeConcept({ concept: stored.concept })).toThrow(/no format\/concept envelope/);
  });

  it("says a damaged store is the operator's to fix, and a malformed write a bug", () => {
    const damaged = (() => {
      try {
        return decodeConcept({ concept: {} });
      } catch (error) {
        return error;
      }
    })();
    expect(damaged).toBeInstanceOf(OperatorError);
    expect((damaged as OperatorError).hint).toMatch(/^Restore the concept store \(MYVLM_DATA_DIR\) from a backup/);
    expect(() => encodeConcept({ ...sampleRecord(), version: 0 })).toThrow(InternalError);
  });

  it('refuses malformed records on the way in and damaged ones on the way out', () => {
    const record = sampleRecord();
    expect(() => encodeConcept({ ...record, version: 0 })).toThrow(InternalError);
    expect(() => encodeConcept({ ...record, version: 0 })).toThrow(/refusing to store a malformed concept: version/);
    const nanLoss = sampleRecord();
    nanLoss.embeddings['llava-1.6'].finalLoss = Number.NaN;
    expect(() => encodeConcept(nanLoss)).toThrow(InternalError);
    expect(() => encodeConcept(nanLoss)).toThrow(/finalLoss/);
    const wrongBias = sampleRecord();
    if (wrongBias.head?.type === 'linear') wrongBias.head.bias = new Float32Array(3);
    expect(() => encodeConcept(wrongBias)).toThrow(InternalError);
    expect(() => encodeConcept(wrongBias)).toThrow(/head\.bias/);

    const stored = storedJson(record);
    stored.concept.head = { ...(stored.concept.head as object), weight: [1, 2, 3] };
    expect(() => decodeConcept(stored)).toThrow(StoredConceptError);
    expect(() => decodeConcept(stored)).toThrow(/stored concept is damaged: head\.weight/);
    stored.concept.head = {
      type: 'face',
      recognizer: 'r',
      dims: 3,
      keys: { $f32: float32ToBase64(new Float32Array(4)) },
    };
    expect(() => decodeConcept(stored)).toThrow(StoredConceptError);
    expect(() => decodeConcept(stored)).toThrow(/multiple of dims/);
  });

  it('keeps an own "__proto__" model id as data', () => {
    const record = sampleRecord();
    const stored = storedJson(record);
    stored.concept.embeddings = JSON.parse(
      `{"__proto__": {"vector": {"$f32": "${float32ToBase64(new Float32Array([1]))}"}, "steps": 1, "finalLoss": null, "updatedAt": "2025-01-01T00:00:00Z"}}`,
    );
    const back = decodeConcept(stored);
    expect(Object.getPrototypeOf(back.embeddings)).toBe(Object.prototype);
    expect(Object.keys(back.embeddings)).toEqual(['__proto__']);
  });
});
