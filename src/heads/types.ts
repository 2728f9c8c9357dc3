// What the conversation core needs from recognition: teach a head from
// photos, and find which of a scope's concepts are in a new photo. The face
// head (src/heads/face) and the object head (src/heads/object) sit behind it.
import type { Box } from '../image/box.ts';
import type { DecodedImage } from '../image/decode.ts';
import type { ConceptRecord, FaceHeadParams, LinearHeadParams } from '../memory/concept.ts';

/** Where in the photo, in words a reply can use. */
export type Position = 'left' | 'centre' | 'right';

export interface PersonSighting {
  conceptId: string;
  similarity: number;
  box: Box;
  position: Position;
}

export interface ObjectSighting {
  conceptId: string;
  probability: number;
}

export interface Recognition {
  people: PersonSighting[];
  objects: ObjectSighting[];
  /** Faces detected, matched or not ("I see 3 people, one of them Anna"). */
  facesFound: number;
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

/** Negative examples an object head can learn from, as a real user has them. */
export interface ObjectNegatives {
  /** Photos the user said are not this concept (`/notit`). */
  notIt: DecodedImage[];
  /** Teaching photos of the scope's other concepts. */
  otherConcepts: DecodedImage[];
}

/** Null when available; otherwise the plain reason (missing model files...). */
export interface HeadsAvailability {
  person: string | null;
  object: string | null;
}

export interface ConceptHeads {
  availability(): Promise<HeadsAvailability>;
  /** Faces in a photo (for guessing whether a new concept is a person). */
  countFaces(image: DecodedImage): Promise<number>;
  teachPerson(photos: readonly DecodedImage[], existing: FaceHeadParams | null): Promise<TeachResult<FaceHeadParams>>;
  teachObject(
    photos: readonly DecodedImage[],
    negatives: ObjectNegatives,
    seed: number,
  ): Promise<TeachResult<LinearHeadParams>>;
  recognize(image: DecodedImage, concepts: readonly ConceptRecord[]): Promise<Recognition>;
}
