// /refer, /caption and /ask through the real core: real SQLite store, real
// face models on real photos, and tiny MiniGPT-v2 models. For REC the tiny
// model's decoder is scripted (logits get a bonus on chosen tokens from the
// answer's first position on), so it answers a known box string through the
// whole real pipeline: vision encoder, concept injection, generation,
// decoding, parsing, mapping back to the photo and drawing.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTerminal } from '../../adapters/terminal/terminal.ts';
import { Assistant } from '../../src/assistant/assistant.ts';
import type { Reply } from '../../src/assistant/turn.ts';
import { createConceptHeads } from '../../src/heads/concept-heads.ts';
import type { ConceptHeads } from '../../src/heads/types.ts';
import { OPERATOR_NOTICE } from '../../src/errors.ts';
import { decodeImage } from '../../src/image/decode.ts';
import { fittedSize, REPLY_IMAGE_MAX_SIDE } from '../../src/image/encode.ts';
import { KeyvConceptStore } from '../../src/memory/keyv-store.ts';
import { SessionPool } from '../../src/models/session.ts';
import { writeTinyMiniGptV2 } from '../../src/onnx/tiny/factory.ts';
import { vlmIdForFolder } from '../../src/vlm/load.ts';
import { lazyVlm, type VlmProvider } from '../../src/vlm/provider.ts';
import { sharedPhoto } from '../support/paths.ts';
import { testSettings } from '../support/assistant.ts';
import { vector, writeScriptedMiniGptV2 } from './support.ts';

const SCOPE = 'terminal:local';
const TINY = { seed: 9 } as const;
const photo = (name: string) => sharedPhoto('ageitgey', name);

/** What each scripted model answers to "[refer] Obama in the image". */
const SCRIPTS = {
  box: '{<20><30><70><80>}',
  threeNumbers: '{<20><30><70>}',
  outOfRange: '{<20><30><170><80>}',
  noBox: 'a dog on the sofa',
} as const;

let scratch: string;
let store: KeyvConceptStore;
let heads: ConceptHeads;
let sessions: SessionPool;
const providers: VlmProvider[] = [];
const assistants = {} as Record<keyof typeof SCRIPTS | 'plain', Assistant>;
const dirs = {} as Record<keyof typeof SCRIPTS | 'plain', string>;
let hidden: number;

async function chat(core: Assistant, lines: string[], workDir: string): Promise<string> {
  const input = new PassThrough();
  const output = new PassThrough();
  let printed = '';
  output.on('data', (chunk: Buffer) => (printed += chunk.toString()));
  const done = runTerminal({ core, input, output, cwd: workDir, outputDir: 'out', scope: SCOPE });
  input.end(`${lines.join('\n')}\n`);
  await done;
  return printed;
}

async function ask(core: Assistant, text: string, image: string): Promise<Reply> {
  return core.handle({
    scope: SCOPE,
    user: 'terminal:me',
    isScopeAdmin: true,
    text,
    images: [{ bytes: readFileSync(image), name: path.basename(image) }],
  });
}

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'myvlm-vlm-refer-'));
  const settings = testSettings();
  sessions = new SessionPool();
  store = await KeyvConceptStore.open({ directory: settings.dataDir });
  heads = createConceptHeads(settings, sessions);

  dirs.plain = (await writeTinyMiniGptV2(path.join(scratch, 'plain'), TINY)).dir;
  for (const [name, answer] of Object.entries(SCRIPTS) as [keyof typeof SCRIPTS, string][]) {
    dirs[name] = path.join(scratch, name);
    await writeScriptedMiniGptV2(dirs[name], TINY, 'Obama', answer);
  }
  hidden = (
    JSON.parse(readFileSync(path.join(dirs.plain, 'config.json'), 'utf8')) as { text_config: { hidden_size: number } }
  ).text_config.hidden_size;
  for (const [name, dir] of Object.entries(dirs) as [keyof typeof dirs, string][]) {
    const vlm = lazyVlm(dir, { resolve: { cacheDir: scratch, allowDownload: false }, sessions });
    providers.push(vlm);
    assistants[name] = new Assistant({
      store,
      heads,
      imageLimits: { maxBytes: settings.maxImageBytes, maxPixels: settings.maxImagePixels },
      vlm,
    });
  }
});

afterAll(async () => {
  for (const provider of providers) await provider.dispose();
  await sessions?.dispose();
  await store?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('/refer with a vision-language model', () => {
  it('draws the box and the name where the model said, through the terminal chat', async () => {
    const workDir = mkdtempSync(path.join(scratch, 'terminal-'));
    const taught = await chat(
      assistants.box,
      [`/teach Obama "${photo('obama.jpg')}" "${photo('obama2.jpg')}"`, `/teach Biden "${photo('biden.jpg')}"`],
      workDir,
    );
    expect(taught).toMatch(/Nice to meet Obama!/);
    expect(taught).toMatch(/Nice to meet Biden!/);
    // Obama's embedding was learned for every tiny model (they share their weights); Biden has none.
    const obama = await store.findByName(SCOPE, 'Obama');
    expect(obama?.identifier).toBe('Obama');
    await store.modify(SCOPE, obama?.id ?? '', (draft) => {
      for (const dir of Object.values(dirs))
        draft.embeddings[vlmIdForFolder(dir)] = {
          vector: vector(hidden, 1),
          steps: 100,
          finalLoss: 0.2,
          updatedAt: new Date().toISOString(),
        };
    });

    const out = await chat(assistants.box, [`/refer Obama "${photo('obama3.jpg')}"`], workDir);
    expect(out).toMatch(/^Obama is here, marked on the photo\.$/m);
    const saved = readdirSync(path.join(workDir, 'out'));
    expect(saved).toHaveLength(1);
    expect(out).toContain(`[image saved: ${path.join(workDir, 'out', saved[0])}]`);

    // The model said {<20><30><70><80>} on its 0-100 grid; MiniGPT-v2 sees the whole photo stretched, so the box is 20%-70% across, 30%-80% down.
    // The reply is a JPEG fitted to REPLY_IMAGE_MAX_SIDE, so colours are compared within JPEG's error.
    const decoded = await decodeImage(readFileSync(photo('obama3.jpg')));
    const { width: W, height: H } = fittedSize(decoded.width, decoded.height, REPLY_IMAGE_MAX_SIDE);
    expect(Math.max(W, H)).toBeLessThanOrEqual(REPLY_IMAGE_MAX_SIDE);
    const original = await sharp(decoded.data, { raw: { width: decoded.width, height: decoded.height, channels: 3 } })
      .resize(W, H, { fit: 'fill' })
      .raw()
      .toBuffer();
    const drawn = await sharp(path.join(workDir, 'out', saved[0]))
      .raw()
      .toBuffer({ resolveWithObject: true });
    expect(saved[0]).toMatch(/\.jpg$/);
    expect([drawn.info.width, drawn.info.height]).toEqual([W, H]);
    const stroke = Math.max(2, Math.round(Math.min(W, H) / 150));
    const pixel = (data: Uint8Array | Buffer, channels: number, x: number, y: number) => {
      const i = (Math.round(y) * W + Math.round(x)) * channels;
      return [data[i], data[i + 1], data[i + 2]];
    };
    const close = (a: number[], b: number[]) => a.every((v, i) => Math.abs(v - b[i]) <= 40);
    const red = [255, 59, 48];
    const [x0, y0, x1, y1] = [0.2 * W, 0.3 * H, 0.7 * W, 0.8 * H];
    const onStroke = [
      [x0 + stroke / 2, (y0 + y1) / 2],
      [x1 - stroke / 2, (y0 + y1) / 2],
      [(x0 + x1) / 2, y0 + stroke / 2],
      [(x0 + x1) / 2, y1 - stroke / 2],
    ];
    for (const [x, y] of onStroke) {
      expect(close(pixel(drawn.data, drawn.info.channels, x, y), red)).toBe(true);
      expect(close(pixel(original, 3, x, y), red)).toBe(false);
    }
    // Just outside the box and in its middle, the photo is untouched.
    for (const [x, y] of [
      [x0 - 3 * stroke, (y0 + y1) / 2],
      [(x0 + x1) / 2, (y0 + y1) / 2],
      [x1 + 3 * stroke, (y0 + y1) / 2],
    ]) {
      expect(close(pixel(drawn.data, drawn.info.channels, x, y), pixel(original, 3, x, y))).toBe(true);
    }
    // The label tab sits on top of the box's left corner, in the box colour.
    expect(close(pixel(drawn.data, drawn.info.channels, x0 + 2, y0 - 3), red)).toBe(true);
  });

  it('answers "I could not locate Obama" for malformed boxes, with the recognized face instead', async () => {
    const cases: Array<[keyof typeof SCRIPTS, string]> = [
      ['threeNumbers', 'its box has 3 numbers instead of 4'],
      ['outOfRange', 'a coordinate (170) is outside the 0-100 grid'],
      ['noBox', 'there is no box in it'],
    ];
    for (const [name, reason] of cases) {
      const reply = await ask(assistants[name], '/refer Obama', photo('obama3.jpg'));
      expect(reply.text).toMatch(
        new RegExp(
          `^I could not locate Obama in this photo: the model answered, but ${reason.replace(/[()]/g, '\\$&')}\\.$`,
          'm',
        ),
      );
      expect(reply.text).toMatch(
        /^I did recognize Obama's face \((on the left|in the centre|on the right)\), marked on the photo\.$/m,
      );
      expect(reply.images).toHaveLength(1);
      expect(reply.images[0].name).toBe('refer-obama.jpg');
    }
  });

  it('says who is missing, and falls back to the face for a person without an embedding', async () => {
    const missing = await ask(assistants.box, '/refer Biden', photo('obama3.jpg'));
    expect(missing.text).toMatch(/^I could not find Biden in this photo\.$/m);
    expect(missing.images).toHaveLength(0);
    const noEmbedding = await ask(assistants.box, '/refer Biden', photo('biden__biden2.jpg'));
    expect(noEmbedding.text).toMatch(
      /^Biden is here \((on the left|in the centre|on the right)\), marked on the photo\.$/m,
    );
    expect(noEmbedding.text).toMatch(/I have not learned Biden for the vision-language model yet/);
    expect(noEmbedding.images).toHaveLength(1);
  });
});

describe('/caption and questions with a vision-language model', () => {
  it('injects the concepts that have an embedding and mentions the others from the heads', async () => {
    const reply = await ask(assistants.plain, '/caption', photo('test__obama_and_biden.jpg'));
    const lines = reply.text.split('\n');
    expect(lines[0].length).toBeGreaterThan(0);
    expect(reply.text).toMatch(
      /^I also recognize Biden \((left|centre|right)\) here, but I have not learned to describe Biden by name yet\.$/m,
    );
    // The tiny model talks nonsense, so Obama's name is not in its caption: the heads add it.
    expect(reply.text).toMatch(/^\(I recognize Obama \((left|centre|right)\) in this photo\.\)$/m);
    expect(reply.text).not.toMatch(/No vision-language model/);
  });

  it('answers a question and notes a known concept it does not see', async () => {
    const reply = await ask(assistants.plain, 'Is Biden here with Obama?', photo('obama3.jpg'));
    expect(reply.text).toMatch(/^\(I don't see Biden in this photo\.\)$/m);
    expect(reply.text).toMatch(/^\(I recognize Obama \((left|centre|right)\) in this photo\.\)$/m);
    const empty = await ask(assistants.plain, '/ask', photo('obama3.jpg'));
    expect(empty.text).toBe('What would you like to know about this photo?');
  });

  it('answers from the heads, saying why, when the model cannot be loaded', async () => {
    const broken = lazyVlm(path.join(scratch, 'no-such-model'), {
      resolve: { cacheDir: scratch, allowDownload: false },
      sessions,
    });
    const core = new Assistant({
      store,
      heads,
      imageLimits: { maxBytes: 25 * 1024 * 1024, maxPixels: 50_000_000 },
      vlm: broken,
    });
    const reply = await ask(core, '/caption', photo('obama3.jpg'));
    expect(reply.text).toMatch(/^I see Obama \((left|centre|right)\)\.$/m);
    // A model that is not there is the operator's to fix: the chat hears that, not the path.
    expect(reply.text).toMatch(
      /^The vision-language model is not available, so I can only tell who and what I recognize\.$/m,
    );
    expect(reply.text).toContain(OPERATOR_NOTICE);
    expect(reply.text).not.toMatch(/no-such-model/);
  });
});
