// Face verification figures that need no threshold: every pair of photos
// (one face each) is a genuine pair (same identity) or an impostor pair
// (different identities, or a stranger), and the recognizer's cosine
// similarities are judged by how well they rank genuine above impostor
// pairs: the area under the ROC curve, and the share of genuine pairs
// accepted when at most a given share of impostor pairs is (TAR at FAR).
import { cosine } from '../keys.ts';
import type { EmbeddedFace } from '../types.ts';
import type { FaceDataset } from './dataset.ts';
import type { EmbeddedPhotos } from './protocol.ts';

/** The false-accept rates reported (1 in 1,000 is the usual headline; 1 in 100 is the head's own bar). */
export const VERIFICATION_FARS = [1e-3, 1e-2] as const;

export interface TarAtFar {
  far: number;
  /** Share of genuine pairs above `threshold`. */
  tar: number;
  /** The similarity that at most `far` of the impostor pairs exceed. */
  threshold: number;
}

export interface VerificationResult {
  /** Photos with a recognizable face. */
  photos: number;
  genuinePairs: number;
  impostorPairs: number;
  /** Probability that a random genuine pair scores above a random impostor pair (ties count half). */
  auc: number;
  tarAtFar: TarAtFar[];
}

/** The face a single-person photo is about: the largest one that was embedded. */
function mainFace(faces: readonly EmbeddedFace[]): Float32Array | null {
  let best: EmbeddedFace | null = null;
  for (const face of faces) {
    if (face.embedding === null) continue;
    if (!best || face.box.width * face.box.height > best.box.width * best.box.height) best = face;
  }
  return best?.embedding ?? null;
}

/** Similarities of all genuine and impostor pairs among a set's identity and stranger photos. */
export function pairScores(
  dataset: FaceDataset,
  photos: EmbeddedPhotos,
): { genuine: number[]; impostor: number[]; photos: number } {
  const labelled: Array<{ who: string | null; embedding: Float32Array }> = [];
  const add = (path: string, who: string | null) => {
    const faces = photos.get(path)?.faces ?? [];
    const embedding = mainFace(faces);
    if (embedding) labelled.push({ who, embedding });
  };
  for (const identity of dataset.identities) for (const path of identity.photos) add(path, identity.name);
  for (const path of dataset.strangers) add(path, null);
  const genuine: number[] = [];
  const impostor: number[] = [];
  for (let i = 0; i < labelled.length; i++) {
    for (let j = i + 1; j < labelled.length; j++) {
      const a = labelled[i];
      const b = labelled[j];
      // Two strangers may be one person: such a pair is neither genuine nor impostor for sure.
      if (a.who === null && b.who === null) continue;
      const score = cosine(a.embedding, b.embedding);
      if (a.who !== null && a.who === b.who) genuine.push(score);
      else impostor.push(score);
    }
  }
  return { genuine, impostor, photos: labelled.length };
}

/** AUC by ranks (Mann-Whitney), and TAR at each of `fars`. */
export function verificationFigures(
  genuine: readonly number[],
  impostor: readonly number[],
  fars: readonly number[] = VERIFICATION_FARS,
): Omit<VerificationResult, 'photos'> {
  const all = [
    ...genuine.map((score) => ({ score, genuine: true })),
    ...impostor.map((score) => ({ score, genuine: false })),
  ].sort((a, b) => a.score - b.score);
  let genuineRankSum = 0;
  for (let i = 0; i < all.length;) {
    let j = i;
    while (j < all.length && all[j].score === all[i].score) j++;
    const meanRank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) if (all[k].genuine) genuineRankSum += meanRank;
    i = j;
  }
  const g = genuine.length;
  const n = impostor.length;
  const auc = g > 0 && n > 0 ? (genuineRankSum - (g * (g + 1)) / 2) / (g * n) : Number.NaN;
  const descending = [...impostor].sort((a, b) => b - a);
  const tarAtFar = fars.map((far) => {
    // Accept scores above the (k+1)-th highest impostor: at most k = floor(far n) impostors get through.
    const k = Math.floor(far * n);
    const threshold = n === 0 ? Number.NEGATIVE_INFINITY : descending[Math.min(k, n - 1)];
    const tar = g > 0 ? genuine.filter((s) => s > threshold).length / g : Number.NaN;
    return { far, tar, threshold };
  });
  return { genuinePairs: g, impostorPairs: n, auc, tarAtFar };
}

/** Verification figures of a set's identity and stranger photos. */
export function evaluateVerification(dataset: FaceDataset, photos: EmbeddedPhotos): VerificationResult {
  const scores = pairScores(dataset, photos);
  return { photos: scores.photos, ...verificationFigures(scores.genuine, scores.impostor) };
}
