// /teach with several names and one group photo, on the real core, store and
// face models: the names go to the faces from left to right, and each person
// is then recognized in other photos of them. A lesson whose faces and names
// do not line up stores nothing. The faces are dlib's ResNet's, the default
// recognizer.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IncomingImage } from '../../src/assistant/turn.ts';
import { testAssistant } from '../support/assistant.ts';
import { SHARED_DATA } from '../support/paths.ts';

const faces = (...parts: string[]) => path.join(SHARED_DATA, 'faces', ...parts);

async function photo(file: string): Promise<IncomingImage> {
  return { bytes: new Uint8Array(await readFile(file)), name: path.basename(file) };
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
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
  const scope = `test:group-${++scopes}`;
  return {
    scope,
    say: async (text: string, images: IncomingImage[] = []) =>
      (await runtime.assistant.handle({ scope, user: 'test:me', isScopeAdmin: false, text, images })).text,
  };
}

describe('teaching several people from one group photo', () => {
  // groups.json: "left to right: Ian Malcolm (Jeff Goldblum), Alan Grant (Sam Neill), Ellie Sattler (Laura Dern)".
  const group = faces('_groups', 'jp_example_01.jpg');

  it('gives the names to the faces left to right, then recognizes each person in other photos', async () => {
    const { scope, say } = chat();
    expect(await say('/teach Ian, Alan and Ellie', [await photo(group)])).toBe(
      'Nice to meet Ian, Alan and Ellie! From left to right in the photo.',
    );
    const taught = await runtime.store.list(scope);
    expect(taught.map((c) => [c.name, c.kind, c.head?.type, c.photos.length])).toEqual([
      ['Alan', 'person', 'face', 1],
      ['Ellie', 'person', 'face', 1],
      ['Ian', 'person', 'face', 1],
    ]);
    // Every other photo of each of them (none is the group photo: compared by content), asked without a caption.
    const taughtHash = sha256(await readFile(group));
    const folders = { Ian: 'jeff_goldblum', Alan: 'sam_neill', Ellie: 'laura_dern' };
    for (const [name, folder] of Object.entries(folders)) {
      const replies: string[] = [];
      for (const file of (await readdir(faces(folder))).sort()) {
        const image = await photo(faces(folder, file));
        if (sha256(image.bytes) === taughtHash) continue;
        replies.push((await say('', [image])).split('\n')[0]);
      }
      // Never someone else's name; a miss is "a person I don't know".
      for (const reply of replies)
        expect(reply).toMatch(new RegExp(`^I see (${name}( \\((left|centre|right)\\))?|a person I don't know)\\.$`));
      const recognized = replies.filter((r) => r.startsWith(`I see ${name}`)).length;
      // From one key each, measured: Ian 9 of 9, Alan 7 of 9, Ellie 17 of 18.
      expect(recognized / replies.length, name).toBeGreaterThanOrEqual(0.75);
    }
  }, 120_000);

  it('adds the face to a person it knows, and refuses a face that is not them', async () => {
    const { scope, say } = chat();
    await say('/teach Alan', [await photo(faces('sam_neill', 'jp_alan_grant_00000005.jpg'))]);
    expect(await say('/teach Ian, Alan, Ellie', [await photo(group)])).toBe(
      'Nice to meet Ian, Alan and Ellie! From left to right in the photo.\nI now know Alan from 2 photo(s).',
    );
    const other = chat();
    await other.say('/teach Alan', [await photo(faces('sam_neill', 'jp_alan_grant_00000005.jpg'))]);
    expect(await other.say('/teach Alan, Ian, Ellie', [await photo(group)])).toBe(
      'The 1st face from the left does not look like the Alan I know. Give the names from left to right, or check who is who.',
    );
    expect((await runtime.store.list(other.scope)).map((c) => [c.name, c.photos.length])).toEqual([['Alan', 1]]);
    expect((await runtime.store.list(scope)).map((c) => c.name)).toEqual(['Alan', 'Ellie', 'Ian']);
    expect(await say('/teach Ian, Alan and Ellie', [await photo(group)])).toBe(
      'I already have this photo of Ian, Alan and Ellie; send a new one to teach me more.',
    );
  }, 120_000);

  it('refuses when the faces and the names do not line up, and stores nothing', async () => {
    const { scope, say } = chat();
    expect(await say('/teach Ian, Alan', [await photo(group)])).toBe(
      'I see 3 faces but you gave 2 names: Ian and Alan. Give one name per face, from left to right.',
    );
    expect(await say('/teach Ian, Alan, Ellie, John', [await photo(group)])).toBe(
      'I see 3 faces but you gave 4 names: Ian, Alan, Ellie and John. Give one name per face, from left to right.',
    );
    // Without a comma, "and" may be part of one pet's name.
    expect(await say('/teach Salt and Pepper', [await photo(group)])).toBe(
      'I see 3 faces but you gave 2 names: Salt and Pepper. Give one name per face, from left to right.\n' +
        'If Salt and Pepper is one thing or pet, send /teach Salt and Pepper object with the photo.',
    );
    expect(
      await say('/teach Ian, Alan, Ellie', [
        await photo(group),
        await photo(faces('sam_neill', 'jp_alan_grant_00000005.jpg')),
      ]),
    ).toBe(
      'To teach Ian, Alan and Ellie at once, send one photo that shows them all, with their names from left to right.',
    );
    expect(await say('/concepts')).toBe(
      "I don't know anyone or anything here yet. Send photos with /teach <name> to introduce someone.",
    );
    expect(await runtime.store.list(scope)).toEqual([]);
  }, 120_000);

  it('refuses faces too small to learn from, and names that pass for one another', async () => {
    const { scope, say } = chat();
    const { width } = await sharp(group).metadata();
    const small = await sharp(group)
      .resize({ width: Math.round(width * 0.2) })
      .jpeg()
      .toBuffer();
    expect(await say('/teach Ian, Alan, Ellie', [{ bytes: new Uint8Array(small), name: 'small.jpg' }])).toBe(
      [
        'I could not learn Ian, Alan and Ellie from this photo:',
        'The 1st face from the left (Ian): it is too small to learn from (under 24 pixels).',
        'The 3rd face from the left (Ellie): it is too small to learn from (under 24 pixels).',
        'Use a closer photo, or teach them one at a time.',
      ].join('\n'),
    );
    expect(await say('/teach Ian, Alan, ian', [await photo(group)])).toBe(
      'You gave Ian and ian; each face needs its own name.',
    );
    expect(await say('/teach Ian, Alan, Оbama', [await photo(group)])).toBe(
      'Оbama mixes Latin and Cyrillic letters that look alike in one word; please write it in one alphabet.',
    );
    expect(await runtime.store.list(scope)).toEqual([]);
  }, 120_000);
});
