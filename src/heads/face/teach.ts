// Which face of each teaching photo becomes a key. A photo with one face
// gives its face; in a photo with several, only the one face that matches
// the person's known faces (earlier keys and this batch's single-face photos)
// is kept; otherwise the photo is refused with a reason a chat can show.
import type { FaceHeadParams } from '../../memory/concept.ts';
import { cosine, toFaceHeadParams, unpackKeys } from './keys.ts';

/** The decision for one teaching photo. */
export type TeachingChoice =
  | {
      accepted: true;
      faceIndex: number;
      facesFound: number;
      /** Similarity to the known faces; null for a single-face photo. */ similarity: number | null;
    }
  | { accepted: false; facesFound: number; reason: string };

/** Two keys this similar are the same photo sent twice; the second adds nothing. */
export const DUPLICATE_KEY_SIMILARITY = 0.999;

/** Adds `key` to `keys` unless it duplicates one of them; whether it was added. */
export function addDistinctKey(keys: Float32Array[], key: Float32Array): boolean {
  if (keys.some((k) => cosine(key, k) >= DUPLICATE_KEY_SIMILARITY)) return false;
  keys.push(key);
  return true;
}

/**
 * One person's keys from two heads taught apart (the same person under two
 * names): `into`'s keys, then each of `from`'s that is no duplicate. Keys of
 * another recognizer or dimension cannot be compared with `into`'s, so they
 * are dropped, as teaching drops them; `dropped` counts them. Uniting the
 * same heads again adds nothing, so a repeated merge is harmless.
 */
export function uniteKeys(
  into: FaceHeadParams,
  from: FaceHeadParams,
): { params: FaceHeadParams; added: number; dropped: number } {
  const keys = unpackKeys(into);
  const comparable = from.recognizer === into.recognizer && from.dims === into.dims;
  const fromKeys = unpackKeys(from);
  if (!comparable) return { params: into, added: 0, dropped: fromKeys.length };
  const added = fromKeys.filter((key) => addDistinctKey(keys, key)).length;
  return { params: toFaceHeadParams(into.recognizer, into.dims, keys), added, dropped: 0 };
}

/**
 * Chooses the teaching face of every photo. `photos[i]` holds the embeddings
 * of photo i's faces; `known` holds the person's existing keys; `threshold`
 * is the recognizer's matching threshold.
 */
export function chooseTeachingFaces(
  photos: readonly (readonly Float32Array[])[],
  known: readonly Float32Array[],
  threshold: number,
): TeachingChoice[] {
  const references = [...known, ...photos.filter((faces) => faces.length === 1).map((faces) => faces[0])];
  return photos.map((faces): TeachingChoice => {
    const facesFound = faces.length;
    if (facesFound === 0) {
      return {
        accepted: false,
        facesFound,
        reason:
          'I could not find a face in it. Use a photo where the face is clearly visible, facing the camera and not too small.',
      };
    }
    if (facesFound === 1) return { accepted: true, faceIndex: 0, facesFound, similarity: null };
    if (references.length === 0) {
      return {
        accepted: false,
        facesFound,
        reason: `it shows ${facesFound} faces and I have no photo of the person alone to tell which one they are. Add a photo where they are alone.`,
      };
    }
    const similarities = faces.map((face) => Math.max(...references.map((ref) => cosine(face, ref))));
    const matching = similarities.map((s, i) => ({ s, i })).filter(({ s }) => s >= threshold);
    if (matching.length === 0) {
      return {
        accepted: false,
        facesFound,
        reason: `it shows ${facesFound} faces, but none of them looks like the person in the other photos.`,
      };
    }
    if (matching.length > 1) {
      return {
        accepted: false,
        facesFound,
        reason: `it shows ${facesFound} faces and ${matching.length} of them look like the person in the other photos, so I cannot tell which one they are.`,
      };
    }
    return { accepted: true, faceIndex: matching[0].i, facesFound, similarity: matching[0].s };
  });
}

/**
 * Which of a lesson's faces show someone else. `faces` are the chosen face of
 * each accepted photo, `known` the person's existing keys (which always
 * count as the person). The least similar face to the mean of the others is
 * set aside while it is below `bound`, so one odd photo cannot drag the
 * others down with it. Two faces that disagree with no keys to ask are both
 * returned: nothing says which one is the person.
 *
 * `bound` is the recognizer's `someoneElseBelow`, not its matching threshold:
 * that one is set so that strangers rarely reach it, and genuine photos of
 * one person taken years apart often miss it too (with MobileFaceNet it
 * refused 35-40% of honest lessons). Look-alikes (Sarah Paulson among Nicole
 * Kidman's photos) are not caught: the lesson is taught, and /teach warns
 * when the new person looks like one already known.
 */
export function facesOfSomeoneElse(
  faces: readonly Float32Array[],
  known: readonly Float32Array[],
  bound: number,
): number[] {
  const active = faces.map((_, i) => i);
  const odd: number[] = [];
  while (active.length + (known.length > 0 ? 1 : 0) >= 2) {
    const similarities = active.map((i) => {
      const others = [...known, ...active.filter((j) => j !== i).map((j) => faces[j])];
      return cosine(faces[i], normalizedMean(others));
    });
    const worst = similarities.indexOf(Math.min(...similarities));
    if (similarities[worst] >= bound) break;
    if (known.length === 0 && active.length === 2) return [...odd, ...active].sort((a, b) => a - b);
    odd.push(active[worst]);
    active.splice(worst, 1);
  }
  return odd.sort((a, b) => a - b);
}

/** The mean direction of unit vectors (their sum, normalized). */
export function normalizedMean(vectors: readonly Float32Array[]): Float32Array {
  const sum = new Float32Array(vectors[0].length);
  for (const v of vectors) for (let d = 0; d < sum.length; d++) sum[d] += v[d];
  let norm = 0;
  for (let d = 0; d < sum.length; d++) norm += sum[d] * sum[d];
  norm = Math.sqrt(norm);
  if (norm > 0) for (let d = 0; d < sum.length; d++) sum[d] /= norm;
  return sum;
}

/** What a photo suggests about a new concept taught without a kind. */
export type PhotoKindEvidence = 'face' | 'maybe-face' | 'no-face';

/**
 * Detector scores that tell a human face from the faces YuNet also finds on
 * dogs, cats, statues and toys. Per detector, because scores are not
 * comparable between models. Measured with each YuNet export on 728 distinct
 * photos of ../shared/data (people: faces/ and photos/ and the people in
 * myvlm/random; pets: billy_dog, bo, maeve_dog and the dogs of
 * negatives/billy_dog; objects: the other concepts, negatives and random
 * photos; 14 object photos that also show a real person left out), split in
 * halves by content hash. On the calibration half the best non-human face
 * scored 0.888 and the worst best-face of a person photo 0.857; so a face
 * scoring `human` or more is a person's, and a photo whose best face is under
 * `faceLike` shows no person. Held-out half: 132 of 135 person photos
 * `face`, 3 `maybe-face`; 19 of 20 pet photos `no-face`, 1 `maybe-face`; 217
 * of 222 object photos `no-face`, 2 `maybe-face`, 3 `face` (a toy figure, a
 * bust, a cartoon). Other detectors are not measured: their faces are `maybe-face`.
 */
export const HUMAN_FACE_SCORES: Readonly<Record<string, { human: number; faceLike: number }>> = {
  'yunet-2023mar': { human: 0.89, faceLike: 0.85 },
  'yunet-s-dynamic': { human: 0.89, faceLike: 0.85 },
};

/** The evidence of one photo, from the detector scores of its faces. */
export function photoKindEvidence(scores: readonly number[], detectorId: string): PhotoKindEvidence {
  if (scores.length === 0) return 'no-face';
  const calibrated = HUMAN_FACE_SCORES[detectorId];
  if (!calibrated) return 'maybe-face';
  const best = Math.max(...scores);
  return best >= calibrated.human ? 'face' : best < calibrated.faceLike ? 'no-face' : 'maybe-face';
}

/**
 * Person, object, or unsure (the user is asked). A person needs more human
 * faces than doubtful ones and no photo without one; an object needs no
 * human face and more photos without a face than doubtful ones. Chosen on
 * the calibration half over "every photo must agree", which asked about 33%
 * instead of 60-70% of 3- and 4-photo pet lessons. Held-out lessons of 1-4
 * photos from one concept (200 draws per concept and size): no pet or object
 * lesson became a person and no person lesson an object; person lessons were
 * asked about in 2.0/4.5/0/0% (1/2/3/4 photos), pet lessons in 9.2/18.7/0/0%,
 * object lessons in 1.0/5.2/3.4/5.0% (and 0.8% of single object photos, the
 * toy figure, became a person).
 */
export function judgeKind(evidence: readonly PhotoKindEvidence[]): 'person' | 'object' | 'unsure' {
  const count = (e: PhotoKindEvidence) => evidence.filter((x) => x === e).length;
  const [faces, doubtful, none] = [count('face'), count('maybe-face'), count('no-face')];
  if (none === 0 && faces > doubtful) return 'person';
  if (faces === 0 && none > doubtful) return 'object';
  return 'unsure';
}
