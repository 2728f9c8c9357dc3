import { describe, expect, it } from 'vitest';
import { chooseTeachingFaces } from './teach.ts';

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
