// One `ConceptHeads` over the face head and the object head: what the
// conversation core uses to teach concepts and to find a scope's concepts in
// a photo. Models load on first use; a missing one disables only its head.
import type { Settings } from '../config/settings.ts';
import { isUserError } from '../errors.ts';
import type { DecodedImage } from '../image/decode.ts';
import type { ConceptRecord, FaceHeadParams, LinearHeadParams } from '../memory/concept.ts';
import { findModel } from '../models/registry.ts';
import type { ResolveOptions } from '../models/resolve.ts';
import type { SessionPool } from '../models/session.ts';
import { FaceHead } from './face/head.ts';
import type { ConceptHeads, HeadsAvailability, ObjectNegatives, Recognition, TeachResult } from './types.ts';

/** A head that could not even be configured (unknown model id) carries its reason instead. */
type Maybe<T> = { head: T; reason: null } | { head: null; reason: string };

function attempt<T>(build: () => T): Maybe<T> {
  try {
    return { head: build(), reason: null };
  } catch (error) {
    if (isUserError(error)) return { head: null, reason: error.message };
    throw error;
  }
}

export class ScopeHeads implements ConceptHeads {
  constructor(private readonly face: Maybe<FaceHead>) {}

  async availability(): Promise<HeadsAvailability> {
    return {
      person: this.face.head ? await this.face.head.availability() : this.face.reason,
      object: 'learning objects is not available yet.',
    };
  }

  async countFaces(image: DecodedImage): Promise<number> {
    return this.face.head ? (await this.face.head.detect(image)).length : 0;
  }

  async teachPerson(photos: readonly DecodedImage[], existing: FaceHeadParams | null): Promise<TeachResult<FaceHeadParams>> {
    return this.faceHead().teach(photos, existing);
  }

  async teachObject(_photos: readonly DecodedImage[], _negatives: ObjectNegatives, _seed: number): Promise<TeachResult<LinearHeadParams>> {
    throw new Error('object heads are not wired yet');
  }

  async recognize(image: DecodedImage, concepts: readonly ConceptRecord[]): Promise<Recognition> {
    const people = concepts.flatMap((c) => (c.head?.type === 'face' ? [{ conceptId: c.id, params: c.head }] : []));
    const face = this.face.head && (await this.face.head.availability()) === null ? this.face.head : null;
    const match = face ? await face.match(image, people) : null;
    return {
      people: match?.sightings.map(({ conceptId, similarity, box, position }) => ({ conceptId, similarity, box, position })) ?? [],
      objects: [],
      facesFound: match?.faces.length ?? 0,
    };
  }

  async dispose(): Promise<void> {}

  private faceHead(): FaceHead {
    if (!this.face.head) throw new Error(`face head unavailable: ${this.face.reason}`);
    return this.face.head;
  }
}

/** The heads the settings ask for, sharing one session pool. */
export function createConceptHeads(settings: Settings, sessions: SessionPool): ConceptHeads {
  const resolve: ResolveOptions = {
    modelsDir: settings.modelsDir,
    cacheDir: settings.cacheDir,
    allowDownload: !settings.offline,
    hubEndpoint: settings.hubEndpoint,
  };
  const face = attempt(
    () =>
      new FaceHead({
        detector: findModel('face-detection', settings.faceDetector),
        recognizer: findModel('face-recognition', settings.faceRecognizer),
        sessions,
        resolve,
        threshold: settings.faceThreshold,
      }),
  );
  return new ScopeHeads(face);
}
