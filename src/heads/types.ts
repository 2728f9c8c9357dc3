// What the conversation core needs from recognition: teach a head from
// photos, and find which of a scope's concepts are in a new photo. The face
// head (src/heads/face) and the object head (src/heads/object) sit behind it.
import { OperatorError, UserError } from '../errors.ts';
import type { Box, Position } from '../image/box.ts';
import type { DecodedImage } from '../image/decode.ts';
import type { ConceptKind, ConceptRecord, FaceHeadParams, LinearHeadParams } from '../memory/concept.ts';
import type { ClusteringOptions } from './face/clusters.ts';

export type { Position } from '../image/box.ts';

export interface PersonSighting {
  conceptId: string;
  similarity: number;
  box: Box;
  position: Position;
}

export interface ObjectSighting {
  conceptId: string;
  probability: number;
  /** The best-scoring region of the photo: where the head says the concept is. */
  box: Box;
  position: Position;
}

export interface Recognition {
  people: PersonSighting[];
  objects: ObjectSighting[];
  /** Faces detected, matched or not ("I see 3 people, one of them Anna"). */
  facesFound: number;
  /**
   * The faces large enough to tell people apart that matched nobody, with
   * how to cluster them (`/settings remember-faces on`); null when the face
   * head did not run.
   */
  unknownFaces: { faces: Array<{ embedding: Float32Array; box: Box }>; clustering: ClusteringOptions } | null;
}

/** Per-photo result of teaching: accepted, or refused with a reason fit for chat. */
export interface PhotoOutcome {
  index: number;
  accepted: boolean;
  reason?: string;
}

export interface TeachResult<P> {
  params: P;
  outcomes: PhotoOutcome[];
}

export interface PersonTeachResult extends TeachResult<FaceHeadParams> {
  /** Indices of accepted photos whose face shows someone else than the rest of the lesson. */
  someoneElse: number[];
}

/** A face of a group photo that cannot be learned from. */
export interface UnusableFace {
  /** 1 for the left-most face. */
  fromLeft: number;
  /** Why, fit for chat ("it is too small to learn from (under 64 pixels)"). */
  reason: string;
}

/**
 * Teaching several people from one group photo, one name per face, left to
 * right. `people` holds one lesson per name, in the order given, and is null
 * unless the photo shows exactly one usable face per name.
 */
export interface GroupTeachResult {
  facesFound: number;
  unusable: UnusableFace[];
  people: PersonTeachResult[] | null;
}

/** What photos taught without a kind show: a person, a thing or pet, or too unclear to tell. */
export type KindGuess = 'person' | 'object' | 'unsure';

/** Another person of the scope whom a newly taught face resembles. */
export interface PersonLookalike {
  conceptId: string;
  similarity: number;
}

/** Negative examples an object head can learn from, as a real user has them. */
export interface ObjectNegatives {
  /** Photos the user said are not this concept (`/notit`). */
  notIt: DecodedImage[];
  /** Teaching photos of the scope's other concepts. */
  otherConcepts: DecodedImage[];
}

/**
 * Why a head cannot work, as an error that says who must act: usually the
 * operator (model files missing, a bad setting). The assistant words it for
 * whoever reads the reply (`messageFor` in src/errors.ts).
 */
export type HeadProblem = UserError | OperatorError;

/** Returns `error` when someone other than a developer can fix it; rethrows a bug. */
export function headProblem(error: unknown): HeadProblem {
  if (error instanceof UserError || error instanceof OperatorError) return error;
  throw error;
}

export interface ConceptHeads {
  /**
   * Null when the head of `kind` works; otherwise what stops it. Only that
   * head is loaded (and its models fetched), so a person lesson never starts
   * the object model's download.
   */
  problem(kind: ConceptKind): Promise<HeadProblem | null>;
  /** Whether photos of a new concept show a person, from the faces found in them. */
  guessKind(photos: readonly DecodedImage[]): Promise<KindGuess>;
  teachPerson(photos: readonly DecodedImage[], existing: FaceHeadParams | null): Promise<PersonTeachResult>;
  /** Teaches one person per face of `photo`, left to right; `existing[i]` holds the keys of the i-th person, if known. */
  teachGroup(photo: DecodedImage, existing: readonly (FaceHeadParams | null)[]): Promise<GroupTeachResult>;
  /** The scope's other people whose faces match `params` (the same face taught under another name?). */
  lookalikes(params: FaceHeadParams, others: readonly ConceptRecord[]): Promise<PersonLookalike[]>;
  teachObject(
    photos: readonly DecodedImage[],
    negatives: ObjectNegatives,
    seed: number,
  ): Promise<TeachResult<LinearHeadParams>>;
  recognize(image: DecodedImage, concepts: readonly ConceptRecord[]): Promise<Recognition>;
}
