// Background teaching jobs: worker threads, progress, storing the result,
// cancellation, surviving a SIGKILL of the whole process mid-training, and
// setting aside a lesson that crashes twice (its worker out of memory, or
// its process killed), with private folders and files throughout.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyLlava } from '../../src/onnx/tiny/factory.ts';
import type { ConceptEmbedding } from '../../src/memory/concept.ts';
import type { StoredCheckpoint } from '../../src/teach/checkpoint.ts';
import { JOB_FILES, type EmbeddingJobSpec } from '../../src/teach/job.ts';
import { EmbeddingJobs } from '../../src/teach/jobs.ts';
import { describeUpdate, type JobUpdate } from '../../src/teach/job-updates.ts';
import type { JobAttempts } from '../../src/teach/job-folders.ts';
import { syntheticScene } from '../../src/teach/miniature/scenes.ts';
import { REPO_ROOT } from '../support/paths.ts';
import { TEST_JOB, testEnvironment } from './fixtures/test-job.ts';

let scratch: string;
let modelDir: string;
const photos = () => [0, 1].map((i) => ({ image: syntheticScene(i, 'concept').image, caption: 'sks on the grass.' }));
const jobId = EmbeddingJobs.jobId(TEST_JOB.scope, TEST_JOB.conceptId, TEST_JOB.modelId);
const SET_ASIDE_LINE =
  "I couldn't finish learning to describe Rex: the lesson stopped unexpectedly twice, so I've set it aside. Teach Rex again to retry.";

beforeAll(async () => {
  scratch = mkdtempSync(path.join(tmpdir(), 'myvlm-jobs-'));
  modelDir = (await writeTinyLlava(path.join(scratch, 'model'), { seed: 5 })).dir;
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function collect(jobs: EmbeddingJobs): JobUpdate[] {
  const updates: JobUpdate[] = [];
  jobs.onUpdate((u) => updates.push(u));
  return updates;
}

const modeOf = (file: string) => statSync(file).mode & 0o777;

/** The jobs folder and the job folder are 0700, and the job folder holds exactly `files`, each 0600. */
function expectPrivate(jobDir: string, files: string[]): void {
  expect(modeOf(path.dirname(jobDir)).toString(8)).toBe('700');
  expect(modeOf(jobDir).toString(8)).toBe('700');
  expect(readdirSync(jobDir).sort()).toEqual([...files].sort());
  for (const file of files) expect(`${file} ${modeOf(path.join(jobDir, file)).toString(8)}`).toBe(`${file} 600`);
}

const readAttempts = (jobDir: string) =>
  JSON.parse(readFileSync(path.join(jobDir, JOB_FILES.attempts), 'utf8')) as JobAttempts;
const checkpointStep = (jobDir: string) =>
  existsSync(path.join(jobDir, JOB_FILES.checkpoint))
    ? (JSON.parse(readFileSync(path.join(jobDir, JOB_FILES.checkpoint), 'utf8')) as StoredCheckpoint).step
    : 0;

/** Runs teach-child.ts (`start` the test job, or `resume` the folders) and kills it with SIGKILL as soon as `ready()` holds; returns its pid. */
async function killChildWhen(dir: string, mode: 'start' | 'resume', ready: () => boolean): Promise<number> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(REPO_ROOT, 'test/teach/fixtures/teach-child.ts'), dir, modelDir, mode],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stdout.resume();
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (ready()) {
        clearInterval(timer);
        child.kill('SIGKILL');
        resolve();
      }
    }, 5);
    child.on('exit', () => {
      clearInterval(timer);
      reject(new Error(`the child finished before it could be killed: ${stderr.slice(-2000)}`));
    });
  });
  expect(await exited).toBe('SIGKILL');
  return child.pid as number;
}

describe('EmbeddingJobs', () => {
  it('trains in a worker thread, reports every step, stores the embedding and cleans up', async () => {
    const dir = path.join(scratch, 'jobs-a');
    const saved: { spec: EmbeddingJobSpec; embedding: ConceptEmbedding }[] = [];
    const jobs = new EmbeddingJobs({
      environment: testEnvironment(path.join(scratch, 'cache')),
      dir,
      save: (spec, embedding) => {
        saved.push({ spec, embedding });
        return Promise.resolve();
      },
    });
    const updates = collect(jobs);
    const id = await jobs.start({
      ...TEST_JOB,
      modelDir,
      photos: photos(),
      training: { steps: 12, checkpointEvery: 5 },
    });
    expect(existsSync(path.join(dir, id, JOB_FILES.spec))).toBe(true);
    // Training happens off this thread: its event loop keeps turning while the job runs.
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    await jobs.whenIdle();
    delay.disable();
    expect(delay.max / 1e6).toBeLessThan(250);
    const steps = updates.filter((u) => u.state === 'training').map((u) => (u.state === 'training' ? u.step : 0));
    expect(steps).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(updates[0].state).toBe('queued');
    expect(updates.at(-1)).toMatchObject({ state: 'done', steps: 12, jobId: id, name: 'Rex' });
    expect(saved).toHaveLength(1);
    expect(saved[0].spec.modelId).toBe('tiny-llava');
    expect(saved[0].embedding.vector).toHaveLength(64);
    expect(saved[0].embedding.steps).toBe(12);
    expect(Number.isFinite(saved[0].embedding.finalLoss)).toBe(true);
    expect(readdirSync(dir)).toEqual([]);
    await jobs.close();
  }, 60_000);

  it('cancels a running job: no embedding is stored and its folder is gone', async () => {
    const dir = path.join(scratch, 'jobs-b');
    let saves = 0;
    const jobs = new EmbeddingJobs({
      environment: testEnvironment(path.join(scratch, 'cache')),
      dir,
      save: () => {
        saves++;
        return Promise.resolve();
      },
    });
    const updates = collect(jobs);
    const id = await jobs.start({ ...TEST_JOB, modelDir, photos: photos(), training: { steps: 5000 } });
    await new Promise<void>((resolve) => jobs.onUpdate((u) => u.state === 'training' && u.step >= 3 && resolve()));
    expect(await jobs.cancelConcept(TEST_JOB.scope, TEST_JOB.conceptId)).toBe(1);
    await jobs.whenIdle();
    expect(updates.at(-1)).toMatchObject({ state: 'cancelled', jobId: id });
    expect(saves).toBe(0);
    expect(existsSync(path.join(dir, id))).toBe(false);
    await jobs.close();
  }, 60_000);

  it('counts no crash for an orderly shutdown: close() clears the running mark and the next start resumes the lesson', async () => {
    const dir = path.join(scratch, 'jobs-closed');
    const jobDir = path.join(dir, jobId);
    const jobs = new EmbeddingJobs({
      environment: testEnvironment(path.join(scratch, 'cache')),
      dir,
      save: async () => {},
    });
    await jobs.start({ ...TEST_JOB, modelDir, photos: photos(), training: { steps: 5000 } });
    await new Promise<void>((resolve) => jobs.onUpdate((u) => u.state === 'training' && u.step >= 2 && resolve()));
    expect(readAttempts(jobDir).running?.pid).toBe(process.pid);
    await jobs.close();
    expect(readAttempts(jobDir)).toEqual({ running: null, crashes: [], setAside: null });
    const next = new EmbeddingJobs({
      environment: testEnvironment(path.join(scratch, 'cache')),
      dir,
      save: async () => {},
    });
    expect(await next.resumePending()).toEqual([jobId]);
    expect(readAttempts(jobDir)).toMatchObject({ running: { pid: process.pid }, crashes: [], setAside: null });
    await next.close();
    expect(readAttempts(jobDir).crashes).toEqual([]);
  }, 60_000);

  it('resumes from the last checkpoint after the process is killed with SIGKILL (one crash), and ends where an uninterrupted run ends', async () => {
    const dir = path.join(scratch, 'jobs-c');
    const jobDir = path.join(dir, jobId);
    const checkpointFile = path.join(jobDir, JOB_FILES.checkpoint);
    // Kill it as soon as the first checkpoint is on disk, mid-run.
    const childPid = await killChildWhen(dir, 'start', () => existsSync(checkpointFile));
    const checkpoint = JSON.parse(readFileSync(checkpointFile, 'utf8')) as StoredCheckpoint;
    expect(checkpoint.step % 10).toBe(0);
    expect(checkpoint.step).toBeLessThan(60);
    expect(existsSync(path.join(jobDir, JOB_FILES.result))).toBe(false);
    // The dead process left its running mark, and every copy of the photos and what was learned is private.
    expect(readAttempts(jobDir)).toMatchObject({ running: { pid: childPid }, crashes: [], setAside: null });
    expectPrivate(jobDir, [
      JOB_FILES.spec,
      JOB_FILES.photo(0),
      JOB_FILES.photo(1),
      JOB_FILES.targets,
      JOB_FILES.checkpoint,
      JOB_FILES.attempts,
    ]);

    const saved: ConceptEmbedding[] = [];
    const jobs = new EmbeddingJobs({
      environment: testEnvironment(path.join(scratch, 'cache')),
      dir,
      save: (_spec, embedding) => {
        saved.push(embedding);
        return Promise.resolve();
      },
    });
    const updates = collect(jobs);
    expect(await jobs.resumePending()).toEqual([jobId]);
    // Counted as one crash, and marked as running again, now by this process.
    const attempts = readAttempts(jobDir);
    expect(attempts.crashes).toHaveLength(1);
    expect(attempts.crashes[0].reason).toMatch(
      new RegExp(`^the process stopped while the lesson ran \\(pid ${childPid},`),
    );
    expect(attempts.running?.pid).toBe(process.pid);
    expect(attempts.setAside).toBeNull();
    await jobs.whenIdle();
    const steps = updates.flatMap((u) => (u.state === 'training' ? [u.step] : []));
    expect(steps[0]).toBe(checkpoint.step + 1);
    expect(steps.at(-1)).toBe(60);
    expect(updates.at(-1)).toMatchObject({ state: 'done', steps: 60 });
    expect(saved).toHaveLength(1);
    expect(existsSync(jobDir)).toBe(false);
    await jobs.close();

    // The same job run without interruption (on this thread) ends with the same vector.
    const reference: ConceptEmbedding[] = [];
    const inline = new EmbeddingJobs({
      environment: testEnvironment(path.join(scratch, 'cache')),
      dir: path.join(scratch, 'jobs-d'),
      threads: 'inline',
      save: (_spec, embedding) => {
        reference.push(embedding);
        return Promise.resolve();
      },
    });
    await inline.start({ ...TEST_JOB, modelDir, photos: photos() });
    await inline.whenIdle();
    expect(Array.from(saved[0].vector)).toEqual(Array.from(reference[0].vector));
  }, 90_000);
  it('sets aside a lesson whose worker runs out of memory twice: reported once, kept out of restarts, erased or replaced like any job', async () => {
    const dir = path.join(scratch, 'jobs-oom');
    const jobDir = path.join(dir, jobId);
    let saves = 0;
    // Heap limits a lesson fits in (the tiny lesson needs under 48 MiB), and a job whose
    // 48 MiB caption the worker cannot even read under them: a real ERR_WORKER_OUT_OF_MEMORY.
    const openJobs = () =>
      new EmbeddingJobs({
        environment: testEnvironment(path.join(scratch, 'cache')),
        dir,
        resourceLimits: { maxOldGenerationSizeMb: 64 },
        save: () => {
          saves++;
          return Promise.resolve();
        },
      });
    const jobs = openJobs();
    const updates = collect(jobs);
    await jobs.start({
      ...TEST_JOB,
      modelDir,
      photos: [{ image: syntheticScene(0, 'concept').image, caption: 'sks '.repeat(12 * 2 ** 20) }],
      training: { steps: 3 },
    });
    await jobs.whenIdle();
    // Retried once (queued again), then set aside with a sentence for the chat; this process lives on.
    expect(updates.map((u) => u.state)).toEqual(['queued', 'queued', 'failed']);
    const last = updates.at(-1)!;
    expect(last).toMatchObject({
      state: 'failed',
      setAside: true,
      actor: 'user',
      jobId,
      scope: TEST_JOB.scope,
      conceptId: TEST_JOB.conceptId,
    });
    expect(describeUpdate(last)).toBe(SET_ASIDE_LINE);
    expect(saves).toBe(0);
    const attempts = readAttempts(jobDir);
    expect(attempts.crashes.map((c) => c.reason.split(':')[0])).toEqual([
      'ERR_WORKER_OUT_OF_MEMORY',
      'ERR_WORKER_OUT_OF_MEMORY',
    ]);
    expect(attempts.running).toBeNull();
    expect(attempts.setAside?.reported).toBe(true);
    // The folder stays for the operator, private.
    expectPrivate(jobDir, [JOB_FILES.spec, JOB_FILES.photo(0), JOB_FILES.attempts]);
    // A listener that subscribes later (a messenger after the start) still hears it, once.
    const late: JobUpdate[] = [];
    jobs.onUpdate((u) => late.push(u), { replay: true });
    expect(late).toEqual([last]);
    await jobs.close();

    // A restart neither resumes it nor reports it again.
    const restarted = openJobs();
    const again = collect(restarted);
    expect(await restarted.resumePending()).toEqual([]);
    await restarted.whenIdle();
    expect(again).toEqual([]);
    expect(restarted.has(jobId)).toBe(true);
    expect(readAttempts(jobDir).crashes).toHaveLength(2);
    // A new lesson of the concept replaces it, and runs (under the same limits) to the end.
    await restarted.start({ ...TEST_JOB, modelDir, photos: photos(), training: { steps: 3 } });
    await restarted.whenIdle();
    expect(again.map((u) => u.state)).toEqual([
      'queued',
      'preparing',
      'preparing',
      'training',
      'training',
      'training',
      'done',
    ]);
    expect(saves).toBe(1);
    expect(existsSync(jobDir)).toBe(false);
    await restarted.close();
  }, 60_000);

  it('sets aside, at the next start, a lesson whose process was killed twice; forgetting its concept erases it', async () => {
    const dir = path.join(scratch, 'jobs-killed-twice');
    const jobDir = path.join(dir, jobId);
    const first = await killChildWhen(dir, 'start', () => checkpointStep(jobDir) >= 10);
    // The second process resumes it (one crash so far) and dies too.
    const second = await killChildWhen(dir, 'resume', () => checkpointStep(jobDir) >= 20);
    expect(readAttempts(jobDir)).toMatchObject({ running: { pid: second }, setAside: null });
    expect(readAttempts(jobDir).crashes.map((c) => c.reason)).toEqual([expect.stringContaining(`(pid ${first},`)]);

    let saves = 0;
    const jobs = new EmbeddingJobs({
      environment: testEnvironment(path.join(scratch, 'cache')),
      dir,
      save: () => {
        saves++;
        return Promise.resolve();
      },
    });
    const updates = collect(jobs);
    expect(await jobs.resumePending()).toEqual([]);
    await jobs.whenIdle();
    expect(updates).toHaveLength(1);
    expect(updates[0]).toMatchObject({ state: 'failed', setAside: true, jobId });
    expect(describeUpdate(updates[0])).toBe(SET_ASIDE_LINE);
    expect(readAttempts(jobDir)).toMatchObject({ running: null, setAside: { reported: true } });
    expect(readAttempts(jobDir).crashes.map((c) => c.reason)).toEqual([
      expect.stringContaining(`(pid ${first},`),
      expect.stringContaining(`(pid ${second},`),
    ]);
    expect(saves).toBe(0);
    // /forget erases a set-aside lesson with the rest of the concept.
    expect(await jobs.cancelConcept(TEST_JOB.scope, TEST_JOB.conceptId)).toBe(1);
    expect(existsSync(jobDir)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
    await jobs.close();
  }, 90_000);
});
