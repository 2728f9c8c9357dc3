// Lessons on a BullMQ queue (MYVLM_QUEUE_URL) on a real redis-server, with
// the concept store on a real PostgreSQL: the bot core enqueues, two
// `myvlm worker --lessons` child processes train on the tiny generated
// LLaVA, and the workers' progress reaches the assistant's notices. A worker
// SIGKILLed mid-lesson: the other resumes the lesson from its last
// checkpoint. /forget cancels a queued lesson and a running one.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IncomingImage, Notice } from '../../src/assistant/turn.ts';
import { LESSON_QUEUE } from '../../src/config/defaults.ts';
import { EmbeddingJobs } from '../../src/teach/jobs.ts';
import { queueConnection } from '../../src/teach/lesson-queue.ts';
import { vlmIdForFolder } from '../../src/vlm/load.ts';
import { testAssistantWithTinyLlava } from '../support/assistant.ts';
import { SHARED_DATA } from '../support/paths.ts';
import { freshServerUrl, serverUrl } from '../support/servers.ts';
import { until, WorkerProcess } from '../support/workers.ts';

/** Redis databases and the PostgreSQL database of this file (server-stores uses 1, two-processes 2). */
const STORE_SLOT = 3;
const QUEUE_SLOT = 4;
/** Short locks, so a killed worker's lesson is retried within seconds. */
const STALL_MS = 2_000;

const billy = (n: number) => path.join(SHARED_DATA, 'myvlm', 'concepts', 'billy_dog', `billy_dog_${n}.jpg`);

async function photos(...files: string[]): Promise<IncomingImage[]> {
  return Promise.all(files.map(async (f) => ({ bytes: new Uint8Array(await readFile(f)), name: path.basename(f) })));
}

const redisBase = serverUrl('redis');
const postgresBase = serverUrl('postgres');

describe.skipIf(redisBase === null || postgresBase === null)(
  'lessons on BullMQ workers (real Redis queue, PostgreSQL store)',
  { timeout: 240_000 },
  () => {
    let runtime: Awaited<ReturnType<typeof testAssistantWithTinyLlava>>;
    let queue: Queue;
    let modelId: string;
    let workerEnv: Record<string, string>;
    const workers: WorkerProcess[] = [];
    const notices: Notice[] = [];

    const turn = async (scope: string, text: string, images: IncomingImage[] = []) =>
      (await runtime.assistant.handle({ scope, user: 'test:me', isScopeAdmin: false, images, text })).text;

    beforeAll(async () => {
      const storeUrl = await freshServerUrl('postgres', postgresBase!, STORE_SLOT);
      const queueUrl = await freshServerUrl('redis', redisBase!, QUEUE_SLOT);
      runtime = await testAssistantWithTinyLlava({ MYVLM_STORE_URL: storeUrl, MYVLM_QUEUE_URL: queueUrl });
      modelId = vlmIdForFolder(runtime.modelDir);
      runtime.assistant.onNotice((n) => notices.push(n));
      queue = new Queue(LESSON_QUEUE.name, { connection: queueConnection(queueUrl) });
      workerEnv = {
        MYVLM_STORE_URL: storeUrl,
        MYVLM_QUEUE_URL: queueUrl,
        MYVLM_QUEUE_STALL_MS: String(STALL_MS),
        MYVLM_CACHE_DIR: runtime.settings.cacheDir,
        MYVLM_OFFLINE: '1',
        MYVLM_THREADS: '1',
        MYVLM_LOG_LEVEL: 'info',
      };
    }, 120_000);

    afterAll(async () => {
      await Promise.all(workers.map((w) => w.stop()));
      await queue?.close();
      await runtime?.close();
    });

    it('/forget removes a lesson still waiting on the queue', async () => {
      const scope = 'test:queued-forget';
      expect(await turn(scope, '/teach Rex object', await photos(billy(3)))).toMatch(/learning to describe Rex/);
      expect(await queue.getJobCounts('waiting')).toMatchObject({ waiting: 1 });
      expect(await turn(scope, '/forget Rex')).toMatch(/I forgot Rex/);
      await runtime.lessons!.whenIdle();
      expect(await queue.getJobCounts('waiting', 'active')).toMatchObject({ waiting: 0, active: 0 });
      expect(notices.filter((n) => n.scope === scope).map((n) => n.text)).toEqual([
        'Learning Rex: about to start…',
        'Stopped learning Rex.',
      ]);
    });

    it('runs a lesson on one of two workers, with its progress in the chat, and stores the embedding', async () => {
      workers.push(new WorkerProcess(workerEnv), new WorkerProcess(workerEnv));
      await Promise.all(workers.map((w) => w.ready()));
      const scope = 'test:queued-billy';
      expect(await turn(scope, '/teach Billy object', await photos(billy(1), billy(2)))).toMatch(
        /learning to describe Billy/,
      );
      await runtime.lessons!.whenIdle();
      const billyNow = (await runtime.store.findByName(scope, 'Billy'))!;
      const lessonId = EmbeddingJobs.jobId(scope, billyNow.id, modelId);
      expect(billyNow.embeddings[modelId].steps).toBe(100);
      const heard = notices.filter((n) => n.scope === scope);
      expect(heard.filter((n) => n.step?.at === 100)).toHaveLength(1);
      expect(heard.at(-1)).toMatchObject({ text: 'Learned how to talk about Billy.', done: true });
      // Exactly one worker ran it, and logged how long it took.
      const finished = workers.map((w) => w.said('lesson finished', lessonId)).filter((l) => l !== undefined);
      expect(finished).toHaveLength(1);
      expect(finished[0].seconds).toBeGreaterThan(0);
    });

    it('retries on the other worker, from the last checkpoint, a lesson whose worker was SIGKILLed', async () => {
      const scope = 'test:queued-crash';
      expect(await turn(scope, '/teach Max object', await photos(billy(4), billy(5)))).toMatch(
        /learning to describe Max/,
      );
      // Past the first checkpoint (every 25 steps), and a little more so its write to the job's data has landed.
      await until(() => notices.some((n) => n.scope === scope && (n.step?.at ?? 0) >= 40), 120_000);
      const taught = (await runtime.store.findByName(scope, 'Max'))!;
      const lessonId = EmbeddingJobs.jobId(scope, taught.id, modelId);
      const holder = workers.find((w) => w.said('lesson started', lessonId))!;
      const other = workers.find((w) => w !== holder)!;
      expect(other.said('lesson started', lessonId)).toBeUndefined();
      await holder.stop('SIGKILL');
      await runtime.lessons!.whenIdle();
      const resumed = other.said('lesson resumed from its checkpoint', lessonId);
      expect(resumed?.resumedAt).toBeGreaterThan(0);
      const max = (await runtime.store.findByName(scope, 'Max'))!;
      expect(max.embeddings[modelId].steps).toBe(100);
      expect(notices.filter((n) => n.scope === scope).at(-1)).toMatchObject({ done: true });
    });

    it('/forget stops a lesson a worker is running', async () => {
      const scope = 'test:queued-stop';
      expect(await turn(scope, '/teach Zed object', await photos(billy(6)))).toMatch(/learning to describe Zed/);
      await until(() => notices.some((n) => n.scope === scope && (n.step?.at ?? 0) >= 1), 120_000);
      expect(await turn(scope, '/forget Zed')).toMatch(/I forgot Zed/);
      await runtime.lessons!.whenIdle();
      const survivor = workers.find((w) => w.child.signalCode === null)!;
      await until(() => survivor.said('lesson cancelled') !== undefined, 30_000);
      expect(notices.filter((n) => n.scope === scope).at(-1)?.text).toBe('Stopped learning Zed.');
      expect(notices.filter((n) => n.scope === scope).some((n) => n.done && n.text.startsWith('Learned'))).toBe(false);
      expect(await queue.getJobCounts('waiting', 'active', 'failed')).toMatchObject({
        waiting: 0,
        active: 0,
        failed: 0,
      });
    });

    it('quarantines a lesson whose workers crashed twice, tells its chat, and /forget removes it', async () => {
      const scope = 'test:queued-quarantine';
      const first = workers.find((w) => w.child.signalCode === null)!;
      const second = new WorkerProcess(workerEnv);
      workers.push(second);
      await second.ready();
      expect(await turn(scope, '/teach Ace object', await photos(billy(7), billy(8)))).toMatch(
        /learning to describe Ace/,
      );
      const ace = (await runtime.store.findByName(scope, 'Ace'))!;
      const lessonId = EmbeddingJobs.jobId(scope, ace.id, modelId);
      await until(() => notices.some((n) => n.scope === scope && (n.step?.at ?? 0) >= 1), 120_000);
      const holder = first.said('lesson started', lessonId) ? first : second;
      const next = holder === first ? second : first;
      await holder.stop('SIGKILL');
      // The other worker takes it (from the start or from a checkpoint: it may have died before the first one).
      await until(() => next.lines.some((l) => l.job === lessonId), 60_000);
      await next.stop('SIGKILL');
      // A fresh worker takes the lesson that stalled twice and fails it: quarantined.
      const third = new WorkerProcess(workerEnv);
      workers.push(third);
      await runtime.lessons!.whenIdle();
      expect(notices.filter((n) => n.scope === scope).at(-1)?.text).toBe(
        "I couldn't finish learning to describe Ace: the lesson stopped unexpectedly twice, so I've set it aside. Teach Ace again to retry.",
      );
      expect(await queue.getJobCounts('failed')).toEqual({ failed: 1 });
      expect((await runtime.store.get(scope, ace.id))!.embeddings[modelId]).toBeUndefined();
      expect(await turn(scope, '/forget Ace')).toMatch(/I forgot Ace/);
      expect(await queue.getJobCounts('failed')).toEqual({ failed: 0 });
    });
  },
);
