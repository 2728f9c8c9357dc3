// /teach with a VLM configured: the head answers at once, the embedding is
// learned in a background worker on the (tiny, generated) LLaVA, and the
// finished vector lands in the concept record; /forget cancels a lesson.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vlmIdForFolder } from '../../src/vlm/load.ts';
import { SHARED_DATA } from '../support/paths.ts';
import { testAssistantWithTinyLlava } from '../support/assistant.ts';
import type { IncomingImage } from '../../src/assistant/turn.ts';
import { readFile } from 'node:fs/promises';

const billy = (n: number) => path.join(SHARED_DATA, 'myvlm', 'concepts', 'billy_dog', `billy_dog_${n}.jpg`);

async function photos(...files: string[]): Promise<IncomingImage[]> {
  return Promise.all(files.map(async (f) => ({ bytes: new Uint8Array(await readFile(f)), name: path.basename(f) })));
}

describe('background embedding lessons', () => {
  let runtime: Awaited<ReturnType<typeof testAssistantWithTinyLlava>>;
  let modelId: string;

  beforeAll(async () => {
    runtime = await testAssistantWithTinyLlava();
    modelId = vlmIdForFolder(runtime.modelDir);
  });
  afterAll(() => runtime.close());

  it('answers /teach at once, then stores the learned embedding under the VLM id', async () => {
    const turn = { scope: 'test:lessons', user: 'test:me', isScopeAdmin: false, images: await photos(billy(1), billy(2)) };
    const reply = await runtime.assistant.handle({ ...turn, text: '/teach Billy object' });
    expect(reply.text).toMatch(/Nice to meet Billy!/);
    expect(reply.text).toMatch(/I'm also learning to describe Billy by name/);
    const steps: number[] = [];
    runtime.lessons!.onUpdate((u) => u.state === 'training' && steps.push(u.step));
    const listed = await runtime.assistant.handle({ ...turn, images: [], text: '/concepts' });
    expect(listed.text).toMatch(/• Billy \(object, 2 photos\)/);
    await runtime.lessons!.whenIdle();
    const stored = await runtime.store.findByName('test:lessons', 'Billy');
    const embedding = stored!.embeddings[modelId];
    expect(embedding.steps).toBe(100);
    expect(embedding.vector.length).toBeGreaterThan(8);
    expect(Number.isFinite(embedding.finalLoss)).toBe(true);
    expect(steps.at(-1)).toBe(100);
  }, 120_000);

  it('/forget cancels a running lesson and removes its job folder', async () => {
    const turn = { scope: 'test:forget', user: 'test:me', isScopeAdmin: false, images: await photos(billy(3)) };
    expect((await runtime.assistant.handle({ ...turn, text: '/teach Rex object' })).text).toMatch(/learning to describe Rex/);
    const rex = (await runtime.store.findByName('test:forget', 'Rex'))!;
    const folder = runtime.lessons!.jobFolder(rex, modelId);
    expect(existsSync(folder)).toBe(true);
    const reply = await runtime.assistant.handle({ ...turn, images: [], text: '/forget Rex' });
    expect(reply.text).toMatch(/I forgot Rex/);
    await runtime.lessons!.whenIdle();
    expect(existsSync(folder)).toBe(false);
    expect(await runtime.store.findByName('test:forget', 'Rex')).toBeNull();
  }, 120_000);
});
