// A real crash, not a simulated one: a child process rewriting a concept is
// killed with SIGKILL at a random moment, several times. Each time the store
// must reopen with one whole version (embedding, caption, photo and version
// number agree) no older than the last one the child reported, and with no
// photo or temp file left that the record does not reference.
import { spawn } from 'node:child_process';
import { access, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { KeyvConceptStore } from '../../src/memory/keyv-store.ts';
import { scopeFolder } from '../../src/memory/photo-blobs.ts';
import { REPO_ROOT } from '../support/paths.ts';
import { CRASH_DIMS, CRASH_SCOPE, photoBytes } from './crash-writer.ts';

/**
 * About one kill in four lands inside an SQLite transaction (a hot journal is
 * left for the next open to roll back); keep killing until that case has been
 * seen at least once, within a bound.
 */
const MIN_ROUNDS = 4;
const MAX_ROUNDS = 12;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'myvlm-crash-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs the writer until it has reported `versions` writes, then kills it after a random delay. */
function writeThenKill(versions: number, maxDelayMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join('test', 'memory', 'crash-writer.ts'), dir], {
      cwd: REPO_ROOT,
      env: { ...process.env, MYVLM_LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let last = 0;
    let seen = 0;
    let stderr = '';
    let killing = false;
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        last = Number(line);
        seen += 1;
      }
      if (seen >= versions && !killing) {
        killing = true;
        setTimeout(() => child.kill('SIGKILL'), Math.random() * maxDelayMs);
      }
    });
    // 'exit' comes after the child is reaped, so its pid no longer looks alive to the store lock.
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(last);
      else reject(new Error(`writer exited on its own (code ${code}): ${stderr}`));
    });
    child.on('error', reject);
  });
}

it('reopens with a whole, current version after the writer is killed mid-write', { timeout: 60_000 }, async () => {
  let floor = 0;
  let hotJournals = 0;
  for (let round = 0; round < MAX_ROUNDS && (round < MIN_ROUNDS || hotJournals === 0); round++) {
    const reported = await writeThenKill(3, 60);
    expect(reported).toBeGreaterThanOrEqual(floor + 3);
    if (await exists(path.join(dir, 'concepts.sqlite-journal'))) hotJournals += 1;

    const store = await KeyvConceptStore.open({ directory: dir });
    try {
      const concept = await store.findByName(CRASH_SCOPE, 'Crashy');
      expect(concept).not.toBeNull();
      const version = concept!.version;
      expect(version).toBeGreaterThanOrEqual(reported);
      expect(version).toBeLessThanOrEqual(reported + 1); // at most the write in flight landed
      const embedding = concept!.embeddings.m;
      expect(embedding.vector.length).toBe(CRASH_DIMS);
      expect(embedding.vector.every((x) => x === version)).toBe(true);
      expect(embedding.steps).toBe(version);
      expect(concept!.photos.map((p) => p.caption)).toEqual([`v${version}`]);
      const photo = await store.getPhoto(CRASH_SCOPE, concept!.photos[0].sha256);
      expect(Buffer.from(photo!).equals(photoBytes(version))).toBe(true);
      // The open-time sweep leaves exactly the referenced photo: no orphans, no temp files.
      const files = await readdir(path.join(dir, 'blobs', scopeFolder(CRASH_SCOPE)));
      expect(files).toEqual([concept!.photos[0].sha256]);
      floor = version;
    } finally {
      await store.close();
    }
  }
});

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}
