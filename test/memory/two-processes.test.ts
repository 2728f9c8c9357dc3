// Two real processes open the store on the same Redis or PostgreSQL URL and
// write one concept at the same moment: no update may be lost silently.
// Every `modify` lands; every `update` either lands or throws ConflictError;
// of two `update`s against the same version, and of two `create`s of one
// name, exactly one lands.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KeyvConceptStore } from '../../src/memory/keyv-store.ts';
import { REPO_ROOT } from '../support/paths.ts';
import { emptyServer, freshServerUrl, serverUrl, type ServerKind } from '../support/servers.ts';
import { RACE_SCOPE } from './race-writer.ts';

/** Redis database / PostgreSQL database for this file (server-stores.test.ts uses 1). */
const SLOT = 2;
const WRITES_PER_PROCESS = 30;

interface Outcome {
  landed: number;
  conflicts: number;
}

function writer(url: string, id: string, mode: string, tag: string) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join('test', 'memory', 'race-writer.ts'), url, id, mode, String(WRITES_PER_PROCESS), tag],
    { cwd: REPO_ROOT, env: { ...process.env, MYVLM_LOG_LEVEL: 'silent' }, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    if (out.startsWith('ready\n')) markReady();
  });
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const done = new Promise<Outcome>((resolve, reject) => {
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`race writer exited with ${code}: ${err}`));
      else resolve(JSON.parse(out.split('\n').filter(Boolean).at(-1)!) as Outcome);
    });
  });
  return { ready, go: () => child.stdin.end('go\n'), done };
}

/** Starts both writers, lets them go together, and returns what each did. */
async function race(url: string, id: string, mode: string): Promise<Outcome[]> {
  const writers = [writer(url, id, mode, 'first'), writer(url, id, mode, 'second')];
  await Promise.all(writers.map((w) => w.ready));
  for (const w of writers) w.go();
  return Promise.all(writers.map((w) => w.done));
}

for (const kind of ['redis', 'postgres'] as ServerKind[]) {
  const base = serverUrl(kind);
  describe.skipIf(base === null)(`two processes on one ${kind} store`, { timeout: 120_000 }, () => {
    let url = '';
    let store: KeyvConceptStore;
    let id = '';

    beforeEach(async () => {
      url = await freshServerUrl(kind, base!, SLOT);
      store = await KeyvConceptStore.open({ url });
      id = (await store.create({ scope: RACE_SCOPE, name: 'Raced', kind: 'object', owner: 'terminal:me' })).id;
    });

    afterEach(async () => {
      await store.close();
      await emptyServer(kind, url);
    });

    it('lands every modify from both processes', async () => {
      const outcomes = await race(url, id, 'modify');
      expect(outcomes.map((o) => o.landed)).toEqual([WRITES_PER_PROCESS, WRITES_PER_PROCESS]);
      const stored = (await store.get(RACE_SCOPE, id))!;
      expect(stored.version).toBe(1 + 2 * WRITES_PER_PROCESS);
      expect(stored.facts).toHaveLength(2 * WRITES_PER_PROCESS);
      for (const tag of ['first', 'second']) {
        const mine = stored.facts.filter((f) => f.startsWith(`${tag} `));
        expect(mine).toEqual(Array.from({ length: WRITES_PER_PROCESS }, (_, i) => `${tag} ${i}`)); // in order, none lost
      }
    });

    it('turns every lost race of read-then-update into a ConflictError, never a lost write', async () => {
      const outcomes = await race(url, id, 'update');
      expect(outcomes.map((o) => o.landed)).toEqual([WRITES_PER_PROCESS, WRITES_PER_PROCESS]);
      const stored = (await store.get(RACE_SCOPE, id))!;
      expect(stored.version).toBe(1 + 2 * WRITES_PER_PROCESS);
      expect(new Set(stored.facts).size).toBe(2 * WRITES_PER_PROCESS);
      console.info(
        `${kind}: ${outcomes[0].conflicts + outcomes[1].conflicts} conflicts in ${2 * WRITES_PER_PROCESS} updates`,
      );
    });

    it('lets exactly one of two stale updates from different processes land', async () => {
      const outcomes = await race(url, id, 'stale');
      expect(outcomes.map((o) => o.landed).sort()).toEqual([0, 1]);
      expect(outcomes.map((o) => o.conflicts).sort()).toEqual([0, 1]);
      const stored = (await store.get(RACE_SCOPE, id))!;
      expect(stored.version).toBe(2);
      expect(stored.facts).toHaveLength(1);
    });

    it('lets exactly one of two processes creating the same name at once succeed', async () => {
      const outcomes = await race(url, id, 'create');
      expect(outcomes.map((o) => o.landed).sort()).toEqual([0, 1]);
      expect((await store.list(RACE_SCOPE)).map((c) => c.name)).toEqual(['Raced', 'Twin']);
    });
  });
}
