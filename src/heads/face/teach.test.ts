import { describe, expect, it } from 'vitest';
import { toFaceHeadParams, unpackKeys } from './keys.ts';
import { chooseTeachingFaces, facesOfSomeoneElse, judgeKind, photoKindEvidence, uniteKeys } from './teach.ts';

const at = (degrees: number) =>
  new Float32Array([Math.cos((degrees * Math.PI) / 180), Math.sin((degrees * Math.PI) / 180)]);
const THRESHOLD = 0.8; // about 37 degrees

describe('chooseTeachingFaces', () => {
  it('takes the face of a single-face photo and refuses a photo without a face', () => {
    const [single, none] = chooseTeachingFaces([[at(0)], []], [], THRESHOLD);
    expect(single).toEqual({ accepted: true, faceIndex: 0, facesFound: 1, similarity: null });
    expect(none.accepted).toBe(false);
    if (!none.accepted) expect(none.reason).toMatch(/could not find a face/);
  });

  it("keeps the one face of a group photo that matches the person's single-face photos", () => {
    const [group] = chooseTeachingFaces([[at(90), at(10), at(200)], [at(0)]], [], THRESHOLD);
    expect(group).toMatchObject({ accepted: true, faceIndex: 1, facesFound: 3 });
    if (group.accepted) expect(group.similarity).toBeCloseTo(Math.cos((10 * Math.PI) / 180), 6);
  });

  it('uses the keys the person already has as references', () => {
    const [group] = chooseTeachingFaces([[at(90), at(-5)]], [at(0)], THRESHOLD);
    expect(group).toMatchObject({ accepted: true, faceIndex: 1 });
  });

  it('refuses a group photo when no face, or more than one, matches, or when there is nothing to compare with', () => {
    const choices = chooseTeachingFaces([[at(90), at(180)], [at(5), at(-5)], [at(0)]], [], THRESHOLD);
    expect(choices.map((c) => c.accepted)).toEqual([false, false, true]);
    if (!choices[0].accepted) expect(choices[0].reason).toMatch(/none of them looks like/);
    if (!choices[1].accepted) expect(choices[1].reason).toMatch(/2 of them look like/);
    const [alone] = chooseTeachingFaces([[at(0), at(90)]], [], THRESHOLD);
    expect(alone.accepted).toBe(false);
    if (!alone.accepted) expect(alone.reason).toMatch(/photo where they are alone/);
  });
});

describe('facesOfSomeoneElse', () => {
  const BOUND = 0.5; // 60 degrees
  it('sets aside the one face unlike the others, and nothing when they agree', () => {
    expect(facesOfSomeoneElse([at(0), at(20), at(120)], [], BOUND)).toEqual([2]);
    expect(facesOfSomeoneElse([at(0), at(20), at(40)], [], BOUND)).toEqual([]);
  });
  it('returns both of two faces that disagree, and the new one when the known keys disagree with it', () => {
    expect(facesOfSomeoneElse([at(0), at(120)], [], BOUND)).toEqual([0, 1]);
    expect(facesOfSomeoneElse([at(120)], [at(0), at(10)], BOUND)).toEqual([0]);
    expect(facesOfSomeoneElse([at(0)], [], BOUND)).toEqual([]);
  });
});

describe('person or object from the detector scores', () => {
  it('reads each photo with the calibrated scores of its detector, and leaves other detectors unsure', () => {
    expect(photoKindEvidence([0.95, 0.7], 'yunet-2023mar')).toBe('face');
    expect(photoKindEvidence([0.87], 'yunet-2023mar')).toBe('maybe-face');
    expect(photoKindEvidence([0.8], 'yunet-s-dynamic')).toBe('no-face');
    expect(photoKindEvidence([], 'yunet-2023mar')).toBe('no-face');
    expect(photoKindEvidence([0.99], 'scrfd-10g-buffalo-l')).toBe('maybe-face');
  });
  it('needs clear faces and no photo without one for a person, and the reverse for an object', () => {
    expect(judgeKind(['face', 'face', 'maybe-face'])).toBe('person');
    expect(judgeKind(['face', 'no-face'])).toBe('unsure');
    expect(judgeKind(['no-face', 'no-face', 'maybe-face'])).toBe('object');
    expect(judgeKind(['maybe-face', 'no-face'])).toBe('unsure');
  });
});

describe('uniteKeys', () => {
  const params = (recognizer: string, ...keys: Float32Array[]) => toFaceHeadParams(recognizer, 2, keys);

  it('adds the keys that are new, once, and is harmless when repeated', () => {
    const anna = params('r', at(0), at(20));
    const annie = params('r', at(20), at(40), at(40));
    const once = uniteKeys(anna, annie);
    expect(once.added).toBe(1);
    expect(once.dropped).toBe(0);
    expect(unpackKeys(once.params).map((k) => Math.round((Math.atan2(k[1], k[0]) * 180) / Math.PI))).toEqual([
      0, 20, 40,
    ]);
    const twice = uniteKeys(once.params, annie);
    expect(twice.added).toBe(0);
    expect([...twice.params.keys]).toEqual([...once.params.keys]);
  });

  it('drops keys of another recognizer, as teaching does', () => {
    const anna = params('r', at(0));
    const united = uniteKeys(anna, params('other', at(30), at(60)));
    expect(united).toEqual({ params: anna, added: 0, dropped: 2 });
  });
});
