// The start-up lines: each model the settings use, its licence and where it
// stands, and what works now; only true things, from the files on disk.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSettings } from '../config/settings.ts';
import { configuredModels, describeModels, surveyModels } from './readiness.ts';

const temp = () => mkdtempSync(path.join(tmpdir(), 'myvlm-ready-'));

function settings(env: Record<string, string> = {}) {
  return loadSettings({ MYVLM_CACHE_DIR: temp(), MYVLM_DATA_DIR: temp(), ...env });
}

describe('the start-up lines', () => {
  it('online on a fresh machine: the permissive defaults, what each downloads, and that nothing is blocked', () => {
    const s = settings();
    expect(describeModels(surveyModels(s), s)).toEqual([
      'Models (`npx myvlm models` lists them all):',
      '• face detector yunet-2023mar (Apache-2.0): not here yet: downloads on first use (233 KB)',
      '• face recognizer dlib-resnet-v1 (CC0-1.0 (dlib model); MIT (@vladmandic/face-api package)): made from @vladmandic/face-api on first use, no download',
      '• object features clip-vit-b32 (MIT (OpenAI CLIP)): not here yet: downloads on first use (352 MB)',
      '• no vision-language model (MYVLM_VLM unset): replies name who and what I recognize; ' +
        'MYVLM_VLM=llava-onevision-qwen2-0.5b (Apache-2.0, about 0.9 GB) adds captions and answers',
      'Missing models download when first needed (licence and size shown first); `npx myvlm models fetch --defaults` fetches them now.',
    ]);
  });

  it('names a research-only model placed by hand, the setting that picks another, and what it blocks', () => {
    const s = settings({
      MYVLM_OFFLINE: '1',
      MYVLM_FACE_RECOGNIZER: 'arcface-r50-buffalo-l',
      MYVLM_VLM: 'llava-interleave-qwen-0.5b',
    });
    const lines = describeModels(surveyModels(s), s);
    expect(lines).toContain(
      '• face recognizer arcface-r50-buffalo-l (InsightFace buffalo_l: non-commercial research use only): ' +
        'not here: placed by hand (`npx myvlm models` says how); MYVLM_FACE_RECOGNIZER picks another',
    );
    expect(lines).toContain(
      '• vision-language model llava-interleave-qwen-0.5b (Tongyi Qianwen research licence (llava-hf/llava-interleave-qwen-0.5b-hf): ' +
        'research and evaluation only, no commercial use): not here, and MYVLM_OFFLINE=1 stops its download (about 900 MB)',
    );
    expect(lines.at(-1)).toBe(
      'Until then I cannot learn or recognize people (needs yunet-2023mar, arcface-r50-buffalo-l), ' +
        'nor learn or recognize things and pets (needs clip-vit-b32), nor caption or answer questions (needs llava-interleave-qwen-0.5b). ' +
        '`npx myvlm models fetch --defaults` fetches what downloads, once online. /help, /concepts, /remember and /forget work now.',
    );
  });

  it("a VLM at another precision needs that precision's files, and no longer claims the default size", () => {
    const [, , , vlm] = configuredModels(
      settings({ MYVLM_VLM: 'llava-onevision-qwen2-0.5b', MYVLM_VLM_DTYPE: 'fp16' }),
    );
    expect(vlm.files.map((f) => f.path)).toContain('onnx/decoder_model_merged_fp16.onnx');
    expect(vlm.approxBytes).toBeUndefined();
    const [, , , own] = configuredModels(settings({ MYVLM_VLM: 'llava-onevision-qwen2-0.5b' }));
    expect(own.files.map((f) => f.path)).toContain('onnx/decoder_model_merged_q4.onnx');
    expect(own.approxBytes).toBe(0.9e9);
  });
});
