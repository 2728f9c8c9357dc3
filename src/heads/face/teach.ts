// Which face of each teaching photo becomes a key. A photo with one face
// gives its face; in a photo with several, only the one face that matches
// the person's known faces (earlier keys and this batch's single-face photos)
// is kept; otherwise the photo is refused with a reason a chat can show.
import { cosine } from './keys.ts';

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
