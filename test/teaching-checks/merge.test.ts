// /merge on the real core, store and face models (dlib's ResNet, the
// default): one person taught twice under two names becomes one, recognized
// under the name kept, with the face keys, photos and facts of both. A merge
// across kinds or by someone who may not change both is refused, and a merge
// sent again after a crash between its two writes changes nothing twice.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IncomingImage } from '../../src/assistant/turn.ts';
import { keyCount } from '../../src/heads/face/keys.ts';
import type { ConceptRecord } from '../../src/memory/concept.ts';
import { testAssistant } from '../support/assistant.ts';
import { SHARED_DATA } from '../support/paths.ts';

const ellie = (n: string) => path.join(SHARED_DATA, 'faces', 'laura_dern', `jp_ellie_sattler_000000${n}.jpg`);

async function photo(file: string): Promise<IncomingImage> {
  return { bytes: new Uint8Array(await readFile(file)), name: path.basename(file) };
}

type Runtime = Awaited<ReturnType<typeof testAssistant>>;
let runtime: Runtime;
let scopes = 0;

beforeAll(async () => {
  runtime = await testAssistant({ MYVLM_FACE_RECOGNIZER: 'dlib-resnet-v1' });
});
afterAll(async () => {
  await runtime.close();
});

function chat() {
  const scope = `test:merge-${++scopes}`;
  const as =
    (user: string, isScopeAdmin = false) =>
    async (text: string, images: IncomingImage[] = []) =>
      (await runtime.assistant.handle({ scope, user, isScopeAdmin, text, images })).text;
  return { scope, say: as('test:me'), as };
}

function keysOf(concept: ConceptRecord | undefined): number {
  return concept?.head?.type === 'face' ? keyCount(concept.head) : -1;
}

/** Anna from two photos of Laura Dern and Annie from two others, with facts on both. */
async function taughtTwice(say: (text: string, images?: IncomingImage[]) => Promise<string>) {
  expect(await say('/teach Anna person', [await photo(ellie('00')), await photo(ellie('01'))])).toBe(
    'Nice to meet Anna! I learned their face from 2 photo(s).',
  );
  expect(await say('/teach Annie person', [await photo(ellie('02')), await photo(ellie('03'))])).toBe(
    [
      'Nice to meet Annie! I learned their face from 2 photo(s).',
      'Annie looks like Anna, whom I know already. If they are the same person, keep one name (/merge Annie into Anna); ' +
        'if not, I may mix them up.',
    ].join('\n'),
  );
  await say('/remember Anna loves horses');
  await say('/remember Annie plays chess');
  await say('/remember Annie Loves  horses');
}

describe('/merge', () => {
  it('unites two names of one person under the second, recognized by it, with keys, photos and facts of both', async () => {
    const { scope, say } = chat();
    await taughtTwice(say);
    const [anna, annie] = await runtime.store.list(scope);
    expect([anna.name, keysOf(anna), annie.name, keysOf(annie)]).toEqual(['Anna', 2, 'Annie', 2]);

    expect(await say('/merge annie into anna')).toBe(
      'Done: Annie is now part of Anna. I know Anna from 4 photos and remember 2 facts.',
    );
    const after = await runtime.store.list(scope);
    expect(after.map((c) => c.name)).toEqual(['Anna']);
    expect(after[0]).toMatchObject({
      id: anna.id,
      identifier: anna.identifier,
      facts: ['loves horses', 'plays chess'],
    });
    expect(keysOf(after[0])).toBe(4);
    expect(new Set(after[0].photos.map((p) => p.sha256))).toEqual(
      new Set([...anna.photos, ...annie.photos].map((p) => p.sha256)),
    );
    // Her other photos, none taught, go to Anna, with the facts of both; the name Annie is gone.
    for (const n of ['04', '06', '07'])
      expect(await say('', [await photo(ellie(n))])).toMatch(
        /^I see Anna( \((left|centre|right)\))?\.\nAnna: loves horses; plays chess\.\n/,
      );
    expect(await say('/facts Annie')).toBe(
      "I don't know anyone or anything called Annie here. /concepts lists who I know.",
    );
  }, 120_000);

  it('is harmless when sent again after a crash between writing the target and forgetting the source', async () => {
    const { scope, say } = chat();
    await taughtTwice(say);
    const annie = (await runtime.store.list(scope)).find((c) => c.name === 'Annie') as ConceptRecord;
    await say('/merge Annie into Anna');
    const merged = (await runtime.store.list(scope))[0];
    // The state a crash after the first write leaves: Anna holds everything, Annie is still there.
    await runtime.store.create({
      scope,
      name: annie.name,
      identifier: annie.identifier,
      kind: annie.kind,
      owner: annie.owner,
      head: annie.head,
      facts: annie.facts,
      photos: annie.photos,
    });
    expect(await say('/merge Annie into Anna')).toBe(
      'Done: Annie is now part of Anna. I know Anna from 4 photos and remember 2 facts.',
    );
    const again = await runtime.store.list(scope);
    expect(again.map((c) => c.name)).toEqual(['Anna']);
    expect([keysOf(again[0]), again[0].photos.length, again[0].facts]).toEqual([4, 4, merged.facts]);
  }, 120_000);

  it('refuses across kinds, without permission, a name merged into itself and a missing "into"', async () => {
    const { scope, say, as } = chat();
    await taughtTwice(say);
    await runtime.store.create({ scope, name: 'Rex', kind: 'object', owner: 'test:me' });
    expect(await say('/merge Rex into Anna')).toBe(
      'Rex is an object and Anna a person: I only merge two people or two things.',
    );
    expect(await as('test:bob')('/merge Annie into Anna')).toBe(
      'Sorry, only the person who taught me Annie (or an admin here) can merge Annie.',
    );
    expect(await say('/merge Anna into anna')).toBe('Anna is one already; name two different ones to merge.');
    expect(await say('/merge Annie Anna')).toMatch(/^Usage: \/merge <name> into <other name>/);
    expect(await say('/merge Bob into Anna')).toBe(
      "I don't know anyone or anything called Bob here. /concepts lists who I know.",
    );
    // Nothing changed.
    expect((await runtime.store.list(scope)).map((c) => [c.name, keysOf(c), c.facts.length])).toEqual([
      ['Anna', 2, 1],
      ['Annie', 2, 2],
      ['Rex', -1, 0],
    ]);
    // A scope admin may merge what others taught.
    expect(await as('test:bob', true)('/merge Annie into Anna')).toMatch(/^Done: Annie is now part of Anna\./);
  }, 120_000);
});
