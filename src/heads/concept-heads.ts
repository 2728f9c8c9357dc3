// One `ConceptHeads` over the face head and the object head: what the
// conversation core uses to teach concepts and to find a scope's concepts in
// a photo. Models load on first use; a missing one disables only its head.
import type { Settings } from '../config/settings.ts';
import { horizontalPosition, SIDE_TOLERANCE } from '../image/box.ts';
import type { DecodedImage } from '../image/decode.ts';
import type { ConceptKind, ConceptRecord, FaceHeadParams, LinearHeadParams } from '../memory/concept.ts';
import { findModel } from '../models/registry.ts';
import { resolveOptionsFrom, type ResolveOptions } from '../models/resolve.ts';
import type { SessionPool } from '../models/session.ts';
import { clusteringOptions } from './face/clusters.ts';
import { FaceHead, type FaceMatch } from './face/head.ts';
import type { PersonKeys } from './face/keys.ts';
import { ObjectHead } from './object/object-head.ts';
import {
  headProblem,
  type ConceptHeads,
  type GroupTeachResult,
  type HeadProblem,
  type KindGuess,
  type ObjectNegatives,
  type PersonLookalike,
  type PersonTeachResult,
  type Recognition,
  type TeachResult,
} from './types.ts';

/** Loads a head once; a failed load (missing files, unknown id) is tried again on the next call. */
class LazyHead<T> {
  private loading: Promise<T> | null = null;

  constructor(private readonly load: () => Promise<T>) {}

  get(): Promise<T> {
    this.loading ??= this.load().catch((error: unknown) => {
      this.loading = null;
      throw error;
    });
    return this.loading;
  }

  /** Null when the head works; otherwise what stops it. A bug is thrown. */
  async problem(): Promise<HeadProblem | null> {
    try {
      await this.get();
      return null;
    } catch (error) {
      return headProblem(error);
    }
  }
}

export class ScopeHeads implements ConceptHeads {
  constructor(
    private readonly face: LazyHead<FaceHead>,
    private readonly object: LazyHead<ObjectHead>,
  ) {}

  problem(kind: ConceptKind): Promise<HeadProblem | null> {
    return kind === 'person' ? this.face.problem() : this.object.problem();
  }

  async guessKind(photos: readonly DecodedImage[]): Promise<KindGuess> {
    return (await this.face.get()).guessKind(photos);
  }

  async teachPerson(photos: readonly DecodedImage[], existing: FaceHeadParams | null): Promise<PersonTeachResult> {
    const { params, outcomes, someoneElse } = await (await this.face.get()).teach(photos, existing);
    return { params, outcomes, someoneElse };
  }

  async teachGroup(photo: DecodedImage, existing: readonly (FaceHeadParams | null)[]): Promise<GroupTeachResult> {
    return (await this.face.get()).teachGroup(photo, existing);
  }

  async lookalikes(params: FaceHeadParams, others: readonly ConceptRecord[]): Promise<PersonLookalike[]> {
    return (await this.face.get()).lookalikes(params, peopleOf(others));
  }

  async teachObject(
    photos: readonly DecodedImage[],
    negatives: ObjectNegatives,
    seed: number,
  ): Promise<TeachResult<LinearHeadParams>> {
    const result = await (await this.object.get()).teach({ positives: photos, negatives, seed });
    return { params: result.params, outcomes: result.outcomes };
  }

  /** Runs only the heads the scope has concepts for; each computes its features of the photo once. */
  async recognize(image: DecodedImage, concepts: readonly ConceptRecord[]): Promise<Recognition> {
    const people = peopleOf(concepts);
    const objects = concepts.flatMap((c) =>
      c.head?.type === 'linear' ? [{ conceptId: c.id, params: c.head, revision: c.version }] : [],
    );
    const scope = concepts[0]?.scope ?? '';
    const faceHead = (await this.face.problem()) === null ? await this.face.get() : null;
    const [faceMatch, objectMatch] = await Promise.all([
      faceHead ? faceHead.match(image, people) : null,
      objects.length > 0 && (await this.object.problem()) === null
        ? (await this.object.get()).match(image, objects, scope)
        : null,
    ]);
    return {
      people:
        faceMatch?.sightings.map(({ conceptId, similarity, box, position }) => ({
          conceptId,
          similarity,
          box,
          position,
        })) ?? [],
      objects:
        objectMatch?.fired.map(({ conceptId, probability, box }) => ({
          conceptId,
          probability,
          box,
          position: horizontalPosition(box, image.width, SIDE_TOLERANCE),
        })) ?? [],
      facesFound: faceMatch?.faces.length ?? 0,
      unknownFaces: faceHead && faceMatch ? unknownFaces(faceHead, faceMatch) : null,
    };
  }
}

/** The embedded faces nobody matched (embedded means large enough to recognize). */
function unknownFaces(head: FaceHead, match: FaceMatch): NonNullable<Recognition['unknownFaces']> {
  const sighted = new Set(match.sightings.map((s) => s.faceIndex));
  return {
    faces: match.faces.flatMap((face, i) =>
      face.embedding !== null && !sighted.has(i) ? [{ embedding: face.embedding, box: face.box }] : [],
    ),
    clustering: clusteringOptions(head.recognizerId, head.threshold),
  };
}

function peopleOf(concepts: readonly ConceptRecord[]): PersonKeys[] {
  return concepts.flatMap((c) => (c.head?.type === 'face' ? [{ conceptId: c.id, params: c.head }] : []));
}

/** The heads the settings ask for, sharing one session pool. */
export function createConceptHeads(settings: Settings, sessions: SessionPool): ConceptHeads {
  const resolve: ResolveOptions = resolveOptionsFrom(settings);
  const face = new LazyHead(async () => {
    const head = new FaceHead({
      detector: findModel('face-detection', settings.faceDetector),
      recognizer: findModel('face-recognition', settings.faceRecognizer),
      sessions,
      resolve,
      threshold: settings.faceThreshold,
      perPersonThresholds: settings.faceThresholds === 'per-person',
    });
    const problem = await head.availability();
    if (problem) throw problem;
    return head;
  });
  const object = new LazyHead(() =>
    ObjectHead.open({
      ...resolve,
      extractor: settings.imageFeatures,
      sessions,
      // Memory only: features of photos people merely ask about must not outlive the process.
      featureCacheDir: null,
      genericNegativesDir: settings.genericNegativesDir,
    }),
  );
  return new ScopeHeads(face, object);
}
