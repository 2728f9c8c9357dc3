// Opening the VLM from what a user configures: a registry id found under
// MYVLM_MODELS_DIR, a folder, or something that is neither, with a plain
// reason for everything that cannot work.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelMissingError, OperatorError } from '../../src/errors.ts';
import { SessionPool } from '../../src/models/session.ts';
import { writeTinyLlava, writeTinyMiniGptV2 } from '../../src/onnx/tiny/factory.ts';
import { openVlm } from '../../src/vlm/load.ts';
import { lazyVlm } from '../../src/vlm/provider.ts';

let scratch: string;
let sessions: SessionPool;

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'myvlm-vlm-load-'));
  sessions = new SessionPool();
});

afterAll(async () => {
  await sessions?.dispose();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('openVlm', () => {
  it('finds a registry model under the models folder and keys embeddings by its id', async () => {
    const modelsDir = path.join(scratch, 'models');
    await writeTinyMiniGptV2(path.join(modelsDir, 'tiny-minigpt-v2'));
    const vlm = await openVlm('tiny-minigpt-v2', {
      resolve: { modelsDir, cacheDir: scratch, allowDownload: false },
      sessions,
    });
    expect([vlm.id, vlm.family.id, vlm.model.dtypes.decoder, vlm.model.prompts.templateSource]).toEqual([
      'tiny-minigpt-v2',
      'minigpt-v2',
      'fp32',
      'tokenizer_config.json',
    ]);
    await vlm.dispose();
  });

  it('explains how to get a generated model that is not there', async () => {
    const missing = openVlm('tiny-llava', {
      resolve: { modelsDir: path.join(scratch, 'empty'), cacheDir: scratch, allowDownload: false },
      sessions,
    });
    await expect(missing).rejects.toThrow(ModelMissingError);
    await expect(missing).rejects.toThrow(/^Model "tiny-llava" is missing 9 file\(s\): config\.json/);
    await expect(missing).rejects.toMatchObject({
      hint: expect.stringMatching(/npx myvlm onnx tiny llava/) as unknown,
    });
  });

  it('refuses what it cannot run, in words, as problems for the operator', async () => {
    const resolve = { cacheDir: scratch, allowDownload: false };
    const nowhere = openVlm(path.join(scratch, 'nowhere'), { resolve, sessions });
    await expect(nowhere).rejects.toThrow(OperatorError);
    await expect(nowhere).rejects.toThrow(
      /is neither a known vision-language model \(llava-interleave-qwen-0.5b, .*\) nor a model folder/,
    );
    await expect(nowhere).rejects.toMatchObject({ hint: expect.stringMatching(/^Set MYVLM_VLM to/) as unknown });
    const minigpt = (await writeTinyMiniGptV2(path.join(scratch, 'mini'))).dir;
    await expect(openVlm(minigpt, { resolve, sessions, dtype: 'q4' })).rejects.toThrow(
      /has no onnx\/vision_encoder_q4\.onnx, onnx\/embed_tokens_q4\.onnx, onnx\/decoder_model_merged_q4\.onnx\. Precisions it has for all three graphs: fp32\./,
    );
    const noQ4 = openVlm('tiny-llava', { resolve: { ...resolve, modelsDir: scratch }, sessions, dtype: 'q4' });
    await expect(noQ4).rejects.toThrow(OperatorError);
    await expect(noQ4).rejects.toThrow('tiny-llava comes in fp32; there is no q4 version of it.');
    await expect(noQ4).rejects.toMatchObject({ hint: expect.stringMatching(/MYVLM_VLM_DTYPE/) as unknown });
    const blip = path.join(scratch, 'blip');
    await mkdir(path.join(blip, 'onnx'), { recursive: true });
    for (const file of ['onnx/vision_encoder.onnx', 'onnx/embed_tokens.onnx', 'onnx/decoder_model_merged.onnx'])
      await writeFile(path.join(blip, file), '');
    await writeFile(path.join(blip, 'config.json'), JSON.stringify({ model_type: 'blip-2' }));
    await expect(openVlm(blip, { resolve, sessions })).rejects.toThrow(OperatorError);
    await expect(openVlm(blip, { resolve, sessions })).rejects.toThrow(/model_type "blip-2"/);
    const emptyFolder = openVlm(path.join(scratch, 'empty-folder-x'), { resolve, sessions });
    await expect(emptyFolder).rejects.toThrow(OperatorError);
    await expect(emptyFolder).rejects.toThrow(/"[^"]*empty-folder-x" is neither a known vision-language model/);
  });
});

describe('lazyVlm', () => {
  it('loads nothing until asked, loads once, passes an operator problem on as one, and retries after a failure', async () => {
    const dir = path.join(scratch, 'late');
    const provider = lazyVlm(dir, { resolve: { cacheDir: scratch, allowDownload: false }, sessions });
    const failed = provider.get();
    await expect(failed).rejects.toThrow(OperatorError);
    await expect(failed).rejects.toThrow(/"[^"]*late" is neither a known vision-language model/);
    await writeTinyLlava(dir);
    const first = await provider.get();
    expect(await provider.get()).toBe(first);
    expect(first.id).toBe('local:late');
    await provider.dispose();
  });
});
