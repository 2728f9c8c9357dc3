// Background teaching jobs: worker threads, progress, storing the result,
// cancellation, and surviving a SIGKILL of the whole process mid-training.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyLlava } from '../../src/onnx/tiny/factory.ts';
import type { ConceptEmbedding } from '../../src/memory/concept.ts';
import type { StoredCheckpoint } from '../../src/teach/checkpoint.ts';
import { JOB_FILES, type EmbeddingJobSpec } from '../../src/teach/job.ts';
import { EmbeddingJobs, type JobUpdate } from '../../src/teach/jobs.ts';
import { syntheticScene } from '../../src/teach/synthetic-photos.ts';
import { REPO_ROOT } from '../support/paths.ts';
import { TEST_JOB, testEnvironment } from './fixtures/test-job.ts';

let scratch: string;
let modelDir: string;
const photos = () => [0, 1].map((i) => ({ image: syntheticScene(i, 'concept').image, caption: 'sks on the grass.' }));

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

describe('EmbeddingJobs', () => {
  it('trains in a worker thread, reports every step, stores the embedding and cleans up', async () => {
    const dir = path.join(scratch, 'jobs-a');
    const saved: { spec: EmbeddingJobSpec; embedding: ConceptEmbedding }[] = [];
    const jobs = new EmbeddingJobs({ environment: testEnvironment(path.join(scratch, 'cache')), dir, save: async (spec, embedding) => void saved.push({ spec, embedding }) });
    const updates = collect(jobs);
    const id = await jobs.start({ ...TEST_JOB, modelDir, photos: photos(), training: { steps: 12, checkpointEvery: 5 } });
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
    const jobs = new EmbeddingJobs({ environment: testEnvironment(path.join(scratch, 'cache')), dir, save: async () => void saves++ });
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

  it('resumes from the last checkpoint after the process is killed with SIGKILL, and ends where an uninterrupted run ends', async () => {
    const dir = path.join(scratch, 'jobs-c');
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'test/teach/fixtures/teach-child.ts'), dir, modelDir], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const id = EmbeddingJobs.jobId(TEST_JOB.scope, TEST_JOB.conceptId, TEST_JOB.modelId);
    const checkpointFile = path.join(dir, id, JOB_FILES.checkpoint);
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    // Kill it as soon as the first checkpoint is on disk, mid-run.
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (existsSync(checkpointFile)) {
          clearInterval(timer);
          child.kill('SIGKILL');
          resolve();
        }
      }, 5);
      child.on('exit', () => {
        clearInterval(timer);
        reject(new Error('the child finished before it could be killed'));
      });
    });
    expect(await exited).toBe('SIGKILL');
    const checkpoint = JSON.parse(readFileSync(checkpointFile, 'utf8')) as StoredCheckpoint;
    expect(checkpoint.step % 10).toBe(0);
    expect(checkpoint.step).toBeLessThan(60);
    expect(existsSync(path.join(dir, id, JOB_FILES.result))).toBe(false);

    const saved: ConceptEmbedding[] = [];
    const jobs = new EmbeddingJobs({ environment: testEnvironment(path.join(scratch, 'cache')), dir, save: async (_spec, embedding) => void saved.push(embedding) });
    const updates = collect(jobs);
    expect(await jobs.resumePending()).toEqual([id]);
    await jobs.whenIdle();
    const steps = updates.flatMap((u) => (u.state === 'training' ? [u.step] : []));
    expect(steps[0]).toBe(checkpoint.step + 1);
    expect(steps.at(-1)).toBe(60);
    expect(saved).toHaveLength(1);
    await jobs.close();

    // The same job run without interruption (on this thread) ends with the same vector.
    const reference: ConceptEmbedding[] = [];
    const inline = new EmbeddingJobs({ environment: testEnvironment(path.join(scratch, 'cache')), dir: path.join(scratch, 'jobs-d'), threads: 'inline', save: async (_spec, embedding) => void reference.push(embedding) });
    await inline.start({ ...TEST_JOB, modelDir, photos: photos() });
    await inline.whenIdle();
    expect(Array.from(saved[0].vector)).toEqual(Array.from(reference[0].vector));
  }, 90_000);
});
