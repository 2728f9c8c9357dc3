// /rename, /facts and /forget_fact against the real store: only the display
// name changes, and a new name is refused when it clashes or looks like
// another concept's; facts are listed by number and forgotten by number or
// by their words, with a plain answer for every mistake.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../errors.ts';
import { KeyvConceptStore } from '../memory/keyv-store.ts';
import type { ConceptRecord } from '../memory/concept.ts';
import { forgetFact, listFacts, remember, rename } from './manage.ts';
import type { Turn } from './turn.ts';

const SCOPE = 'test:group';

function turn(user: string, isScopeAdmin = false): Turn {
  return { scope: SCOPE, user, isScopeAdmin, text: '', images: [] };
}

describe('/rename, /facts and /forget_fact', () => {
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

  it('lists facts by number, and says so when there are none', async () => {
    expect(await remember(store, turn('owner'), 'Anna was born in May')).toBe("I'll remember that about Anna.");
    expect(await listFacts(store, turn('member'), 'anna')).toBe(
      [
        'What I remember about Anna:',
        '1. loves horses',
        '2. was born in May',
        '/forget_fact Anna <number> forgets one; to change one, forget it and /remember the new wording.',
      ].join('\n'),
    );
    expect(await listFacts(store, turn('member'), 'Back to school')).toBe(
      "I don't remember anything about Back to school yet. /remember Back to school <fact> tells me something.",
    );
    expect(await refusal(listFacts(store, turn('member'), 'Bob'))).toBe(
      "I don't know anyone or anything called Bob here. /concepts lists who I know.",
    );
    expect(await refusal(listFacts(store, turn('member'), ' '))).toBe('Usage: /facts <name>, for example /facts Anna.');
  });

  it('forgets a fact by number or by its words, and edits one as forget plus remember', async () => {
    await remember(store, turn('owner'), 'Anna was born in May');
    await remember(store, turn('owner'), 'Anna plays chess');
    expect(await forgetFact(store, turn('owner'), 'Anna 2')).toBe(
      'Done: I forgot that about Anna ("was born in May").',
    );
    expect(await forgetFact(store, turn('owner'), 'anna LOVES horses')).toBe(
      'Done: I forgot that about Anna ("loves horses").',
    );
    await remember(store, turn('owner'), 'Anna plays chess on Sundays');
    expect((await store.get(SCOPE, anna.id))?.facts).toEqual(['plays chess', 'plays chess on Sundays']);
  });

  it('refuses an unknown name, a bad number, an unknown fact and a missing one, in plain words', async () => {
    expect(await refusal(forgetFact(store, turn('owner'), 'Bob 1'))).toBe(
      "I don't know anyone or anything called Bob here. /concepts lists who I know.",
    );
    expect(await refusal(forgetFact(store, turn('owner'), 'Anna 3'))).toBe(
      'I remember 1 fact about Anna; send the number 1 (/facts Anna lists them).',
    );
    expect(await refusal(forgetFact(store, turn('owner'), 'Anna 0'))).toMatch(/^I remember 1 fact about Anna/);
    expect(await refusal(forgetFact(store, turn('owner'), 'Anna hates horses'))).toBe(
      'I don\'t remember "hates horses" about Anna. /facts Anna lists what I remember, by number.',
    );
    expect(await refusal(forgetFact(store, turn('owner'), 'Anna'))).toBe(
      'Which fact about Anna? /facts Anna numbers them.',
    );
    expect(await refusal(forgetFact(store, turn('owner'), 'Back to school 1'))).toBe(
      "I don't remember anything about Back to school.",
    );
    expect(await refusal(forgetFact(store, turn('owner'), ''))).toBe(
      'Which fact? Usage: /forget_fact <name> <number>, for example /forget_fact Anna 2 (/facts Anna numbers them).',
    );
    expect((await store.get(SCOPE, anna.id))?.facts).toEqual(['loves horses']);
  });

  it('lets only the owner or an admin forget a fact', async () => {
    expect(await refusal(forgetFact(store, turn('member'), 'Anna 1'))).toBe(
      'Sorry, only the person who taught me Anna (or an admin here) can change what I know about Anna.',
    );
    expect(await forgetFact(store, turn('admin', true), 'Anna 1')).toBe(
      'Done: I forgot that about Anna ("loves horses").',
    );
  });
});
