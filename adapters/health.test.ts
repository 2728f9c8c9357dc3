// The health endpoint over real HTTP and a real store: 200 with the process's
// role and its memory while the store answers, 503 once it does not.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { KeyvConceptStore } from '../src/memory/keyv-store.ts';
import { serveHealth } from './health.ts';

describe('serveHealth', () => {
  it('answers 200 while the store answers and 503 once it does not', async () => {
    const store = await KeyvConceptStore.open({ directory: mkdtempSync(path.join(tmpdir(), 'myvlm-health-')) });
    const health = await serveHealth({
      port: 0,
      host: '127.0.0.1',
      role: 'bot',
      store,
      details: () => ({ shards: 2 }),
    });
    try {
      const up = await fetch(health.url);
      expect(up.status).toBe(200);
      expect(await up.json()).toMatchObject({
        status: 'ok',
        role: 'bot',
        pid: process.pid,
        store: { kind: 'sqlite', reachable: true },
        shards: 2,
      });
      await store.close();
      const down = await fetch(health.url);
      expect(down.status).toBe(503);
      expect(await down.json()).toMatchObject({ status: 'unavailable', store: { kind: 'sqlite', reachable: false } });
      expect((await fetch(health.url.replace('/healthz', '/other'))).status).toBe(404);
    } finally {
      await health.close();
    }
  });

  it('reports a process without memory as healthy', async () => {
    const health = await serveHealth({ port: 0, host: '127.0.0.1', role: 'discord-shards', store: null });
    try {
      const answer = await fetch(health.url);
      expect(answer.status).toBe(200);
      expect(await answer.json()).toMatchObject({ status: 'ok', role: 'discord-shards', store: null });
    } finally {
      await health.close();
    }
  });
});
