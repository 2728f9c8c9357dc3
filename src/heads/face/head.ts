// The face concept head: detect, align and embed the faces of a photo once,
// then teach a person (choose keys) or match the scope's people against them.
// Models load on first use, so a missing model is a plain message, not a crash.
import type { RgbImage } from '../../image/decode.ts';
import type { FaceHeadParams } from '../../memory/concept.ts';
import type { FaceDetectorEntry, FaceRecognizerEntry, PerPersonRule } from '../../models/catalog/faces.ts';
import { resolveModel, type ResolveOptions } from '../../models/resolve.ts';
import type { SessionPool } from '../../models/session.ts';
import { moduleLogger } from '../../log.ts';
import {
  headProblem,
  type GroupTeachResult,
  type HeadProblem,
  type PersonSighting,
  type PhotoOutcome,
  type TeachResult,
  type UnusableFace,
} from '../types.ts';
import { alignFace, canAlign } from './align.ts';
import { OnnxFaceDetector, type DetectorOptions } from './detector.ts';
import { horizontalPosition } from '../../image/box.ts';
import { leftToRight } from './geometry.ts';
import {
  assignFaces,
  nearestKeySimilarity,
  personThresholds,
  toFaceHeadParams,
  unpackKeys,
  type PersonKeys,
} from './keys.ts';
import { OnnxFaceRecognizer } from './recognizer.ts';
import {
  addDistinctKey,
  chooseTeachingFaces,
  facesOfSomeoneElse,
  judgeKind,
  photoKindEvidence,
  type PhotoKindEvidence,
} from './teach.ts';
import type { DetectedFace, EmbeddedFace, FaceDetector, FaceRecognizer, FiveLandmarks } from './types.ts';

const logger = moduleLogger('face-head');

export interface FaceHeadOptions {
  detector: FaceDetectorEntry;
  recognizer: FaceRecognizerEntry;
  sessions: SessionPool;
  /** Where model files are found (models dir, cache, download policy). */
  resolve: ResolveOptions;
  /** Overrides the recognizer's measured threshold (cosine similarity); null or absent keeps it. */
  threshold?: number | null;
  /** Match each person at their own threshold (the recognizer's `perPerson` rule, where measured); absent or false: one threshold for all. */
  perPersonThresholds?: boolean;
  /** Detector overrides (input long side, minimum face size, score threshold). */
  detectorOptions?: DetectorOptions;
  /** Overrides the recognizer's flip averaging (evaluation compares both). */
  flipAverage?: boolean;
  /** Overrides the recognizer's smallest face it matches or learns (shorter box side, photo pixels). */
  minRecognizableFace?: number;
}

/** A person found in a photo: where, how sure, and the landmarks for drawing. */
export interface FaceSighting extends PersonSighting {
  /** Index into `FaceMatch.faces`. */
  faceIndex: number;
  landmarks: FiveLandmarks;
}

export interface FaceMatch {
  /** Every face found, matched or not, best detection score first. */
  faces: EmbeddedFace[];
  /** The people found, most similar first; each person at most once, each face at most once. */
  sightings: FaceSighting[];
  /** People skipped because their keys come from another recognizer (re-teach them from their photos). */
  incomparable: string[];
}

/** Per-photo teaching outcome, with how many faces the photo showed. */
export interface FacePhotoOutcome extends PhotoOutcome {
  facesFound: number;
}

export interface FaceTeachResult extends TeachResult<FaceHeadParams> {
  outcomes: FacePhotoOutcome[];
  /** Keys added by this call (a photo sent twice adds none). */
  keysAdded: number;
  /**
   * Accepted photos whose face shows someone else than the rest of the lesson
   * (see `facesOfSomeoneElse`); their keys are in `params` all the same, and
   * the caller decides whether to keep them. Always empty with a recognizer
   * whose `someoneElseBelow` was not measured.
   */
  someoneElse: number[];
}

/** A person of the scope whose keys match a face head's keys. */
export interface Lookalike {
  conceptId: string;
  similarity: number;
}

/**
 * The people head. One instance per (detector, recognizer) pair; sessions
 * come from the shared pool. Every method computes a photo's face features
 * once, whatever the number of people compared.
 *
 * ```ts
 * const head = new FaceHead({ detector, recognizer, sessions, resolve });
 * const anna = await head.teach(photosOfAnna, null);
 * const { sightings } = await head.match(photo, [{ conceptId: 'anna', params: anna.params }]);
 * ```
 */
export class FaceHead {
  readonly threshold: number;
  /** The per-person threshold rule matching uses, or null (everyone at `threshold`). */
  readonly perPersonRule: PerPersonRule | null;
  /** Faces smaller than this (shorter box side) are counted but not matched or taught. */
  readonly minRecognizableFace: number;
  private models: Promise<{ detector: FaceDetector; recognizer: FaceRecognizer }> | null = null;
  private saidUncheckedLessons = false;

  constructor(private readonly options: FaceHeadOptions) {
    this.threshold = options.threshold ?? options.recognizer.threshold;
    this.perPersonRule = options.perPersonThresholds ? options.recognizer.perPerson : null;
    this.minRecognizableFace = options.minRecognizableFace ?? options.recognizer.minFaceSize;
  }

  /** Registry id of the recognizer; stored in every face head it teaches. */
  get recognizerId(): string {
    return this.options.recognizer.id;
  }

  get detectorId(): string {
    return this.options.detector.id;
  }

  /** Null when both models can be loaded; otherwise what stops them (missing files: where to put them). A bug is thrown. */
  async availability(): Promise<HeadProblem | null> {
    try {
      await this.load();
      return null;
    } catch (error) {
      return headProblem(error);
    }
  }

  /** The faces in a photo, without embedding them (cheap: e.g. to guess whether a photo shows a person). */
  async detect(image: RgbImage): Promise<DetectedFace[]> {
    const { detector } = await this.load();
    return detector.detect(image);
  }

  /**
   * Every face of a photo with its L2-normalized embedding: one detector run
   * and one recognizer run over all faces large enough to recognize (smaller
   * ones come back with a null embedding).
   */
  async embedFaces(image: RgbImage): Promise<EmbeddedFace[]> {
    const { detector, recognizer } = await this.load();
    const faces = await detector.detect(image);
    const recognizable = faces.filter((face) => this.recognizable(face) && canAlign(face.landmarks));
    const embeddings = await recognizer.embed(
      recognizable.map((face) => alignFace(image, face.landmarks, recognizer.inputSize)),
    );
    const byFace = new Map(recognizable.map((face, i) => [face, embeddings[i]]));
    return faces.map((face) => ({ ...face, embedding: byFace.get(face) ?? null }));
  }

  /**
   * Learns a person from photos: one key per accepted photo, added to the
   * keys they already have (`existing`, null for a new person). Keys of
   * another recognizer cannot be compared and are dropped.
   */
  async teach(photos: readonly RgbImage[], existing: FaceHeadParams | null): Promise<FaceTeachResult> {
    const faces: EmbeddedFace[][] = [];
    for (const photo of photos) faces.push(await this.embedFaces(photo));
    return this.teachFromFaces(faces, existing);
  }

  /** `teach` over faces already embedded (the evaluation embeds every photo once and sweeps `threshold`). */
  teachFromFaces(
    photos: readonly (readonly EmbeddedFace[])[],
    existing: FaceHeadParams | null,
    threshold = this.threshold,
  ): FaceTeachResult {
    let known: Float32Array[] = [];
    if (existing && this.comparable(existing)) known = unpackKeys(existing);
    else if (existing)
      logger.warn(
        { recognizer: existing.recognizer, now: this.recognizerId },
        'dropping face keys of another recognizer',
      );
    const usable = photos.map((faces) => faces.filter((f) => this.usable(f)));
    const choices = chooseTeachingFaces(
      usable.map((faces) => faces.map((f) => f.embedding)),
      known,
      threshold,
    );
    const keys = [...known];
    let keysAdded = 0;
    const outcomes = choices.map((choice, index): FacePhotoOutcome => {
      const facesFound = photos[index].length;
      if (!choice.accepted && facesFound > 0 && usable[index].length === 0) {
        const reason = `the face${facesFound > 1 ? 's are' : ' is'} too small to learn from (under ${this.minRecognizableFace} pixels); use a closer photo.`;
        return { index, accepted: false, reason, facesFound };
      }
      if (!choice.accepted) return { index, accepted: false, reason: choice.reason, facesFound };
      if (addDistinctKey(keys, usable[index][choice.faceIndex].embedding)) keysAdded++;
      return { index, accepted: true, facesFound };
    });
    const taught = choices.flatMap((choice, index) =>
      choice.accepted ? [{ index, face: usable[index][choice.faceIndex] }] : [],
    );
    const someoneElse = this.someoneElseIn(
      taught.map((t) => t.face.embedding),
      known,
    ).map((i) => taught[i].index);
    return {
      params: toFaceHeadParams(this.recognizerId, this.options.recognizer.dims, keys),
      outcomes,
      keysAdded,
      someoneElse,
    };
  }

  /**
   * Learns one person per face of a group photo, the faces taken left to
   * right. Each person is taught from their own face exactly as `teach`
   * teaches from a photo of them alone, so a known person's face is checked
   * against their keys (`someoneElse`). Nobody is taught unless every face
   * can be learned from and there is one face per person.
   */
  async teachGroup(photo: RgbImage, existing: readonly (FaceHeadParams | null)[]): Promise<GroupTeachResult> {
    const faces = leftToRight(await this.embedFaces(photo));
    const unusable = faces.flatMap((face, i): UnusableFace[] => {
      if (this.usable(face)) return [];
      const reason = this.recognizable(face)
        ? 'it is turned too far from the camera to learn from.'
        : `it is too small to learn from (under ${this.minRecognizableFace} pixels).`;
      return [{ fromLeft: i + 1, reason }];
    });
    const people =
      faces.length === existing.length && unusable.length === 0
        ? faces.map((face, i) => {
            const { params, outcomes, someoneElse } = this.teachFromFaces([[face]], existing[i]);
            return { params, outcomes, someoneElse };
          })
        : null;
    return { facesFound: faces.length, unusable, people };
  }

  /**
   * Whether photos taught without a kind show a person: the detector's
   * scores tell human faces from the faces it also finds on pets, statues
   * and toys (calibration in teach.ts).
   */
  async guessKind(photos: readonly RgbImage[]): Promise<'person' | 'object' | 'unsure'> {
    const evidence: PhotoKindEvidence[] = [];
    for (const photo of photos) {
      const faces = await this.detect(photo);
      evidence.push(
        photoKindEvidence(
          faces.map((f) => f.score),
          this.detectorId,
        ),
      );
    }
    return judgeKind(evidence);
  }

  /** People whose keys match any of `params`' keys at the matching threshold, most similar first. */
  lookalikes(params: FaceHeadParams, people: readonly PersonKeys[]): Lookalike[] {
    if (!this.comparable(params)) return [];
    const keys = unpackKeys(params);
    return people
      .filter((p) => this.comparable(p.params))
      .map((p) => ({
        conceptId: p.conceptId,
        similarity: Math.max(...keys.map((key) => nearestKeySimilarity(key, p.params))),
      }))
      .filter((l) => l.similarity >= this.threshold)
      .sort((a, b) => b.similarity - a.similarity);
  }

  /** Finds the scope's people in a photo. */
  async match(image: RgbImage, people: readonly PersonKeys[]): Promise<FaceMatch> {
    const faces = await this.embedFaces(image);
    return this.matchFaces(faces, image.width, people);
  }

  /**
   * Each comparable person's threshold by `rule` (see `personThresholds`), or
   * null when there is no rule (everyone at `threshold`). It depends only on
   * the scope's keys, so a caller matching many photos against one scope
   * computes it once.
   */
  personThresholds(
    people: readonly PersonKeys[],
    threshold = this.threshold,
    rule = this.perPersonRule,
  ): ReadonlyMap<string, number> | null {
    if (!rule) return null;
    return personThresholds(
      people.filter((p) => this.comparable(p.params)),
      threshold,
      rule,
    );
  }

  /**
   * `match` over faces already embedded; `imageWidth` places each face left,
   * centre or right. `threshold` and `perPerson` default to the head's (the
   * evaluation compares others on the same faces).
   */
  matchFaces(
    faces: readonly EmbeddedFace[],
    imageWidth: number,
    people: readonly PersonKeys[],
    threshold = this.threshold,
    perPerson = this.personThresholds(people, threshold),
  ): FaceMatch {
    const comparable = people.filter((p) => this.comparable(p.params));
    const incomparable = people.filter((p) => !this.comparable(p.params)).map((p) => p.conceptId);
    const candidates = faces.flatMap((face, index) =>
      this.usable(face) ? [{ embedding: face.embedding, index }] : [],
    );
    const assignments = assignFaces(
      candidates.map((c) => c.embedding),
      comparable,
      threshold,
      perPerson ?? undefined,
    ).map((a) => ({ ...a, faceIndex: candidates[a.faceIndex].index }));
    const sightings = assignments.map(({ faceIndex, conceptId, similarity }): FaceSighting => {
      const face = faces[faceIndex];
      return {
        conceptId,
        similarity,
        box: face.box,
        position: horizontalPosition(face.box, imageWidth),
        faceIndex,
        landmarks: face.landmarks,
      };
    });
    return { faces: [...faces], sightings, incomparable };
  }

  /**
   * `facesOfSomeoneElse` at the recognizer's measured bound. Without one the
   * check is skipped rather than guessed: different people score at
   * different heights in each embedding space (median pair 0.02 with
   * MobileFaceNet, 0.85 with dlib's ResNet), so a borrowed bound would either
   * never fire or refuse honest lessons. Said once per head, in the log.
   */
  private someoneElseIn(faces: readonly Float32Array[], known: readonly Float32Array[]): number[] {
    const bound = this.options.recognizer.someoneElseBelow;
    if (bound !== null) return facesOfSomeoneElse(faces, known, bound);
    if (!this.saidUncheckedLessons) {
      logger.warn(
        { recognizer: this.recognizerId },
        'no measured "someone else" bound for this recognizer: lessons are not checked to show one person',
      );
      this.saidUncheckedLessons = true;
    }
    return [];
  }

  /** Whether a face is large enough for this recognizer to tell people apart. */
  recognizable(face: DetectedFace): boolean {
    return Math.min(face.box.width, face.box.height) >= this.minRecognizableFace;
  }

  /** Large enough, and embedded. */
  private usable(face: EmbeddedFace): face is EmbeddedFace & { embedding: Float32Array } {
    return face.embedding !== null && this.recognizable(face);
  }

  private comparable(params: FaceHeadParams): boolean {
    return params.recognizer === this.recognizerId && params.dims === this.options.recognizer.dims;
  }

  private load(): Promise<{ detector: FaceDetector; recognizer: FaceRecognizer }> {
    if (!this.models) {
      this.models = this.create().catch((error: unknown) => {
        this.models = null;
        throw error;
      });
    }
    return this.models;
  }

  private async create(): Promise<{ detector: FaceDetector; recognizer: FaceRecognizer }> {
    const { detector, recognizer, sessions, resolve } = this.options;
    const [detectorFiles, recognizerFiles] = await Promise.all([
      resolveModel(detector, resolve),
      resolveModel(recognizer, resolve),
    ]);
    const [detectorSession, recognizerSession] = await Promise.all([
      sessions.get(detectorFiles.files[detector.files[0].path]),
      sessions.get(recognizerFiles.files[recognizer.files[0].path]),
    ]);
    return {
      detector: new OnnxFaceDetector(detector, detectorSession, this.options.detectorOptions),
      recognizer: new OnnxFaceRecognizer(
        recognizer,
        recognizerSession,
        this.options.flipAverage ?? recognizer.flipAverage,
      ),
    };
  }
}
