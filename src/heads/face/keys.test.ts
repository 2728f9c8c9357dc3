import { describe, expect, it } from 'vitest';
import { InternalError } from '../../errors.ts';
import { assignFaces, keyCount, nearestKeySimilarity, personThresholds, toFaceHeadParams, unpackKeys } from './keys.ts';

/** A unit vector in 3-d at `degrees` from the x axis, in the x-y plane. */
const at = (degrees: number) =>
  new Float32Array([Math.cos((degrees * Math.PI) / 180), Math.sin((degrees * Math.PI) / 180), 0]);
const person = (conceptId: string, ...keys: Float32Array[]) => ({
  conceptId,
  params: toFaceHeadParams('test', 3, keys),
});

describe('face keys', () => {
  it('packs and unpacks keys row by row', () => {
    const params = toFaceHeadParams('test', 3, [at(0), at(90)]);
    expect(keyCount(params)).toBe(2);
    expect([...params.keys]).toEqual([1, 0, 0, ...at(90)]);
    expect(unpackKeys(params).map((k) => [...k])).toEqual([[...at(0)], [...at(90)]]);
    expect(() => toFaceHeadParams('test', 3, [new Float32Array(2)])).toThrow(InternalError);
    expect(() => toFaceHeadParams('test', 3, [new Float32Array(2)])).toThrow(/2-d key/);
  });

  it('measures a face against the nearest key', () => {
    const params = toFaceHeadParams('test', 3, [at(0), at(80)]);
    expect(nearestKeySimilarity(at(60), params)).toBeCloseTo(Math.cos((20 * Math.PI) / 180), 6);
    expect(nearestKeySimilarity(at(60), toFaceHeadParams('test', 3, []))).toBe(-Infinity);
  });
});

describe('assignFaces', () => {
  const anna = person('anna', at(0), at(10));
  const bob = person('bob', at(90));

  it('gives each face to its nearest person at or above the threshold', () => {
    const result = assignFaces([at(88), at(5), at(45)], [anna, bob], Math.cos((20 * Math.PI) / 180));
    expect(result.map((a) => [a.conceptId, a.faceIndex])).toEqual([
      ['bob', 0],
      ['anna', 1],
    ]);
    expect(result[0].similarity).toBeCloseTo(Math.cos((2 * Math.PI) / 180), 6);
    expect(result[1].similarity).toBeCloseTo(Math.cos((5 * Math.PI) / 180), 6);
  });

  it('fires each person once, with their most similar face; the other face is nobody', () => {
    const result = assignFaces([at(8), at(2)], [anna, bob], 0.5);
    expect(result).toHaveLength(1);
    expect(result[0]).toMatchObject({ conceptId: 'anna', faceIndex: 1 });
  });

  it('does not hand a face to its second-nearest person', () => {
    // Face 1 is nearest to anna but loses her to face 0; it does not fall back to bob even though bob is above the threshold.
    const result = assignFaces([at(0), at(40)], [anna, bob], 0.3);
    expect(result.map((a) => a.conceptId)).toEqual(['anna']);
  });

  it('finds nobody without people or faces', () => {
    expect(assignFaces([at(0)], [], 0)).toEqual([]);
    expect(assignFaces([], [anna], 0)).toEqual([]);
  });
});

describe('personThresholds', () => {
  const cos = (degrees: number) => Math.cos((degrees * Math.PI) / 180);
  const rule = { maxLowering: 0.2, margin: 0.05 };

  it("lowers a person's threshold towards their nearest other person's keys plus the margin, within the lowering", () => {
    // Anna's keys at 0 and 10 degrees; Bob's nearest key at 60 degrees is 50 from Anna's: cos 50 = 0.643.
    const anna = person('anna', at(0), at(10));
    const bob = person('bob', at(60), at(80));
    const thresholds = personThresholds([anna, bob], 0.9, rule);
    expect(thresholds.get('anna')).toBeCloseTo(Math.max(0.9 - 0.2, cos(50) + 0.05), 6);
    expect(thresholds.get('anna')).toBeCloseTo(0.7, 6);
    // Close people keep the global threshold: the margin asks for more than it.
    const close = personThresholds([anna, person('carol', at(12), at(30))], 0.9, rule);
    expect(close.get('anna')).toBe(0.9);
    // Between the two: the nearest other key (32 degrees away) plus the margin.
    const middle = personThresholds([anna, person('eve', at(42), at(90))], 0.9, { maxLowering: 0.2, margin: 0 });
    expect(middle.get('anna')).toBeCloseTo(cos(32), 6);
  });

  it('keeps the global threshold for a person with one key and in a scope of one', () => {
    const anna = person('anna', at(0), at(10));
    const bob = person('bob', at(90));
    expect(personThresholds([anna], 0.9, rule)).toEqual(new Map([['anna', 0.9]]));
    const both = personThresholds([anna, bob], 0.9, rule);
    expect(both.get('bob')).toBe(0.9);
    expect(both.get('anna')).toBeCloseTo(0.7, 6);
  });

  it('is what assignFaces matches each person at', () => {
    const anna = person('anna', at(0), at(10));
    const bob = person('bob', at(90));
    // A face 35 degrees from Anna's nearest key (45 from Bob's): cos 35 = 0.819, under 0.9 but over Anna's own 0.7.
    const face = at(45);
    expect(assignFaces([face], [anna, bob], 0.9)).toEqual([]);
    const found = assignFaces([face], [anna, bob], 0.9, personThresholds([anna, bob], 0.9, rule));
    expect(found.map((a) => a.conceptId)).toEqual(['anna']);
    expect(found[0].similarity).toBeCloseTo(cos(35), 6);
  });
});
