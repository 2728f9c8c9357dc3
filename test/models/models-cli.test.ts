// `myvlm models fetch <id>` against a fake hub serving the real YuNet file
// from ../shared: the licence is printed before the first byte is asked for,
// and the registry's size and sha256 for it match the real bytes.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelsCommand } from '../../src/cli/models.ts';
import { serve, startFakeHub, type FakeHub } from '../fakes/hub.ts';
import { SHARED_MODELS } from '../support/paths.ts';

const YUNET = path.join(SHARED_MODELS, 'face-detection', 'yunet_2023mar_640.onnx');

function collect(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { stream, text: () => text };
}

describe.skipIf(!existsSync(YUNET))('myvlm models fetch', () => {
  let hub: FakeHub;
  const err = collect();
  let errWhenAsked: string | null = null;
  const saved = { ...process.env };

  beforeAll(async () => {
    hub = await startFakeHub({
      '/opencv/face_detection_yunet/resolve/main/face_detection_yunet_2023mar.onnx': (req, res) => {
        errWhenAsked = err.text();
        return serve(readFileSync(YUNET))(req, res);
      },
    });
  });

  afterAll(async () => {
    process.env = saved;
    await hub.close();
  });

  it('shows the licence before downloading, then fetches and verifies the file with HF_TOKEN', async () => {
    const cacheDir = mkdtempSync(path.join(tmpdir(), 'myvlm-cli-'));
    process.env = {
      ...saved,
      MYVLM_CACHE_DIR: cacheDir,
      MYVLM_HF_ENDPOINT: hub.origin,
      MYVLM_OFFLINE: '0',
      MYVLM_MODELS_DIR: '',
      HF_TOKEN: 'hf_from_env',
    };
    const out = collect();
    expect(await modelsCommand(['fetch', 'yunet-2023mar'], out.stream, err.stream)).toBe(0);
    expect(errWhenAsked).toBe('Licence of yunet-2023mar: Apache-2.0. Download: 233 KB.\n');
    // HF_TOKEN travels from the environment through the settings to the hub request.
    expect(hub.requests.map((r) => r.authorization)).toEqual(['Bearer hf_from_env']);
    expect(out.text()).toBe(`yunet-2023mar: ready in ${path.join(cacheDir, 'yunet-2023mar')}\n`);
    expect(
      readFileSync(path.join(cacheDir, 'yunet-2023mar', 'yunet_2023mar_640.onnx')).equals(readFileSync(YUNET)),
    ).toBe(true);
  });

  it('lists research-only models as such', async () => {
    process.env = { ...saved, MYVLM_CACHE_DIR: mkdtempSync(path.join(tmpdir(), 'myvlm-cli-')), MYVLM_MODELS_DIR: '' };
    const out = collect();
    await modelsCommand([], out.stream, collect().stream);
    const line = (id: string) =>
      out
        .text()
        .split('\n')
        .find((l) => l.startsWith(`${id} `)) ?? '';
    expect(line('llava-interleave-qwen-0.5b')).toMatch(/\[research use only\]$/);
    expect(line('yunet-2023mar')).not.toMatch(/research/);
  });
});

describe('myvlm models fetch --dtype', () => {
  it('picks the precision of a VLM and refuses one the model lacks, or a non-VLM', async () => {
    const saved = { ...process.env };
    process.env = {
      ...saved,
      MYVLM_CACHE_DIR: mkdtempSync(path.join(tmpdir(), 'myvlm-cli-')),
      MYVLM_OFFLINE: '1',
      MYVLM_MODELS_DIR: '',
    };
    try {
      const out = collect();
      const err = collect();
      await expect(modelsCommand(['fetch', 'tiny-llava', '--dtype', 'q4'], out.stream, err.stream)).rejects.toThrow(
        'tiny-llava comes in fp32; there is no q4 version of it.',
      );
      await expect(modelsCommand(['fetch', 'yunet-2023mar', '--dtype', 'q4'], out.stream, err.stream)).rejects.toThrow(
        'yunet-2023mar is not a vision-language model',
      );
      // Offline, the missing files named are those of the precision asked: all three graphs in q4f16.
      await expect(
        modelsCommand(['fetch', 'llava-interleave-qwen-0.5b', '--dtype', 'q4f16'], out.stream, err.stream),
      ).rejects.toThrow(
        /onnx\/vision_encoder_q4f16\.onnx, onnx\/embed_tokens_q4f16\.onnx, onnx\/decoder_model_merged_q4f16\.onnx/,
      );
    } finally {
      process.env = saved;
    }
  });
});
