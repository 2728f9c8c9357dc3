// /teach checks itself, on the real small models and real photos: one person
// per lesson, each photo once, 1 to 4 photos, names that do not pass for
// another, pets that are not people, and photos too small to learn from. The
// faces are dlib's ResNet's, the default recognizer; the one-person checks
// run with MobileFaceNet too, since each recognizer has its own measured bound.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IncomingImage } from '../../src/assistant/turn.ts';
import { testAssistant } from '../support/assistant.ts';
import { SHARED_DATA, sharedPhoto } from '../support/paths.ts';

const ageitgey = (name: string) => sharedPhoto('ageitgey', name);
const faceonnx = (name: string) => sharedPhoto('faceonnx', name);
const concept = (folder: string, name: string) => path.join(SHARED_DATA, 'myvlm', 'concepts', folder, name);

async function photos(...files: string[]): Promise<IncomingImage[]> {
  return Promise.all(files.map(async (f) => ({ bytes: new Uint8Array(await readFile(f)), name: path.basename(f) })));
}

async function blank(side: number, name: string): Promise<IncomingImage> {
  const png = await sharp({ create: { width: side, height: side, channels: 3, background: '#c08040' } })
    .png()
    .toBuffer();
  return { bytes: new Uint8Array(png), name };
}

type Runtime = Awaited<ReturnType<typeof testAssistant>>;

/** The default recognizer (src/config/settings.ts). */
const DEFAULT_RECOGNIZER = 'dlib-resnet-v1';
const runtimes = new Map<string, Runtime>();
let scopes = 0;

beforeAll(async () => {
  for (const recognizer of [DEFAULT_RECOGNIZER, 'mobilefacenet'])
    runtimes.set(recognizer, await testAssistant({ MYVLM_FACE_RECOGNIZER: recognizer }));
});
afterAll(async () => {
  for (const runtime of runtimes.values()) await runtime.close();
});

/** A fresh chat per test; `say` sends one message with photos to it. */
function chat(recognizer = DEFAULT_RECOGNIZER) {
  const runtime = runtimes.get(recognizer)!;
  const scope = `test:checks-${++scopes}`;
  return {
    scope,
    store: runtime.store,
    say: async (text: string, images: IncomingImage[] = []) =>
      (await runtime.assistant.handle({ scope, user: 'test:me', isScopeAdmin: false, text, images })).text,
  };
}

describe.each([DEFAULT_RECOGNIZER, 'mobilefacenet'])('one person per lesson (%s)', (recognizer) => {
  it('runs on the recognizer it names', () => {
    expect(runtimes.get(recognizer)?.settings.faceRecognizer).toBe(recognizer);
  });

  it('refuses photos that show two people, naming the odd one out, and stores nothing', async () => {
    const { scope, store, say } = chat(recognizer);
    const reply = await say(
      '/teach Anna',
      await photos(faceonnx('sarah_1.jpg'), faceonnx('sarah_2.jpg'), ageitgey('obama.jpg')),
    );
    expect(reply).toBe('Photo 3 (obama.jpg) shows someone else than photos 1 and 2; send only photos of Anna.');
    expect(await store.findByName(scope, 'Anna')).toBeNull();
  }, 60_000);

  it('refuses a later photo of someone else than the person it knows', async () => {
    const { scope, store, say } = chat(recognizer);
    expect(await say('/teach Anna', await photos(faceonnx('sarah_1.jpg'), faceonnx('sarah_2.jpg')))).toMatch(
      /^Nice to meet Anna! I learned their face from 2 photo\(s\)\.$/,
    );
    const reply = await say('/teach Anna', await photos(faceonnx('sarah_3.jpg'), ageitgey('obama.jpg')));
    expect(reply).toBe('Photo 2 (obama.jpg) shows someone else than the Anna I know; send only photos of Anna.');
    expect((await store.findByName(scope, 'Anna'))?.photos).toHaveLength(2);
  }, 60_000);

  it('says when two photos do not show one person', async () => {
    const { say } = chat(recognizer);
    expect(await say('/teach Anna person', await photos(ageitgey('obama.jpg'), ageitgey('biden.jpg')))).toBe(
      'Photo 1 (obama.jpg) and photo 2 (biden.jpg) do not look like the same person to me; send only photos of Anna.',
    );
  }, 60_000);

  it('teaches a new person who looks like a known one, and says so', async () => {
    const { say } = chat(recognizer);
    await say('/teach Obama', await photos(ageitgey('obama.jpg'), ageitgey('obama2.jpg')));
    expect(await say('/teach Barack', await photos(ageitgey('obama3.jpg')))).toBe(
      [
        'Nice to meet Barack! I learned their face from 1 photo(s).',
        'Barack looks like Obama, whom I know already. If they are the same person, keep one name (/merge Barack into Obama); if not, I may mix them up.',
      ].join('\n'),
    );
  }, 60_000);
});

describe('each photo once, 1 to 4 per lesson', () => {
  it('counts a photo sent twice once, and says so; the same photo again later teaches nothing new', async () => {
    const { scope, store, say } = chat();
    const reply = await say(
      '/teach Obama',
      await photos(ageitgey('obama.jpg'), ageitgey('obama.jpg'), ageitgey('obama2.jpg')),
    );
    expect(reply).toBe(
      [
        'Nice to meet Obama! I learned their face from 2 photo(s).',
        '(Photo 2 (obama.jpg) is photo 1 (obama.jpg) again, so I counted it once.)',
      ].join('\n'),
    );
    const obama = await store.findByName(scope, 'Obama');
    expect(obama?.photos).toHaveLength(2);
    expect(obama?.head?.type === 'face' && obama.head.keys.length / obama.head.dims).toBe(2);
    expect(await say('/teach Obama', await photos(ageitgey('obama2.jpg')))).toBe(
      'I already have this photo of Obama; send new ones to teach me more.',
    );
    expect(await say('/teach Obama', await photos(ageitgey('obama2.jpg'), ageitgey('obama3.jpg')))).toBe(
      ['Thanks! I now know Obama from 3 photo(s).', '(I already had photo 1 (obama2.jpg) of Obama.)'].join('\n'),
    );
  }, 60_000);

  it('refuses more than 4 different photos in one lesson', async () => {
    const { scope, store, say } = chat();
    const six = await photos(
      faceonnx('brad_1.jpg'),
      faceonnx('brad_2.jpg'),
      faceonnx('brad_3.jpg'),
      faceonnx('brad_pitt_fit.jpg'),
      ageitgey('obama.jpg'),
      ageitgey('obama2.jpg'),
    );
    expect(await say('/teach Brad', six)).toBe(
      'A lesson takes 1 to 4 photos; you sent 6. Send up to 4, and teach again to add more.',
    );
    expect(await store.findByName(scope, 'Brad')).toBeNull();
    // Five files, but one twice: four photos, within the limit.
    const five = await photos(
      faceonnx('brad_1.jpg'),
      faceonnx('brad_2.jpg'),
      faceonnx('brad_3.jpg'),
      faceonnx('brad_pitt_fit.jpg'),
      faceonnx('brad_1.jpg'),
    );
    expect(await say('/teach Brad', five)).toMatch(/^Nice to meet Brad! I learned their face from 4 photo\(s\)\.\n/);
  }, 60_000);
});

describe('names that look like another', () => {
  it('refuses Cyrillic and Greek look-alikes of a known name, and folds full-width letters into it', async () => {
    const { scope, store, say } = chat();
    await say('/teach Obama', await photos(ageitgey('obama.jpg')));
    const more = await photos(ageitgey('obama2.jpg'));
    expect(await say('/teach \u041Ebama', more)).toBe(
      '\u041Ebama looks just like Obama, whom I know already; pick a different name.',
    );
    expect(await say('/teach \u039Fbama', more)).toBe(
      '\u039Fbama looks just like Obama, whom I know already; pick a different name.',
    );
    expect(await say('/teach 0bama', more)).toBe(
      '0bama looks just like Obama, whom I know already; pick a different name.',
    );
    // Full-width letters are the same name: the photo is added to Obama.
    expect(await say('/teach \uFF2F\uFF42\uFF41\uFF4D\uFF41', more)).toBe('Thanks! I now know Obama from 2 photo(s).');
    expect((await store.list(scope)).map((c) => c.name)).toEqual(['Obama']);
  }, 60_000);

  it('refuses a new name that mixes look-alike alphabets in one word', async () => {
    const { say } = chat();
    expect(await say('/teach \u0410nna', await photos(faceonnx('nicole_1.jpg')))).toBe(
      '\u0410nna mixes Latin and Cyrillic letters that look alike in one word; please write it in one alphabet.',
    );
  }, 60_000);
});

describe('people, pets and things', () => {
  it('teaches dog photos without a kind as a thing or pet, never as a face', async () => {
    const { scope, store, say } = chat();
    const reply = await say(
      '/teach Rex',
      await photos(...[1, 2, 3].map((n) => concept('billy_dog', `billy_dog_${n}.jpg`))),
    );
    expect(reply).toBe(
      [
        'Nice to meet Rex! I learned what they look like from 3 photo(s).',
        '(I took Rex for a thing or a pet, not a person. If that is wrong, send /forget Rex, then /teach Rex person with the photos.)',
      ].join('\n'),
    );
    expect((await store.findByName(scope, 'Rex'))?.kind).toBe('object');
  }, 60_000);

  it('asks when the photos do not tell: a dog whose face the detector half-believes', async () => {
    const { scope, store, say } = chat();
    const reply = await say(
      '/teach Bo',
      await photos(concept('bo', '1.png'), concept('bo', '2.png'), concept('bo', '5.png')),
    );
    expect(reply).toBe('Is Bo a person or a thing/pet? Send /teach Bo person or /teach Bo object with the photos.');
    expect(await store.findByName(scope, 'Bo')).toBeNull();
  }, 60_000);

  it('refuses a photo without a face when told it is a person', async () => {
    const { say } = chat();
    expect(await say('/teach Anna person', await photos(concept('colorful_teapot', 'colorful_teapot_1.jpg')))).toBe(
      'I could not learn Anna from these photos:\n' +
        'photo 1 (colorful_teapot_1.jpg): I could not find a face in it. Use a photo where the face is clearly visible, facing the camera and not too small.',
    );
  }, 60_000);

  it('refuses images too small to learn from, for both kinds', async () => {
    const { say } = chat();
    const dot = await blank(1, 'dot.png');
    const expected =
      'I could not use any of the photos:\nphoto 1 (dot.png): it is only 1x1 pixels; send a photo at least 64 pixels on each side.';
    expect(await say('/teach Dot object', [dot])).toBe(expected);
    expect(await say('/teach Dot person', [dot])).toBe(expected);
    expect(await say('/teach Dot', [dot, await blank(50, 'thumb.png')])).toBe(
      [
        'I could not use any of the photos:',
        'photo 1 (dot.png): it is only 1x1 pixels; send a photo at least 64 pixels on each side.',
        'photo 2 (thumb.png): it is only 50x50 pixels; send a photo at least 64 pixels on each side.',
      ].join('\n'),
    );
  }, 60_000);
});
