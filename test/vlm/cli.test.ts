// `myvlm caption|ask|refer` over the same core: the store in MYVLM_DATA_DIR,
// the shared face models, a tiny MiniGPT-v2 named by --vlm, and exit codes a
// script can rely on.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Assistant } from '../../src/assistant/assistant.ts';
import { OperatorError, UsageError } from '../../src/errors.ts';
import { vlmCommand } from '../../src/cli/vlm.ts';
import { createConceptHeads } from '../../src/heads/concept-heads.ts';
import { decodeImage } from '../../src/image/decode.ts';
import { KeyvConceptStore } from '../../src/memory/keyv-store.ts';
import { SessionPool } from '../../src/models/session.ts';
import { writeTinyMiniGptV2 } from '../../src/onnx/tiny/factory.ts';
import { vlmIdForFolder } from '../../src/vlm/load.ts';
import { sharedPhoto, SHARED_MODELS } from '../support/paths.ts';
import { testSettings } from '../support/assistant.ts';
import { vector, writeScriptedMiniGptV2 } from './support.ts';

const photo = (name: string) => sharedPhoto('ageitgey', name);
const TINY = { seed: 21 } as const;

let scratch: string;
let dataDir: string;
let plainDir: string;
let scriptedDir: string;

/** Runs one command, capturing what it prints. */
async function run(
  command: 'caption' | 'ask' | 'refer',
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi
    .spyOn(process.stdout, 'write')
    .mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  const err = vi
    .spyOn(process.stderr, 'write')
    .mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  try {
    return { code: await vlmCommand(command, args), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'myvlm-vlm-cli-'));
  plainDir = (await writeTinyMiniGptV2(path.join(scratch, 'plain'), TINY)).dir;
  scriptedDir = path.join(scratch, 'scripted');
  await writeScriptedMiniGptV2(scriptedDir, TINY, 'Obama', '{<10><20><60><90>}');
  // Teach Obama in the terminal scope, as `myvlm chat` would have, with an embedding for both tiny models.
  const settings = testSettings();
  dataDir = settings.dataDir;
  const store = await KeyvConceptStore.open({ directory: dataDir });
  const sessions = new SessionPool();
  try {
    const core = new Assistant({
      store,
      heads: createConceptHeads(settings, sessions),
      imageLimits: { maxBytes: settings.maxImageBytes, maxPixels: settings.maxImagePixels },
    });
    const images = ['obama.jpg', 'obama2.jpg'].map((name) => ({ bytes: readFileSync(photo(name)), name }));
    const reply = await core.handle({
      scope: 'terminal:local',
      user: 'terminal:me',
      isScopeAdmin: true,
      text: '/teach Obama',
      images,
    });
    expect(reply.text).toMatch(/Nice to meet Obama!/);
    const obama = await store.findByName('terminal:local', 'Obama');
    const hidden = (
      JSON.parse(readFileSync(path.join(plainDir, 'config.json'), 'utf8')) as { text_config: { hidden_size: number } }
    ).text_config.hidden_size;
    await store.modify('terminal:local', obama?.id ?? '', (draft) => {
      for (const dir of [plainDir, scriptedDir])
        draft.embeddings[vlmIdForFolder(dir)] = {
          vector: vector(hidden, 2),
          steps: 100,
          finalLoss: 0.3,
          updatedAt: new Date().toISOString(),
        };
    });
  } finally {
    await sessions.dispose();
    await store.close();
  }
  for (const [name, value] of Object.entries({
    MYVLM_DATA_DIR: dataDir,
    MYVLM_CACHE_DIR: path.join(scratch, 'cache'),
    MYVLM_MODELS_DIR: SHARED_MODELS,
    MYVLM_OFFLINE: '1',
    MYVLM_FACE_RECOGNIZER: 'mobilefacenet',
    MYVLM_IMAGE_FEATURES: 'mobilenet-v3-small-576',
    MYVLM_THREADS: '1',
    MYVLM_LOG_LEVEL: 'silent',
    MYVLM_VLM: '',
  })) {
    vi.stubEnv(name, value);
  }
});

afterEach(() => {
  vi.restoreAllMocks();
});

afterAll(async () => {
  vi.unstubAllEnvs();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('myvlm refer', () => {
  it('writes the photo with the box and prints where it went', async () => {
    const out = path.join(mkdtempSync(path.join(scratch, 'out-')), 'obama-box.jpg');
    const result = await run('refer', [photo('obama3.jpg'), 'Obama', '--vlm', scriptedDir, '--out', out]);
    expect(result.stdout).toBe(`Obama is here, marked on the photo.\n[image saved: ${out}]\n`);
    expect(result.code).toBe(0);
    const original = await decodeImage(readFileSync(photo('obama3.jpg')));
    // The marked photo is a JPEG of the same shape, at most 2048 px on its long side (what a messenger takes).
    const meta = await sharp(out).metadata();
    const scale = Math.min(1, 2048 / Math.max(original.width, original.height));
    expect([meta.format, meta.width, meta.height]).toEqual([
      'jpeg',
      Math.round(original.width * scale),
      Math.round(original.height * scale),
    ]);
  });

  it('exits 1 when there is nothing to mark', async () => {
    const result = await run('refer', [photo('biden.jpg'), 'Obama', `--vlm=${scriptedDir}`]);
    expect(result.stdout).toBe('I could not find Obama in this photo.\n');
    expect(result.code).toBe(1);
  });
});

describe('myvlm caption and ask', () => {
  it('answers with the concepts of the scope injected', async () => {
    const caption = await run('caption', [photo('obama3.jpg'), '--vlm', plainDir]);
    expect(caption.code).toBe(0);
    expect(caption.stdout).toMatch(/^\(I recognize Obama \((left|centre|right)\) in this photo\.\)$/m);
    expect(caption.stderr).toMatch(/… Writing a caption…/);
    const question = await run('ask', [photo('obama3.jpg'), 'What', 'is', 'Obama', 'holding?', '--vlm', plainDir]);
    expect(question.code).toBe(0);
    expect(question.stdout.trim().length).toBeGreaterThan(0);
    // Another scope knows nobody: nothing is injected and the answer stands alone.
    const elsewhere = await run('caption', [photo('obama3.jpg'), '--vlm', plainDir, '--scope', 'telegram:chat:1']);
    expect(elsewhere.code).toBe(0);
    expect(elsewhere.stdout).not.toMatch(/Obama/);
  });

  it('refuses bad usage with a UsageError carrying the usage text (the command exits 2)', async () => {
    for (const [command, args, message] of [
      ['caption', [], 'caption needs an image file.'],
      ['refer', [photo('obama3.jpg')], 'refer needs a name after the image.'],
      ['ask', [photo('obama3.jpg'), '--colour', 'red'], 'Unknown option --colour.'],
      ['caption', [photo('obama3.jpg'), '--out', 'x.png'], '--out is for refer only.'],
      ['ask', [photo('obama3.jpg'), 'why?', '--vlm'], '--vlm needs a value.'],
    ] as const) {
      const error = await run(command, [...args]).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(UsageError);
      expect((error as UsageError).message).toMatch(new RegExp(`^${message.replace(/[.?]/g, '\\$&')}\n\nUsage:\n`));
    }
    expect(existsSync(path.join(process.cwd(), 'x.png'))).toBe(false);
  });

  it('fails, rather than answering without it, when the model it was told to use is not there', async () => {
    const missing = path.join(scratch, 'no-such-export');
    const error: unknown = await run('caption', [photo('obama3.jpg'), '--vlm', missing]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OperatorError);
    expect((error as OperatorError).message).toBe(
      `"${missing}" is neither a known vision-language model (llava-interleave-qwen-0.5b, llava-onevision-qwen2-0.5b, ` +
        'llava-1.5-7b, minigpt-v2, tiny-llava, tiny-minigpt-v2) nor a model folder.',
    );
    vi.stubEnv('MYVLM_VLM', missing);
    try {
      await expect(run('ask', [photo('obama3.jpg'), 'Who is this?'])).rejects.toThrow(/is neither a known/);
    } finally {
      vi.stubEnv('MYVLM_VLM', '');
    }
  });

  it('answers from the concept heads alone, and says so, when no model is configured', async () => {
    const result = await run('caption', [photo('obama3.jpg')]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^I see Obama \((left|centre|right)\)\./);
    expect(result.stdout).toContain(
      'No vision-language model is configured, so I can only tell who and what I recognize.',
    );
  });

  it('names a photo it cannot read, and a place it cannot write to, in plain words', async () => {
    await expect(run('caption', [path.join(scratch, 'missing.jpg')])).rejects.toThrow(
      new OperatorError(`No such file: ${path.join(scratch, 'missing.jpg')}`),
    );
    await expect(run('caption', [scratch])).rejects.toThrow(`${scratch} is a folder, not a file.`);
    const photoFile = photo('obama3.jpg');
    await expect(
      run('refer', [photoFile, 'Obama', '--vlm', scriptedDir, '--out', path.join(photoFile, 'box.jpg')]),
    ).rejects.toThrow(new OperatorError(`${photoFile} is a file, not a folder.`));
  });
});
