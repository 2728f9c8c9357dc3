// Scaling out, on one shared store: photo turns per second with 1 and 2 bot
// processes (answers are not queued: each bot process answers its own chats,
// so bot processes are what answers scale with), and lessons on BullMQ
// workers against lessons in the bot's own process, on the tiny generated
// LLaVA: lessons per hour in-process and with 1 and 2 `myvlm worker`
// processes, and what the queue adds to one lesson. Needs the test servers
// (`eval "$(bash .ci/services.sh start)"`): the queue and the shared concept
// store run on that Redis (databases 5 and 6).
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { IncomingImage } from '../src/assistant/turn.ts';
import { OperatorError } from '../src/errors.ts';
import { testAssistantWithTinyLlava } from '../test/support/assistant.ts';
import { REPO_ROOT, SHARED_DATA } from '../test/support/paths.ts';
import { freshServerUrl } from '../test/support/servers.ts';
import { WorkerProcess } from '../test/support/workers.ts';
import { table, type BenchSection } from './harness.ts';

/** Lessons per throughput run: enough for two workers to overlap for most of the run. */
const LESSONS = 4;
/** Single lessons timed per path for the overhead, alternating (the median is reported: the machine is shared). */
const SINGLES = 3;
const STORE_DB = 5;
const QUEUE_DB = 6;

/** Photo turns each bot process answers per run (12 photos, twice). */
const TURN_PHOTOS = [5, 6, 7, 8, 9, 10].flatMap((n) => [
  path.join(SHARED_DATA, 'myvlm', 'concepts', 'billy_dog', `billy_dog_${n}.jpg`),
  path.join(SHARED_DATA, 'myvlm', 'concepts', 'colorful_teapot', `colorful_teapot_${n}.jpg`),
]);
const TURN_SCOPE = 'bench:turns';

type Runtime = Awaited<ReturnType<typeof testAssistantWithTinyLlava>>;

/** One bot process (bench/photo-turns.child.ts), started and warmed; `go()` runs its turns and resolves with their count and time. */
async function botProcess(storeUrl: string): Promise<{ go: () => Promise<{ turns: number; ms: number }> }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join('bench', 'photo-turns.child.ts'),
      storeUrl,
      TURN_SCOPE,
      ...TURN_PHOTOS,
      ...TURN_PHOTOS,
    ],
    { cwd: REPO_ROOT, env: { ...process.env, MYVLM_LOG_LEVEL: 'silent' }, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<void>((resolve, reject) =>
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`bot process exited with ${code}: ${err}`)))),
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.startsWith('ready\n')) resolve();
    });
    exited.catch(reject);
  });
  return {
    go: async () => {
      child.stdin.end('go\n');
      await exited;
      return JSON.parse(out.split('\n')[1]) as { turns: number; ms: number };
    },
  };
}

/** Photo turns per second of `count` bot processes answering at once on one store. */
async function photoTurnsPerSecond(storeUrl: string, count: number): Promise<number> {
  const bots = await Promise.all(Array.from({ length: count }, () => botProcess(storeUrl)));
  const started = performance.now();
  const runs = await Promise.all(bots.map((bot) => bot.go()));
  const wallMs = Math.max(performance.now() - started, ...runs.map((r) => r.ms));
  return (runs.reduce((sum, r) => sum + r.turns, 0) * 1000) / wallMs;
}

const billy = (n: number) => path.join(SHARED_DATA, 'myvlm', 'concepts', 'billy_dog', `billy_dog_${n}.jpg`);

/** Teaches `count` concepts of two photos each in `tag`'s scopes and waits for their lessons; returns the wall time in ms. */
async function teachAndWait(runtime: Runtime, tag: string, count: number): Promise<number> {
  const images: IncomingImage[][] = [];
  for (let i = 0; i < count; i++)
    images.push(
      await Promise.all(
        [billy(1 + ((2 * i) % 10)), billy(2 + ((2 * i) % 10))].map(async (f) => ({
          bytes: new Uint8Array(await readFile(f)),
          name: path.basename(f),
        })),
      ),
    );
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const reply = await runtime.assistant.handle({
      scope: `bench:${tag}:${i}`,
      user: 'bench:me',
      isScopeAdmin: false,
      images: images[i],
      text: `/teach Dog${i} object`,
    });
    if (!/learning to describe/.test(reply.text)) throw new Error(`no lesson started: ${reply.text}`);
  }
  await runtime.lessons!.whenIdle();
  return performance.now() - started;
}

function median(samples: number[]): number {
  return [...samples].sort((a, b) => a - b)[Math.floor(samples.length / 2)];
}

export default async function scaleBenchmark(): Promise<BenchSection> {
  const base = process.env.MYVLM_TEST_REDIS_URL;
  if (!base)
    throw new OperatorError('The scale benchmark needs a Redis server.', {
      hint: 'Run: eval "$(bash .ci/services.sh start)"',
    });
  const storeUrl = await freshServerUrl('redis', base, STORE_DB);
  const queueUrl = await freshServerUrl('redis', base, QUEUE_DB);
  // In-process: the same shared store, lessons in a worker thread of the bot's process.
  const local = await testAssistantWithTinyLlava({ MYVLM_STORE_URL: storeUrl });
  const queued = await testAssistantWithTinyLlava({
    MYVLM_STORE_URL: storeUrl,
    MYVLM_QUEUE_URL: queueUrl,
    MYVLM_CACHE_DIR: local.settings.cacheDir,
  });
  const env = {
    MYVLM_STORE_URL: storeUrl,
    MYVLM_QUEUE_URL: queueUrl,
    MYVLM_CACHE_DIR: local.settings.cacheDir,
    MYVLM_OFFLINE: '1',
    MYVLM_THREADS: '1',
    MYVLM_LOG_LEVEL: 'info',
  };
  const workers = [new WorkerProcess(env)];
  const rows: (string | number)[][] = [];
  const turnRows: (string | number)[][] = [];
  const singles = { local: [] as number[], queued: [] as number[] };
  try {
    // Bot processes answer photos in a scope where Billy is known, on the same store.
    const taught = await local.assistant.handle({
      scope: TURN_SCOPE,
      user: 'bench:me',
      isScopeAdmin: false,
      text: '/teach Billy object',
      images: await Promise.all(
        [1, 2, 3, 4].map(async (n) => ({
          bytes: new Uint8Array(await readFile(billy(n))),
          name: `billy_dog_${n}.jpg`,
        })),
      ),
    });
    if (!/Nice to meet Billy/.test(taught.text)) throw new Error(`Billy was not taught: ${taught.text}`);
    await local.lessons!.whenIdle();
    const single = await photoTurnsPerSecond(storeUrl, 1);
    turnRows.push(['1 bot process', String(TURN_PHOTOS.length * 2), single, 1]);
    const pair = await photoTurnsPerSecond(storeUrl, 2);
    turnRows.push(['2 bot processes', String(TURN_PHOTOS.length * 4), pair, pair / single]);
    await workers[0].ready();
    await teachAndWait(local, 'warm-up', 1); // builds the teaching graph once, in the shared cache
    await teachAndWait(queued, 'warm-up-queued', 1); // the worker's first lesson
    // Alternated, so the load of other processes on the shared machine falls on both paths alike.
    for (let i = 0; i < SINGLES; i++) {
      singles.local.push(await teachAndWait(local, `local-one-${i}`, 1));
      singles.queued.push(await teachAndWait(queued, `queued-one-${i}`, 1));
    }
    const localMs = await teachAndWait(local, 'local', LESSONS);
    rows.push(['in-process (worker thread)', String(LESSONS), localMs / 1000, (LESSONS * 3_600_000) / localMs, 1]);
    for (const count of [1, 2]) {
      while (workers.length < count) workers.push(new WorkerProcess(env));
      await Promise.all(workers.map((w) => w.ready()));
      const ms = await teachAndWait(queued, `queued-${count}`, LESSONS);
      rows.push([
        `queued, ${count} worker${count > 1 ? 's' : ''}`,
        String(LESSONS),
        ms / 1000,
        (LESSONS * 3_600_000) / ms,
        localMs / ms,
      ]);
    }
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await queued.close();
    await local.close();
  }
  const single = { local: median(singles.local), queued: median(singles.queued) };
  const overhead = table(
    [
      `one lesson, /teach to stored (median of ${SINGLES})`,
      'in-process s',
      'queued (1 warm worker) s',
      'queue adds s',
      'ratio',
    ],
    [
      [
        'tiny LLaVA, 2 photos, 100 steps',
        single.local / 1000,
        single.queued / 1000,
        (single.queued - single.local) / 1000,
        single.queued / single.local,
      ],
    ],
  );
  return {
    title: 'Scaling out: bot processes and lesson workers (Redis store and queue)',
    markdown: [
      table(
        ['photo turns (MobileNetV3 + YuNet + MobileFaceNet, no VLM)', 'turns', 'turns per second', 'x one process'],
        turnRows,
      ),
      '',
      table(['lessons run', 'lessons', 'wall s', 'lessons per hour', 'x in-process'], rows),
      '',
      overhead,
    ].join('\n'),
  };
}
