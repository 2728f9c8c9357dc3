// /merge of two things through the terminal chat: a dog taught twice under two
// names becomes one, its linear head fitted again on the photos of both (the
// other name no longer a negative), and is found under the name kept. Real
// store, real MobileNetV3 features.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHARED_DATA } from '../support/paths.ts';
import { testAssistant } from '../support/assistant.ts';
import { chatInTerminal } from '../support/terminal-chat.ts';

const photos = (name: string, ...numbers: number[]) =>
  numbers.map((n) => `"${path.join(SHARED_DATA, 'myvlm', 'concepts', name, `${name}_${n}.jpg`)}"`).join(' ');
const lookalike = (file: string) => `"${path.join(SHARED_DATA, 'myvlm', 'negatives', 'billy_dog', file)}"`;

describe('/merge of things through the terminal chat', () => {
  let runtime: Awaited<ReturnType<typeof testAssistant>>;

  beforeAll(async () => {
    runtime = await testAssistant();
  });
  afterAll(() => runtime.close());

  it('fits one head on the photos of both names and recognizes the thing under the name kept', async () => {
    const printed = await chatInTerminal(runtime.assistant, [
      `/teach Teapot object ${photos('colorful_teapot', 1, 2, 3, 4)}`,
      `/teach Billy object ${photos('billy_dog', 1, 2)}`,
      `/teach My dog object ${photos('billy_dog', 3, 4)}`,
      `/notit My dog ${lookalike('000000011401.jpg')}`,
      '/remember My dog sleeps all day',
      '/merge My dog into Billy',
      photos('billy_dog', 10),
      photos('colorful_teapot', 7),
      '/concepts',
    ]);
    expect(printed).toContain('Learning to recognize Billy from the photos of both…');
    expect(printed).toContain('Done: My dog is now part of Billy. I know Billy from 4 photos and remember 1 fact.\n');
    const answers = printed.split('\n').filter((l) => l.startsWith('I see ') || l.startsWith("I don't see"));
    expect(answers).toHaveLength(2);
    expect(answers[0]).toMatch(/Billy/);
    expect(answers[1]).not.toMatch(/Billy/);
    expect(printed).toMatch(/• Billy \(object, 4 photos; sleeps all day\)\n• Teapot \(object, 4 photos\)/);
    const billy = (await runtime.store.list('terminal:local')).find((c) => c.name === 'Billy');
    // The merged head was fitted on 4 examples; the "not it" photo came along as a negative.
    expect(billy?.head?.type === 'linear' ? billy.head.trainedOn.positives : -1).toBe(4);
    expect(billy?.photos.map((p) => p.role).sort()).toEqual(['example', 'example', 'example', 'example', 'not-it']);
  }, 120_000);
});
