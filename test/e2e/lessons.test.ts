// /teach with a VLM configured: the head answers at once, the embedding is
// learned in a background worker on the (tiny, generated) LLaVA from the
// concept's stored photos, and the finished vector lands in the concept
// record; /forget cancels a lesson. A concept taught while no VLM was
// configured gets its lesson when the assistant starts with one.
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAssistant } from '../../src/assistant/setup.ts';
import type { IncomingImage, Notice } from '../../src/assistant/turn.ts';
import { JOB_FILES, type EmbeddingJobSpec } from '../../src/teach/job.ts';
import { EmbeddingJobs } from '../../src/teach/jobs.ts';
import { vlmIdForFolder } from '../../src/vlm/load.ts';
import { testAssistant, testAssistantWithTinyLlava, testSettings } from '../support/assistant.ts';
import { SHARED_DATA } from '../support/paths.ts';

const billy = (n: number) => path.join(SHARED_DATA, 'myvlm', 'concepts', 'billy_dog', `billy_dog_${n}.jpg`);

async function photos(...files: string[]): Promise<IncomingImage[]> {
  return Promise.all(files.map(async (f) => ({ bytes: new Uint8Array(await readFile(f)), name: path.basename(f) })));
}

const readSpec = (folder: string) =>
  JSON.parse(readFileSync(path.join(folder, JOB_FILES.spec), 'utf8')) as EmbeddingJobSpec;

describe('background embedding lessons', () => {
  let runtime: Awaited<ReturnType<typeof testAssistantWithTinyLlava>>;
  let modelId: string;

  beforeAll(async () => {
    runtime = await testAssistantWithTinyLlava();
    modelId = vlmIdForFolder(runtime.modelDir);
  });
  afterAll(() => runtime.close());

  it('answers /teach at once, learns from the stored photos, and stores the embedding under the VLM id', async () => {
    const turn = {
      scope: 'test:lessons',
      user: 'test:me',
      isScopeAdmin: false,
      images: await photos(billy(1), billy(2)),
    };
    const reply = await runtime.assistant.handle({ ...turn, text: '/teach Billy object' });
    expect(reply.text).toMatch(/Nice to meet Billy!/);
    expect(reply.text).toMatch(/I'm also learning to describe Billy by name/);
    const taught = (await runtime.store.findByName('test:lessons', 'Billy'))!;
    // The lesson learns from the photos as the store keeps them, and says which version that was.
    const spec = readSpec(runtime.lessons!.jobFolder(taught, modelId));
    expect(spec.learnedFrom).toEqual({ conceptVersion: taught.version, photos: taught.photos.map((p) => p.sha256) });
    expect(spec.photos).toHaveLength(2);
    const steps: number[] = [];
    runtime.lessons!.onUpdate((u) => u.state === 'training' && steps.push(u.step));
    const listed = await runtime.assistant.handle({ ...turn, images: [], text: '/concepts' });
    expect(listed.text).toMatch(/• Billy \(object, 2 photos\)/);
    // Another write while the lesson runs moves the version on; the photos stay, so the save still lands.
    expect(
      (await runtime.assistant.handle({ ...turn, images: [], text: '/remember Billy loves sticks' })).text,
    ).toMatch(/I'll remember/);
    await runtime.lessons!.whenIdle();
    const stored = (await runtime.store.findByName('test:lessons', 'Billy'))!;
    const embedding = stored.embeddings[modelId];
    expect(embedding.steps).toBe(100);
    expect(embedding.vector.length).toBeGreaterThan(8);
    expect(Number.isFinite(embedding.finalLoss)).toBe(true);
    expect(steps.at(-1)).toBe(100);
    expect(stored.facts).toEqual(['loves sticks']);
    expect(stored.version).toBe(taught.version + 2);
  }, 120_000);

  it('/forget cancels a running lesson and removes its job folder', async () => {
    const turn = { scope: 'test:forget', user: 'test:me', isScopeAdmin: false, images: await photos(billy(3)) };
    expect((await runtime.assistant.handle({ ...turn, text: '/teach Rex object' })).text).toMatch(
      /learning to describe Rex/,
    );
    const rex = (await runtime.store.findByName('test:forget', 'Rex'))!;
    const folder = runtime.lessons!.jobFolder(rex, modelId);
    expect(existsSync(folder)).toBe(true);
    const reply = await runtime.assistant.handle({ ...turn, images: [], text: '/forget Rex' });
    expect(reply.text).toMatch(/I forgot Rex/);
    await runtime.lessons!.whenIdle();
    expect(existsSync(folder)).toBe(false);
    expect(await runtime.store.findByName('test:forget', 'Rex')).toBeNull();
  }, 120_000);

  it('gives a concept taught before a VLM was configured its lesson when the assistant starts with one, with notices to its chat', async () => {
    const scope = 'test:before-vlm';
    const otherScope = 'test:before-vlm-other';
    const before = await testAssistant();
    expect(before.lessons).toBeNull();
    const taught = await before.assistant.handle({
      scope,
      user: 'test:me',
      isScopeAdmin: false,
      images: await photos(billy(1), billy(2)),
      text: '/teach Billy object',
    });
    expect(taught.text).toMatch(/Nice to meet Billy!/);
    expect(taught.text).not.toMatch(/learning to describe/);
    // A concept of another chat that already has an embedding for this model needs no lesson.
    await before.assistant.handle({
      scope: otherScope,
      user: 'test:me',
      isScopeAdmin: false,
      images: await photos(billy(3)),
      text: '/teach Rex object',
    });
    const rex = (await before.store.findByName(otherScope, 'Rex'))!;
    const rexEmbedding = {
      vector: new Float32Array(64).fill(0.125),
      steps: 7,
      finalLoss: 1,
      updatedAt: '2025-01-01T00:00:00.000Z',
    };
    await before.store.modify(otherScope, rex.id, (d) => void (d.embeddings[modelId] = rexEmbedding));
    const billyBefore = (await before.store.findByName(scope, 'Billy'))!;
    await before.close();

    const after = await createAssistant(
      testSettings({ MYVLM_DATA_DIR: before.settings.dataDir, MYVLM_VLM: runtime.modelDir }),
      'chat',
    );
    try {
      const folder = after.lessons!.jobFolder(billyBefore, modelId);
      const notices: Notice[] = [];
      let spec: EmbeddingJobSpec | undefined;
      const unsubscribe = after.assistant.onNotice((notice) => {
        notices.push(notice);
        spec ??= readSpec(folder);
      });
      await after.lessons!.whenIdle();
      unsubscribe();
      const key = EmbeddingJobs.jobId(scope, billyBefore.id, modelId);
      // One lesson, heard in Billy's chat only, from its stored photos, step by step to the end.
      expect([...new Set(notices.map((n) => `${n.scope} ${n.key}`))]).toEqual([`${scope} ${key}`]);
      expect(spec?.learnedFrom).toEqual({
        conceptVersion: billyBefore.version,
        photos: billyBefore.photos.map((p) => p.sha256),
      });
      expect(notices.filter((n) => n.step?.at === 100)).toHaveLength(1);
      expect(notices.filter((n) => n.done)).toEqual([
        { scope, key, text: 'Learned how to talk about Billy.', done: true },
      ]);
      expect(notices.at(-1)?.done).toBe(true);
      const billyAfter = (await after.store.get(scope, billyBefore.id))!;
      expect(billyAfter.embeddings[modelId].steps).toBe(100);
      expect(billyAfter.version).toBe(billyBefore.version + 1);
      const rexAfter = (await after.store.get(otherScope, rex.id))!;
      expect(rexAfter.embeddings[modelId].steps).toBe(7);
      expect(existsSync(folder)).toBe(false);
    } finally {
      await after.close();
    }
  }, 120_000);

  it('a VLM that cannot load disables only the lessons', async () => {
    const broken = mkdtempSync(path.join(tmpdir(), 'myvlm-not-a-model-'));
    const before = await testAssistant();
    await before.assistant.handle({
      scope: 'test:broken',
      user: 'test:me',
      isScopeAdmin: false,
      images: await photos(billy(4)),
      text: '/teach Max object',
    });
    await before.close();
    const after = await createAssistant(
      testSettings({ MYVLM_DATA_DIR: before.settings.dataDir, MYVLM_VLM: broken }),
      'chat',
    );
    try {
      await after.lessons!.whenIdle();
      const reply = await after.assistant.handle({
        scope: 'test:broken',
        user: 'test:me',
        isScopeAdmin: false,
        images: await photos(billy(5)),
        text: '/teach Max',
      });
      expect(reply.text).toMatch(/^Thanks! I now know Max from 2 photo\(s\)\.$/);
      expect(readdirSync(path.join(before.settings.dataDir, 'jobs'))).toEqual([]);
    } finally {
      await after.close();
    }
  }, 60_000);
});
