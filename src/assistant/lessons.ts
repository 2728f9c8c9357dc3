// Background lessons: after `/teach` has fit the concept head (usable at
// once), the concept's embedding is optimized for the configured VLM in a
// worker thread. The finished embedding is stored as one new version of the
// concept; `/forget` cancels the lesson; a restart resumes it.
import path from 'node:path';
import { isUserError } from '../errors.ts';
import type { DecodedImage } from '../image/decode.ts';
import { moduleLogger } from '../log.ts';
import type { ConceptRecord } from '../memory/concept.ts';
import type { ConceptStore } from '../memory/store.ts';
import type { JobEnvironment } from '../teach/job.ts';
import { describeUpdate, EmbeddingJobs, type JobUpdate } from '../teach/jobs.ts';
import type { VlmProvider } from '../vlm/provider.ts';

const logger = moduleLogger('lessons');

export class EmbeddingLessons {
  private readonly jobs: EmbeddingJobs;

  constructor(
    private readonly store: ConceptStore,
    private readonly vlm: VlmProvider,
    private readonly dataDir: string,
    environment: JobEnvironment,
  ) {
    this.jobs = new EmbeddingJobs({
      dir: path.join(dataDir, 'jobs'),
      environment,
      save: async (spec, embedding) => {
        // A concept forgotten meanwhile has nothing to save into.
        if (!(await this.store.get(spec.scope, spec.conceptId))) return;
        await this.store.modify(spec.scope, spec.conceptId, (draft) => {
          draft.embeddings[spec.modelId] = embedding;
        });
      },
    });
    this.jobs.onUpdate((update) => logger.info({ conceptId: update.conceptId, state: update.state }, describeUpdate(update)));
  }

  /** Resumes lessons a previous process left unfinished. */
  resume(): Promise<string[]> {
    return this.jobs.resumePending();
  }

  /** Subscribes to progress ("Learning Rex: step 25 of 100 (loss 0.84)"). */
  onUpdate(listener: (update: JobUpdate, line: string) => void): () => void {
    return this.jobs.onUpdate((update) => listener(update, describeUpdate(update)));
  }

  /**
   * Starts (or restarts, with more photos) the lesson of a concept; returns a
   * sentence for the reply, or null when the VLM cannot be taught here.
   */
  async start(concept: ConceptRecord, photos: ReadonlyArray<{ image: DecodedImage; caption: string | null }>): Promise<string | null> {
    let vlm;
    try {
      vlm = await this.vlm.get();
    } catch (error) {
      if (isUserError(error)) return null;
      throw error;
    }
    await this.jobs.start({
      scope: concept.scope,
      conceptId: concept.id,
      modelId: vlm.id,
      modelDir: vlm.dir,
      dtype: vlm.model.dtypes,
      family: vlm.family,
      concept: { identifier: concept.identifier, name: concept.name, kind: concept.kind },
      photos: photos.map((p) => ({ image: p.image, caption: p.caption })),
    });
    return `I'm also learning to describe ${concept.name} by name; /concepts shows how far I am.`;
  }

  /** The lesson's latest state for `/concepts`, or null when there is none. */
  progress(concept: ConceptRecord): string | null {
    const update = this.jobs.list().find((u) => u.scope === concept.scope && u.conceptId === concept.id);
    return update && update.state !== 'done' ? describeUpdate(update) : null;
  }

  /** Resolves when no lesson is queued or running (tests, orderly shutdown). */
  whenIdle(): Promise<void> {
    return this.jobs.whenIdle();
  }

  /** The folder of a concept's lesson on the configured model (exists while it is pending). */
  jobFolder(concept: ConceptRecord, modelId: string): string {
    return path.join(this.dataDir, 'jobs', EmbeddingJobs.jobId(concept.scope, concept.id, modelId));
  }

  cancel(concept: ConceptRecord): Promise<number> {
    return this.jobs.cancelConcept(concept.scope, concept.id);
  }

  close(): Promise<void> {
    return this.jobs.close();
  }
}
