// Objects through the terminal chat: teach a dog from four real MyVLM photos,
// add "not it" photos of other dogs, then find it in a held-out photo and not
// in a photo of another concept. Real store, real MobileNetV3 features.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTerminal } from '../../adapters/terminal/terminal.ts';
import { SHARED_DATA } from '../support/paths.ts';
import { testAssistant } from '../support/assistant.ts';

const concept = (name: string, file: string) => `"${path.join(SHARED_DATA, 'myvlm', 'concepts', name, file)}"`;
const lookalike = (file: string) => `"${path.join(SHARED_DATA, 'myvlm', 'negatives', 'billy_dog', file)}"`;

describe('object concepts through the terminal chat', () => {
  let runtime: Awaited<ReturnType<typeof testAssistant>>;

  beforeAll(async () => {
    runtime = await testAssistant();
  });
  afterAll(() => runtime.close());

  it('teaches Billy, learns what is not Billy, and recognizes Billy only in Billy photos', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    let printed = '';
    output.on('data', (chunk: Buffer) => (printed += chunk.toString()));
    const done = runTerminal({
      core: runtime.assistant,
      input,
      output,
      cwd: mkdtempSync(path.join(tmpdir(), 'myvlm-objects-')),
    });
    input.end(
      [
        '/teach Teapot object ' +
          ['colorful_teapot_1.jpg', 'colorful_teapot_2.jpg', 'colorful_teapot_3.jpg', 'colorful_teapot_4.jpg']
            .map((f) => concept('colorful_teapot', f))
            .join(' '),
        `/teach Billy object ${['billy_dog_1.jpg', 'billy_dog_2.jpg', 'billy_dog_3.jpg', 'billy_dog_4.jpg'].map((f) => concept('billy_dog', f)).join(' ')}`,
        `/notit Billy ${lookalike('000000011401.jpg')} ${lookalike('000000018155.jpg')}`,
        concept('billy_dog', 'billy_dog_10.jpg'),
        concept('colorful_teapot', 'colorful_teapot_7.jpg'),
        '/concepts',
      ].join('\n') + '\n',
    );
    await done;
    const lines = printed.split('\n');
    expect(printed).toMatch(/Nice to meet Billy! I learned what they look like from 4 photo\(s\)\./);
    expect(printed).toMatch(/Got it: I now know 2 photo\(s\) that are not Billy\./);
    const answers = lines.filter((l) => l.startsWith('I see ') || l.startsWith("I don't see"));
    expect(answers).toHaveLength(2);
    expect(answers[0]).toMatch(/Billy/);
    expect(answers[1]).not.toMatch(/Billy/);
    expect(printed).toMatch(/• Billy \(object, 4 photos\)\n• Teapot \(object, 4 photos\)/);
  });
});
