// /merge against the real store, on records written directly: which
// embeddings the merged concept keeps, and the facts limit. (Merges of real
// faces and things: test/teaching-checks/merge.test.ts, test/e2e/merge-objects.test.ts.)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../errors.ts';
import { DEFAULT_IMAGE_LIMITS } from '../image/decode.ts';
import type { ConceptEmbedding } from '../memory/concept.ts';
import { KeyvConceptStore } from '../memory/keyv-store.ts';
import { MAX_FACTS } from './manage.ts';
import { merge } from './merge.ts';
import type { Turn } from './turn.ts';

const SCOPE = 'test:merge';
const turn: Turn = { scope: SCOPE, user: 'owner', isScopeAdmin: false, text: '', images: [] };
const embedding = (x: number): ConceptEmbedding => ({
  vector: new Float32Array([x, 0]),
  steps: 10,
  finalLoss: 0.5,
  updatedAt: '2026-01-01T00:00:00.000Z',
});

describe('/merge', () => {
  let dir: string;
  let store: KeyvConceptStore;
  const deps = () => ({ store, heads: null, imageLimits: DEFAULT_IMAGE_LIMITS, audience: 'chat' as const });

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'myvlm-merge-'));
    store = await KeyvConceptStore.open({ directory: dir });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const person = (
    name: string,
    identifier: string,
    embeddings: Record<string, ConceptEmbedding>,
    facts: string[] = [],
  ) =>
    store.create({
      scope: SCOPE,
      name,
      identifier,
      kind: 'person',
      owner: 'owner',
      head: { type: 'face', recognizer: 'r', dims: 2, keys: new Float32Array([1, 0]) },
      embeddings,
      facts,
    });

  it("keeps the target's embeddings, and takes the source's only for the same prompt word", async () => {
    await person('Anna', 'Anna', { a: embedding(1) });
    await person('ANNA B', 'anna', { a: embedding(2), b: embedding(3) });
    await person('Annie', 'Annie', { c: embedding(4) });
    expect(await merge(deps(), turn, 'ANNA B into Anna', {})).toBe(
      'Done: ANNA B is now part of Anna. I know Anna from 0 photos.',
    );
    expect(await merge(deps(), turn, 'Annie into Anna', {})).toBe(
      'Done: Annie is now part of Anna. I know Anna from 0 photos.',
    );
    const [anna] = await store.list(SCOPE);
    expect(Object.fromEntries(Object.entries(anna.embeddings).map(([model, e]) => [model, e.vector[0]]))).toEqual({
      a: 1,
      b: 3,
    });
    // The same key once.
    expect(anna.head?.type === 'face' ? anna.head.keys.length : 0).toBe(2);
  });

  it('refuses, changing nothing, when the facts of both pass the limit', async () => {
    const many = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix} ${i}`);
    await person('Anna', 'Anna', {}, many('likes', MAX_FACTS - 2));
    await person('Annie', 'Annie', {}, [...many('likes', 2), ...many('owns', 3)]);
    const error = await merge(deps(), turn, 'Annie into Anna', {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    // Annie's first two facts are Anna's already: they count once.
    expect((error as UserError).message).toBe(
      `Together Annie and Anna have ${MAX_FACTS + 1} facts and my limit is ${MAX_FACTS}; forget 1 first with /forget_fact.`,
    );
    expect((await store.list(SCOPE)).map((c) => [c.name, c.facts.length])).toEqual([
      ['Anna', MAX_FACTS - 2],
      ['Annie', 5],
    ]);
  });
});
