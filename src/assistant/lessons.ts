// Background lessons: after `/teach` has fit the concept head (usable at
// once), the concept's embedding is optimized for the configured VLM in a
// worker thread, from the concept's stored photos. The finished embedding is
// stored as one new version of the concept, only while the concept still
// has the photos it was learned from; `/forget` cancels the lesson; a
// restart resumes it, and gives a lesson to every concept taught before the
// VLM was configured. With MYVLM_QUEUE_URL the lessons run on `myvlm worker`
// processes instead (teach/queued-lessons.ts), told the same way.
import path from 'node:path';
import { EMBEDDING_TRAINING } from '../config/defaults.ts';
import { ConflictError } from '../errors.ts';
import { decodeImage, type DecodedImage, type ImageLimits } from '../image/decode.ts';
import { moduleLogger } from '../log.ts';
import type { ConceptEmbedding, ConceptRecord, PhotoRef } from '../memory/concept.ts';
import { ConceptNotFoundError, type ConceptStore } from '../memory/store.ts';
import type { EmbeddingJobSpec, JobEnvironment } from '../teach/job.ts';
import { EmbeddingJobs, type LessonJobs } from '../teach/jobs.ts';
import { QueuedLessons } from '../teach/queued-lessons.ts';
import { describeUpdate, type JobUpdate } from '../teach/job-updates.ts';
import type { PersonalVlm } from '../vlm/personal-vlm.ts';
import type { VlmProvider } from '../vlm/provider.ts';

const logger = moduleLogger('lessons');

/** Tries of the versioned save when other writes to the concept keep winning (each re-reads and checks again). */
export const SAVE_ATTEMPTS = 5;

/** Options of the lessons; defaults in the comments. */
export interface EmbeddingLessonsOptions {
  /** Limits for decoding the stored photos (default the decoder's own). */
  imageLimits?: ImageLimits;
  /** MYVLM_QUEUE_URL: lessons go on this BullMQ queue for `myvlm worker` processes (default: run here, in a worker thread). */
  queueUrl?: string | null;
}

export class EmbeddingLessons {
  private readonly jobs: LessonJobs;
  /** Lessons for concepts taught before the VLM was configured, being started (see resume). */
  private backfilling: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly store: ConceptStore,
    private readonly vlm: VlmProvider,
    private readonly dataDir: string,
    environment: JobEnvironment,
    private readonly options: EmbeddingLessonsOptions = {},
  ) {
    this.jobs = options.queueUrl
      ? new QueuedLessons(options.queueUrl)
      : new EmbeddingJobs({
          dir: path.join(dataDir, 'jobs'),
          environment,
          save: (spec, embedding) => saveLessonEmbedding(this.store, spec, embedding),
        });
    this.jobs.onUpdate((update) =>
      logger.info({ conceptId: update.conceptId, state: update.state }, describeUpdate(update)),
    );
  }

  /**
   * At start: resumes the lessons a previous process left unfinished (a
   * lesson found crashed twice is set aside and reported instead), then, in
   * the background, starts a lesson for every concept of every scope that
   * has example photos but no embedding for the configured VLM and no
   * lesson (pending or set aside). Returns the resumed lessons' ids;
   * `whenIdle` also waits for the background part.
   */
  async resume(): Promise<string[]> {
    const ids = await this.jobs.resumePending();
    this.backfilling = this.startMissing().catch((error: unknown) =>
      logger.error({ err: error }, 'starting lessons for concepts without an embedding failed'),
    );
    return ids;
  }

  /**
   * Subscribes to progress ("Learning Rex: step 25 of 100 (loss 0.84)"). The
   * listener first hears the latest state of every lesson in progress and the
   * lessons this process set aside, so messengers that subscribe after the
   * start still show what the start did.
   */
  onUpdate(listener: (update: JobUpdate, line: string) => void): () => void {
    return this.jobs.onUpdate((update) => listener(update, describeUpdate(update)), { replay: true });
  }

  /**
   * Starts (or restarts) the lesson of a concept from its stored example
   * photos (the most recent EMBEDDING_TRAINING.maxPhotosPerStep, with their
   * captions); returns a sentence for the reply, or null when the VLM cannot
   * be taught here (the log says why).
   */
  async start(concept: ConceptRecord): Promise<string | null> {
    const vlm = await this.loadVlm();
    if (!vlm) return null;
    if (!(await this.startOn(vlm, concept))) return null;
    return `I'm also learning to describe ${concept.name} by name; /concepts shows how far I am.`;
  }

  /** The lesson's latest state for `/concepts`, or null when there is none. */
  progress(concept: ConceptRecord): string | null {
    const update = this.jobs.list().find((u) => u.scope === concept.scope && u.conceptId === concept.id);
    return update && update.state !== 'done' ? describeUpdate(update) : null;
  }

  /** Resolves when no lesson is queued, running or about to be started (tests, orderly shutdown). */
  async whenIdle(): Promise<void> {
    await this.backfilling;
    await this.jobs.whenIdle();
  }

  /** The folder of a concept's lesson on the configured model (exists while it is pending or set aside). */
  jobFolder(concept: ConceptRecord, modelId: string): string {
    return path.join(this.dataDir, 'jobs', EmbeddingJobs.jobId(concept.scope, concept.id, modelId));
  }

  /** Cancels the concept's lessons and erases their folders, set-aside ones included. */
  cancel(concept: ConceptRecord): Promise<number> {
    return this.jobs.cancelConcept(concept.scope, concept.id);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.backfilling;
    await this.jobs.close();
  }

  /**
   * The VLM, or null when it cannot be loaded, whoever must act on that: it
   * disables lessons only. The provider has logged why (with the operator's
   * hint or the bug's stack).
   */
  private async loadVlm(): Promise<PersonalVlm | null> {
    try {
      return await this.vlm.get();
    } catch {
      logger.warn({ vlm: this.vlm.spec }, 'no lesson: the vision-language model cannot be loaded');
      return null;
    }
  }

  /** Starts the lesson of `concept` on `vlm` from its stored photos; false when it has none that can be read. */
  private async startOn(vlm: PersonalVlm, concept: ConceptRecord): Promise<boolean> {
    const photos = await this.lessonPhotos(concept);
    if (photos.length === 0) {
      logger.warn(
        { scope: concept.scope, conceptId: concept.id },
        'no lesson: the concept has no readable example photos',
      );
      return false;
    }
    await this.jobs.start({
      scope: concept.scope,
      conceptId: concept.id,
      modelId: vlm.id,
      modelDir: vlm.dir,
      dtype: vlm.model.dtypes,
      family: vlm.family,
      concept: { identifier: concept.identifier, name: concept.name, kind: concept.kind },
      photos: photos.map((p) => ({ image: p.image, caption: p.ref.caption })),
      learnedFrom: { conceptVersion: concept.version, photos: photos.map((p) => p.ref.sha256) },
    });
    return true;
  }

  /** The most recent example photos of the concept that can be read, at most EMBEDDING_TRAINING.maxPhotosPerStep. */
  private async lessonPhotos(concept: ConceptRecord): Promise<{ ref: PhotoRef; image: DecodedImage }[]> {
    const newestFirst = concept.photos
      .map((ref, order) => ({ ref, order }))
      .filter(({ ref }) => ref.role === 'example')
      // Newest teaching first; photos of one teach keep the order they were sent in.
      .sort((a, b) => (a.ref.addedAt < b.ref.addedAt ? 1 : a.ref.addedAt > b.ref.addedAt ? -1 : a.order - b.order));
    const photos: { ref: PhotoRef; image: DecodedImage }[] = [];
    for (const { ref } of newestFirst) {
      if (photos.length >= EMBEDDING_TRAINING.maxPhotosPerStep) break;
      const bytes = await this.store.getPhoto(concept.scope, ref.sha256);
      if (!bytes) {
        logger.warn(
          { scope: concept.scope, conceptId: concept.id, sha256: ref.sha256 },
          'a stored teaching photo is missing; the lesson goes without it',
        );
        continue;
      }
      try {
        photos.push({ ref, image: await decodeImage(bytes, this.options.imageLimits) });
      } catch (error) {
        logger.warn(
          { err: error, scope: concept.scope, conceptId: concept.id, sha256: ref.sha256 },
          'a stored teaching photo cannot be decoded; the lesson goes without it',
        );
      }
    }
    return photos;
  }

  /** The background part of `resume`: a lesson for every concept with example photos and nothing learned for this VLM. */
  private async startMissing(): Promise<void> {
    const candidates: ConceptRecord[] = [];
    for (const scope of await this.store.scopes()) {
      for (const concept of await this.store.list(scope))
        if (concept.photos.some((p) => p.role === 'example')) candidates.push(concept);
    }
    // The VLM loads only when some concept might need it (it would load at the first photo anyway).
    if (candidates.length === 0 || this.closed) return;
    const vlm = await this.loadVlm();
    if (!vlm) return;
    let started = 0;
    for (const listed of candidates) {
      if (this.closed) return;
      if (listed.embeddings[vlm.id] || this.jobs.has(EmbeddingJobs.jobId(listed.scope, listed.id, vlm.id))) continue;
      // Read again: a /teach or /forget may have come first (a /teach starts its own lesson).
      const concept = await this.store.get(listed.scope, listed.id);
      if (
        !concept ||
        concept.embeddings[vlm.id] ||
        this.jobs.has(EmbeddingJobs.jobId(concept.scope, concept.id, vlm.id))
      )
        continue;
      try {
        if (await this.startOn(vlm, concept)) started += 1;
      } catch (error) {
        logger.error(
          { err: error, scope: concept.scope, conceptId: concept.id },
          'could not start the lesson of a concept without an embedding',
        );
      }
    }
    if (started > 0)
      logger.info(
        { started, model: vlm.id },
        'started lessons for concepts that had none for this vision-language model',
      );
  }
}

/**
 * Stores a finished lesson's embedding as one new version of its concept,
 * checked against what the lesson learned from: the concept must still exist
 * and still have every example photo the lesson used (`spec.learnedFrom`).
 * The check and the write are one versioned update (re-read and checked
 * again when another write came first), so an embedding never lands on a
 * concept that was forgotten or re-taught with other photos meanwhile.
 * Resolves whether it stored the embedding; the log says why not.
 */
export async function saveLessonEmbedding(
  store: ConceptStore,
  spec: EmbeddingJobSpec,
  embedding: ConceptEmbedding,
): Promise<boolean> {
  const learnedFrom = spec.learnedFrom?.photos ?? [];
  const context = {
    job: spec.id,
    scope: spec.scope,
    conceptId: spec.conceptId,
    model: spec.modelId,
    learnedFromVersion: spec.learnedFrom?.conceptVersion,
  };
  for (let attempt = 1; ; attempt += 1) {
    const concept = await store.get(spec.scope, spec.conceptId);
    if (!concept) {
      logger.info(context, 'lesson not stored: its concept was forgotten');
      return false;
    }
    const examples = new Set(concept.photos.filter((p) => p.role === 'example').map((p) => p.sha256));
    const missing = learnedFrom.filter((sha256) => !examples.has(sha256));
    if (missing.length > 0) {
      logger.info(
        { ...context, version: concept.version, missing: missing.length },
        'lesson not stored: its concept no longer has the photos it learned from (re-taught with other photos)',
      );
      return false;
    }
    try {
      await store.update(spec.scope, spec.conceptId, concept.version, (draft) => {
        draft.embeddings[spec.modelId] = embedding;
      });
      return true;
    } catch (error) {
      if (error instanceof ConceptNotFoundError) continue; // forgotten since the read: the next read says so
      if (error instanceof ConflictError && attempt < SAVE_ATTEMPTS) continue;
      throw error;
    }
  }
}
