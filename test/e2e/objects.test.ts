// Objects through the terminal chat: teach a dog from four real MyVLM photos,
// add "not it" photos of other dogs, then find it in a held-out photo and not
// in a photo of another concept. Real store, real MobileNetV3 features.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { horizontalPosition, SIDE_TOLERANCE } from '../../src/image/box.ts';
import { decodeImage } from '../../src/image/decode.ts';
import { SHARED_DATA } from '../support/paths.ts';
import { testAssistant } from '../support/assistant.ts';
import { chatInTerminal } from '../support/terminal-chat.ts';

const conceptFile = (name: string, file: string) => path.join(SHARED_DATA, 'myvlm', 'concepts', name, file);
const concept = (name: string, file: string) => `"${conceptFile(name, file)}"`;
const lookalike = (file: string) => `"${path.join(SHARED_DATA, 'myvlm', 'negatives', 'billy_dog', file)}"`;

describe('object concepts through the terminal chat', () => {
  let runtime: Awaited<ReturnType<typeof testAssistant>>;

  beforeAll(async () => {
    runtime = await testAssistant();
  });
  afterAll(() => runtime.close());

  it('teaches Billy, learns what is not Billy, and recognizes Billy only in Billy photos', async () => {
    const printed = await chatInTerminal(runtime.assistant, [
      '/teach Teapot object ' +
        ['colorful_teapot_1.jpg', 'colorful_teapot_2.jpg', 'colorful_teapot_3.jpg', 'colorful_teapot_4.jpg']
          .map((f) => concept('colorful_teapot', f))
          .join(' '),
      `/teach Billy object ${['billy_dog_1.jpg', 'billy_dog_2.jpg', 'billy_dog_3.jpg', 'billy_dog_4.jpg'].map((f) => concept('billy_dog', f)).join(' ')}`,
      `/notit Billy ${lookalike('000000011401.jpg')} ${lookalike('000000018155.jpg')}`,
      concept('billy_dog', 'billy_dog_10.jpg'),
      concept('colorful_teapot', 'colorful_teapot_7.jpg'),
      '/concepts',
    ]);
    const lines = printed.split('\n');
    expect(printed).toMatch(/Nice to meet Billy! I learned what they look like from 4 photo\(s\)\./);
    expect(printed).toMatch(/Got it: I now know 2 photo\(s\) that are not Billy\./);
    const answers = lines.filter((l) => l.startsWith('I see ') || l.startsWith("I don't see"));
    expect(answers).toHaveLength(2);
    expect(answers[0]).toMatch(/Billy/);
    expect(answers[1]).not.toMatch(/Billy/);
    expect(printed).toMatch(/• Billy \(object, 4 photos\)\n• Teapot \(object, 4 photos\)/);
  });

  it('points at Billy without a VLM: /refer draws a labelled box where the answer says Billy is', async () => {
    const send = (text: string, files: string[]) =>
      runtime.assistant.handle({
        scope: 'test:refer',
        user: 'test:me',
        isScopeAdmin: true,
        text,
        images: files.map((f) => ({ bytes: readFileSync(f), name: path.basename(f) })),
      });
    const photos = (name: string, numbers: number[]) => numbers.map((n) => conceptFile(name, `${name}_${n}.jpg`));
    await send('/teach Teapot object', photos('colorful_teapot', [1, 2, 3, 4]));
    const taught = await send('/teach Billy object', photos('billy_dog', [1, 2, 3, 4]));
    expect(taught.text).toMatch(/Nice to meet Billy!/);
    const held = photos('billy_dog', [10]);

    const plain = await send('', held);
    const where = /I see Billy \((left|centre|right)\)/.exec(plain.text);
    expect(where, plain.text).not.toBeNull();

    const reply = await send('/refer Billy', held);
    const words = { left: 'on the left', centre: 'in the centre', right: 'on the right' } as const;
    expect(reply.text).toContain(`Billy is here (${words[where![1] as keyof typeof words]}), marked on the photo.`);
    expect(reply.text).toContain('No vision-language model is configured');
    expect(reply.images).toHaveLength(1);
    expect(reply.images[0].mimeType).toBe('image/jpeg');
    // The box is drawn in the first palette colour (#ff3b30): find its outline and check it sits where the text says.
    const drawn = await decodeImage(reply.images[0].bytes);
    const original = await decodeImage(readFileSync(held[0]));
    expect(drawn.width / drawn.height).toBeCloseTo(original.width / original.height, 1);
    let minX = Infinity;
    let maxX = -1;
    let red = 0;
    for (let y = 0; y < drawn.height; y++) {
      for (let x = 0; x < drawn.width; x++) {
        const i = (y * drawn.width + x) * 3;
        if (drawn.data[i] > 200 && drawn.data[i + 1] < 90 && drawn.data[i + 2] < 90) {
          red += 1;
          minX = Math.min(minX, x);
          maxX = Math.max(maxX, x);
        }
      }
    }
    expect(red).toBeGreaterThan(drawn.width);
    const outline = { x: minX, y: 0, width: maxX - minX + 1, height: 1 };
    expect(horizontalPosition(outline, drawn.width, SIDE_TOLERANCE)).toBe(where![1]);
  });
});
