// /rename against the real store: only the display name changes, and a new
// name is refused when it clashes or looks like another concept's.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../errors.ts';
import { KeyvConceptStore } from '../memory/keyv-store.ts';
import type { ConceptRecord } from '../memory/concept.ts';
import { rename } from './manage.ts';
import type { Turn } from './turn.ts';

const SCOPE = 'test:group';

function turn(user: string, isScopeAdmin = false): Turn {
  return { scope: SCOPE, user, isScopeAdmin, text: '', images: [] };
}

describe('/rename', () => {
  let dir: string;
  let store: KeyvConceptStore;
  let anna: ConceptRecord;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'myvlm-rename-'));
    store = await KeyvConceptStore.open({ directory: dir });
    const photo = await store.putPhoto(SCOPE, new Uint8Array([1, 2, 3]));
    anna = await store.create({
      scope: SCOPE,
      name: 'Anna',
      identifier: 'Anna',
      kind: 'person',
      owner: 'owner',
      head: { type: 'face', recognizer: 'r', dims: 2, keys: new Float32Array([0.6, 0.8]) },
      embeddings: {
        vlm: { vector: new Float32Array([1, 0]), steps: 10, finalLoss: 0.5, updatedAt: '2026-01-01T00:00:00.000Z' },
      },
      facts: ['loves horses'],
      photos: [
        { sha256: photo, width: 1, height: 1, caption: null, role: 'example', addedAt: '2026-01-01T00:00:00.000Z' },
      ],
    });
    await store.create({ scope: SCOPE, name: 'Back to school', kind: 'object', owner: 'owner' });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function refusal(promise: Promise<unknown>): Promise<string> {
    const error = await promise.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UserError);
    return (error as UserError).message;
  }

  it('changes the name and keeps the head, embeddings, facts, photos and prompt identifier', async () => {
    expect(await rename({ store }, turn('owner'), 'anna to Annie')).toBe('Done: Anna is now called Annie.');
    const renamed = await store.get(SCOPE, anna.id);
    expect(renamed).toMatchObject({ name: 'Annie', identifier: 'Anna', facts: ['loves horses'], photos: anna.photos });
    expect(renamed?.head).toEqual(anna.head);
    expect(renamed?.embeddings).toEqual(anna.embeddings);
    expect(await store.findByName(SCOPE, 'Anna')).toBeNull();
  });

  it('finds a name that contains " to "', async () => {
    expect(await rename({ store }, turn('owner'), 'Back to school to School bag')).toBe(
      'Done: Back to school is now called School bag.',
    );
  });

  it('refuses a name taken, a look-alike, a bad name, an unknown concept and a missing "to"', async () => {
    expect(await refusal(rename({ store }, turn('owner'), 'Anna to back to School'))).toBe(
      'back to School looks just like Back to school, whom I know already; pick a different name.',
    );
    expect(await refusal(rename({ store }, turn('owner'), 'Anna to Аnna'))).toBe(
      'Аnna mixes Latin and Cyrillic letters that look alike in one word; please write it in one alphabet.',
    );
    expect(await refusal(rename({ store }, turn('owner'), 'Anna to <b>Anna</b>'))).toMatch(/^Names may use letters/);
    expect(await refusal(rename({ store }, turn('owner'), 'Bob to Rob'))).toBe(
      "I don't know anyone or anything called Bob here. /concepts lists who I know.",
    );
    expect(await refusal(rename({ store }, turn('owner'), 'Anna Annie'))).toBe(
      'Usage: /rename <name> to <new name>, for example /rename Anna to Annie.',
    );
    expect((await store.get(SCOPE, anna.id))?.name).toBe('Anna');
  });

  it('lets only the owner or an admin rename', async () => {
    expect(await refusal(rename({ store }, turn('member'), 'Anna to Annie'))).toBe(
      'Sorry, only the person who taught me Anna (or an admin here) can rename Anna.',
    );
    expect(await rename({ store }, turn('admin', true), 'Anna to Annie')).toBe('Done: Anna is now called Annie.');
  });

  it('says so when the name does not change', async () => {
    expect(await rename({ store }, turn('owner'), 'Anna to Anna')).toBe('Anna is already called that.');
    expect((await store.get(SCOPE, anna.id))?.version).toBe(anna.version);
  });
});
