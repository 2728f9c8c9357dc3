// Conformance driver for the web app: one real server per place (each serving
// its own scope, as a family's page serves theirs), driven through real HTTP
// requests as the page makes them: GET / for the session cookie and the CSRF
// token, then POST /api/turn with the photos as multipart form data.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startWeb, type WebHandle } from '../../../adapters/web/web.ts';
import type { ConversationCore } from '../../../src/assistant/turn.ts';
import { KeyvConceptStore } from '../../../src/memory/keyv-store.ts';
import {
  actionPhotos,
  actionText,
  type Action,
  type Answer,
  type ChatDriver,
  type Person,
  type Place,
} from '../driver.ts';
import { openSession, type WebSession } from './web-session.ts';

export async function createWebDriver(core: ConversationCore): Promise<ChatDriver> {
  // The suite speaks through turns only, so the gallery reads an empty store of its own
  // (the suite's store is held by its assistant); test/web covers the gallery.
  const dataDir = mkdtempSync(path.join(tmpdir(), 'myvlm-conformance-web-'));
  const store = await KeyvConceptStore.open({ directory: path.join(dataDir, 'gallery') });
  const servers = new Map<Place, { web: WebHandle; session: WebSession }>();

  async function server(place: Place) {
    const existing = servers.get(place);
    if (existing) return existing;
    const web = await startWeb({
      core,
      store,
      web: { host: '127.0.0.1', port: 0, token: null },
      settings: { dataDir, maxImageBytes: 25 * 1024 * 1024, vlm: null },
      scope: `web:${place}`,
    });
    const created = { web, session: await openSession(web.url) };
    servers.set(place, created);
    return created;
  }

  return {
    platform: 'web',
    multiUser: false,
    async send(place: Place, person: Person, action: Action): Promise<Answer> {
      if (person !== 'owner') throw new Error('the web app has a single user');
      const { session } = await server(place);
      const reply = await session.turn(actionText(action), actionPhotos(action));
      return { text: reply.text, images: reply.images.map((image) => image.bytes), messages: 1 };
    },
    async close() {
      for (const { web } of servers.values()) await web.stop();
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
