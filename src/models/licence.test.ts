import { describe, expect, it } from 'vitest';
import type { ModelEntryBase } from './entry.ts';
import { downloadSize, formatBytes, formatLicenceNotice, isResearchOnly, licenceNotice } from './licence.ts';
import { allModels, findModel } from './registry.ts';

const base: ModelEntryBase = {
  id: 'toy',
  task: 'vlm',
  family: 'llava-qwen',
  description: 'a toy',
  licence: 'Apache-2.0',
  directory: 'toy',
  files: [],
  source: { kind: 'hub', repo: 'someone/toy', revision: 'main' },
};

describe('licence notices', () => {
  it('flag research-only licences from the entry, or from a licence text naming research or non-commercial use', () => {
    expect(isResearchOnly(base)).toBe(false);
    expect(isResearchOnly({ ...base, licence: 'CC-BY-NC-4.0 (non-commercial)' })).toBe(true);
    expect(isResearchOnly({ ...base, licence: 'Some research licence' })).toBe(true);
    expect(isResearchOnly({ ...base, licence: 'Some research licence', licenceUse: 'permissive' })).toBe(false);
    expect(isResearchOnly({ ...base, licenceUse: 'research-only' })).toBe(true);
  });

  it('say plainly that llava-interleave is for research only, with its size and the permissive alternative', () => {
    const notice = licenceNotice(findModel('vlm', 'llava-interleave-qwen-0.5b'));
    expect(notice.researchOnly).toBe(true);
    expect(notice.licence).toMatch(/Tongyi Qianwen research licence/);
    expect(formatLicenceNotice(notice)).toMatch(
      /^Licence of llava-interleave-qwen-0\.5b: Tongyi Qianwen research licence .* Download: about 900 MB\.\nWarning: llava-interleave-qwen-0\.5b is licensed for research and evaluation only: do not use it in a commercial product or service.*\nPermissive alternative: llava-onevision-qwen2-0\.5b \(Apache-2\.0, the same llava-qwen family and export layout\)$/,
    );
  });

  it('name the permissive alternative of a research-only model, and none for permissive ones', () => {
    const research = {
      ...base,
      licenceUse: 'research-only' as const,
      alternative: { id: 'toy-apache', why: 'Apache-2.0' },
    };
    expect(formatLicenceNotice(licenceNotice(research)).split('\n')).toEqual([
      'Licence of toy: Apache-2.0.',
      "Warning: toy is licensed for research and evaluation only: do not use it in a commercial product or service without the licensor's permission.",
      'Permissive alternative: toy-apache (Apache-2.0)',
    ]);
    expect(formatLicenceNotice(licenceNotice({ ...base, alternative: { id: 'ignored', why: '' } }))).toBe(
      'Licence of toy: Apache-2.0.',
    );
  });

  it('say how much will be downloaded: exact from the file sizes, else the entry approximation, else nothing', () => {
    const files = [
      { path: 'a.onnx', bytes: 232589 },
      { path: 'b.onnx', bytes: 351685709 },
    ];
    expect(downloadSize({ ...base, files })).toBe('352 MB');
    expect(downloadSize({ ...base, files }, files.slice(0, 1))).toBe('233 KB');
    expect(downloadSize({ ...base, files: [{ path: 'c.onnx' }] })).toBeNull();
    expect(downloadSize({ ...base, files: [{ path: 'c.onnx' }], approxBytes: 0.9e9 })).toBe('about 900 MB');
    expect(formatBytes(1.6e9)).toBe('1.6 GB');
    expect(formatBytes(120)).toBe('1 KB');
    expect(formatLicenceNotice(licenceNotice(findModel('image-features', 'clip-vit-b32')))).toBe(
      'Licence of clip-vit-b32: MIT (OpenAI CLIP). Download: 352 MB.',
    );
    expect(formatLicenceNotice(licenceNotice(findModel('vlm', 'llava-onevision-qwen2-0.5b')))).toBe(
      'Licence of llava-onevision-qwen2-0.5b: Apache-2.0 (llava-hf/llava-onevision-qwen2-0.5b-ov-hf). Download: about 900 MB.',
    );
  });

  it('mark the InsightFace and MobileFaceNet weights research-only and the hub downloads they replace permissive', () => {
    const byId = new Map(allModels().map((e) => [e.id, isResearchOnly(e)]));
    expect(byId.get('arcface-r50-buffalo-l')).toBe(true);
    expect(byId.get('mobilefacenet')).toBe(true);
    expect(byId.get('yunet-2023mar')).toBe(false);
    expect(byId.get('clip-vit-b32')).toBe(false);
  });
});
