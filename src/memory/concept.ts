// The concept record: everything the assistant remembers about one person or
// thing a user taught it, in one conversation scope. Heads and embeddings are
// stored here as Float32Arrays; the store's codec keeps them exact and compact.

export type ConceptKind = 'person' | 'object';

/**
 * A conversation scope: the one place a concept is visible from.
 * Adapters build these, e.g. `telegram:chat:-1001234`, `discord:guild:42`,
 * `discord:dm:7`, `terminal:local`.
 */
export type Scope = string;

/** A user inside a platform, e.g. `telegram:user:42`, `discord:user:7`, `terminal:me`. */
export type UserRef = string;

/** Face keys: one L2-normalized embedding per accepted teaching face. */
export interface FaceHeadParams {
  type: 'face';
  /** Registry id of the recognizer that produced the keys; keys of another recognizer are not comparable. */
  recognizer: string;
  /** Embedding dimension. */
  dims: number;
  /** `keys.length / dims` keys, row-major. */
  keys: Float32Array;
}

/** A linear D -> 2 classifier over image features, with its own feature normalization. */
export interface LinearHeadParams {
  type: 'linear';
  /** Registry id of the feature extractor the head was trained on. */
  extractor: string;
  dims: number;
  /** Row-major [2, dims]: row 0 = negative class, row 1 = positive class. */
  weight: Float32Array;
  /** [2]. */
  bias: Float32Array;
  /** Feature normalization applied before the linear layer (part of the head). */
  normalization: { center: Float32Array | null; l2: boolean };
  /** p(positive) at or above this fires the concept. */
  threshold: number;
  /** How the head was trained, for reports. */
  trainedOn: { positives: number; negatives: number; steps: number; seed: number };
  /**
   * How a photo is scored: `whole` (absent in heads stored before regions
   * existed) reads the whole photo's feature; `regions` takes the best of the
   * photo's regions (a multiple-instance head, src/heads/object/mil.ts).
   */
  scoring?: 'whole' | 'regions';
}

export type HeadParams = FaceHeadParams | LinearHeadParams;

/** A learned concept embedding for one VLM. */
export interface ConceptEmbedding {
  /** Stored direction; L2-normalized and rescaled at use. */
  vector: Float32Array;
  steps: number;
  finalLoss: number | null;
  updatedAt: string;
}

/** A teaching photo kept so heads can be retrained and embeddings taught later. */
export interface PhotoRef {
  /** sha256 of the decoded-and-normalized photo bytes; also its blob key. */
  sha256: string;
  width: number;
  height: number;
  /** A caption the user wrote with the photo, if any (a teaching target). */
  caption: string | null;
  /** `example`: a photo of the concept; `not-it`: a photo the user said is not it (a negative for object heads). */
  role: 'example' | 'not-it';
  addedAt: string;
}

export interface ConceptRecord {
  /** Stable id (UUID). */
  id: string;
  scope: Scope;
  /** Display name exactly as the user wrote it ("Anna", "Rex", "grandma's mug"). */
  name: string;
  /** Short token-friendly word used inside prompts and embeddings ("Anna", "sks"). */
  identifier: string;
  kind: ConceptKind;
  owner: UserRef;
  createdAt: string;
  updatedAt: string;
  /** Starts at 1; every successful update adds 1. */
  version: number;
  head: HeadParams | null;
  /** Keyed by VLM model id. */
  embeddings: Record<string, ConceptEmbedding>;
  /** Free-text facts the user told ("Anna is my daughter"). */
  facts: string[];
  photos: PhotoRef[];
}
