// The folders of background lessons (one per job, see job.ts for what each
// holds): written whole or not at all, private to the process's user,
// deleted as one step, found again after a restart, and the record of each
// job's runs (attempts.json) that tells a crash from an orderly end.
import { chmodSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { encodePng, type RgbImage } from '../image/decode.ts';
import { moduleLogger } from '../log.ts';
import { readJsonIfPresent, writeFileAtomic, writeJsonAtomic } from './checkpoint.ts';
import { JOB_FILES, type EmbeddingJobSpec, type StoredResult } from './job.ts';

const logger = moduleLogger('teach-jobs');

/** Mode of the jobs folder, every job folder and its staging folder: the owner's only. */
const PRIVATE_DIR_MODE = 0o700;

/** Crashes after which a lesson is set aside instead of retried from its last checkpoint. */
export const CRASHES_BEFORE_SET_ASIDE = 2;

/** What the owner records about a job's runs (attempts.json in its folder). */
export interface JobAttempts {
  /** Written just before a run starts, cleared by every orderly outcome; found at a start, it means the process died mid-lesson. */
  running: { since: string; pid: number } | null;
  /** Each crash: the worker died without an outcome, or the process died while the lesson ran. */
  crashes: { at: string; reason: string }[];
  /** Set after the second crash: the lesson is not run again; `reported` once its chat was told. */
  setAside: { at: string; reported: boolean } | null;
}

const FRESH_ATTEMPTS: JobAttempts = Object.freeze({ running: null, crashes: [], setAside: null });

/** The jobs folder. */
export class JobFolders {
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
    chmodSync(dir, PRIVATE_DIR_MODE);
  }

  /** The folder of a job. */
  path(id: string): string {
    return path.join(this.dir, id);
  }

  exists(id: string): boolean {
    return existsSync(this.path(id));
  }

  /**
   * Writes a job's folder (photos as lossless PNG, then job.json) under a
   * staging name and renames it into place, replacing any folder of the same
   * job: it appears whole or not at all. Returns the spec with its photo files.
   */
  async write(
    spec: Omit<EmbeddingJobSpec, 'photos'>,
    photos: readonly { image: RgbImage; caption: string | null }[],
  ): Promise<EmbeddingJobSpec> {
    const staging = `${this.path(spec.id)}.staging`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { mode: PRIVATE_DIR_MODE });
    chmodSync(staging, PRIVATE_DIR_MODE); // whatever the umask
    const files: EmbeddingJobSpec['photos'] = [];
    for (const [i, photo] of photos.entries()) {
      writeFileAtomic(path.join(staging, JOB_FILES.photo(i)), await encodePng(photo.image));
      files.push({ file: JOB_FILES.photo(i), caption: photo.caption });
    }
    const whole: EmbeddingJobSpec = { ...spec, photos: files };
    writeJsonAtomic(path.join(staging, JOB_FILES.spec), whole);
    this.remove(spec.id);
    renameSync(staging, this.path(spec.id));
    return whole;
  }

  /**
   * Deletes a job folder as one step: renamed out of the way first, so a
   * crash halfway through the deletion leaves a `.deleting` folder that the
   * next start removes, never a job folder missing its job.json (which no
   * later cancel or forget could find).
   */
  remove(id: string): void {
    const doomed = `${this.path(id)}.deleting`;
    rmSync(doomed, { recursive: true, force: true });
    try {
      renameSync(this.path(id), doomed);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    rmSync(doomed, { recursive: true, force: true });
  }

  /**
   * The specs of every job folder, after removing what crashes left behind
   * (interrupted deletions, and staging folders no start is writing now).
   */
  specs(isBeingWritten: (id: string) => boolean): EmbeddingJobSpec[] {
    const specs: EmbeddingJobSpec[] = [];
    for (const entry of readdirSync(this.dir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      if (entry.name.endsWith('.deleting')) {
        rmSync(path.join(this.dir, entry.name), { recursive: true, force: true });
        continue;
      }
      if (entry.name.endsWith('.staging')) {
        if (!isBeingWritten(entry.name.slice(0, -'.staging'.length)))
          rmSync(path.join(this.dir, entry.name), { recursive: true, force: true });
        continue;
      }
      try {
        const spec = readJsonIfPresent<EmbeddingJobSpec>(path.join(this.dir, entry.name, JOB_FILES.spec));
        if (spec?.id === entry.name) specs.push(spec);
      } catch (error) {
        logger.warn({ err: error, job: entry.name }, 'unreadable job folder skipped');
      }
    }
    return specs;
  }

  /** Makes a folder written before folders were private the owner's only. */
  makePrivate(id: string): void {
    try {
      chmodSync(this.path(id), PRIVATE_DIR_MODE);
    } catch (error) {
      logger.warn({ err: error, job: id }, 'could not make a job folder private');
    }
  }

  /** The finished embedding of a job, or null. */
  result(id: string): StoredResult | null {
    return readJsonIfPresent<StoredResult>(path.join(this.path(id), JOB_FILES.result)) ?? null;
  }

  attempts(id: string): JobAttempts {
    try {
      const stored = readJsonIfPresent<Partial<JobAttempts>>(path.join(this.path(id), JOB_FILES.attempts));
      return {
        running: stored?.running ?? null,
        crashes: Array.isArray(stored?.crashes) ? stored.crashes : [],
        setAside: stored?.setAside ?? null,
      };
    } catch (error) {
      logger.warn({ err: error, job: id }, 'unreadable attempts file; counting from zero');
      return FRESH_ATTEMPTS;
    }
  }

  writeAttempts(id: string, attempts: JobAttempts): void {
    writeJsonAtomic(path.join(this.path(id), JOB_FILES.attempts), attempts);
  }

  /** Sets the running mark: the trace a death of the whole process leaves behind. */
  markRunning(id: string): void {
    this.writeAttempts(id, { ...this.attempts(id), running: { since: new Date().toISOString(), pid: process.pid } });
  }

  /** Clears the running mark after an orderly outcome that keeps the folder (shutdown, a result not yet stored). */
  clearMark(id: string): void {
    if (!this.exists(id)) return;
    try {
      this.writeAttempts(id, { ...this.attempts(id), running: null });
    } catch (error) {
      logger.warn({ err: error, job: id }, 'could not clear the running mark of a lesson');
    }
  }
}
