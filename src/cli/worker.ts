// `myvlm worker [--lessons]`: a process that trains the lessons bot
// processes put on the BullMQ queue (MYVLM_QUEUE_URL), reading photos from
// and saving embeddings to the shared concept store (MYVLM_STORE_URL). Run
// as many as there are machines (or GPUs) for lessons; each takes one lesson
// at a time. SIGINT/SIGTERM finish the lesson in hand, then exit.
// Answers are not queued: bot processes answer themselves.
import path from 'node:path';
import { loadSettings } from '../config/settings.ts';
import { ConfigError } from '../errors.ts';
import { parseFlags } from './flags.ts';

const USAGE = 'Usage: myvlm worker [--lessons]   (MYVLM_QUEUE_URL names the queue; MYVLM_STORE_URL the shared store)';

export async function workerCommand(args: string[]): Promise<number> {
  // --lessons is the only kind of work there is; it may be said for clarity.
  parseFlags(args, { lessons: { type: 'boolean' } }, USAGE);
  const settings = loadSettings(process.env);
  if (!settings.queueUrl)
    throw new ConfigError('MYVLM_QUEUE_URL', 'a worker needs the queue the bot processes put lessons on (redis://…)');
  // The heavy libraries (the store's clients, BullMQ, the logger) load once the command line and settings are right.
  const [{ saveLessonEmbedding }, { moduleLogger }, { KeyvConceptStore }, { LessonWorker }] = await Promise.all([
    import('../assistant/lessons.ts'),
    import('../log.ts'),
    import('../memory/keyv-store.ts'),
    import('../teach/lesson-worker.ts'),
  ]);
  const logger = moduleLogger('worker');
  const store = await KeyvConceptStore.open({ url: settings.storeUrl, directory: settings.dataDir });
  const worker = new LessonWorker({
    url: settings.queueUrl,
    stallMs: settings.queueStallMs,
    dir: path.join(settings.dataDir, 'worker-jobs'),
    environment: {
      runtime: {
        executionProvider: settings.executionProvider,
        intraOpThreads: settings.intraOpThreads,
        interOpThreads: 0,
      },
      cacheDir: settings.cacheDir,
    },
    store,
    imageLimits: { maxBytes: settings.maxImageBytes, maxPixels: settings.maxImagePixels },
    save: (spec, embedding) => saveLessonEmbedding(store, spec, embedding),
  });
  await worker.ready();
  logger.info({ pid: process.pid }, 'lesson worker ready');
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  logger.info('lesson worker stopping after the lesson in hand');
  await worker.close();
  await store.close();
  return 0;
}
