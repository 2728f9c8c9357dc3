import { describe, expect, it } from 'vitest';
import type { ModelEntryBase } from './entry.ts';
import { formatLicenceNotice, isResearchOnly, licenceNotice } from './licence.ts';
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

  it('say plainly that the default VLM, llava-interleave, is for research only', () => {
    const notice = licenceNotice(findModel('vlm', 'llava-interleave-qwen-0.5b'));
    expect(notice.researchOnly).toBe(true);
    expect(notice.licence).toMatch(/Tongyi Qianwen research licence/);
    expect(formatLicenceNotice(notice)).toMatch(
      /^Licence of llava-interleave-qwen-0\.5b: Tongyi Qianwen research licence .*\nWarning: llava-interleave-qwen-0\.5b is licensed for research and evaluation only: do not use it in a commercial product or service/,
    );
  });

  it('name the permissive alternative of a research-only model, and none for permissive ones', () => {
    const research = { ...base, licenceUse: 'research-only' as const, alternative: 'toy-apache (Apache-2.0)' };
    expect(formatLicenceNotice(licenceNotice(research)).split('\n')).toEqual([
      'Licence of toy: Apache-2.0.',
      "Warning: toy is licensed for research and evaluation only: do not use it in a commercial product or service without the licensor's permission.",
      'Permissive alternative: toy-apache (Apache-2.0)',
    ]);
    expect(formatLicenceNotice(licenceNotice({ ...base, alternative: 'ignored' }))).toBe('Licence of toy: Apache-2.0.');
  });

  it('mark the InsightFace and MobileFaceNet weights research-only and the hub downloads they replace permissive', () => {
    const byId = new Map(allModels().map((e) => [e.id, isResearchOnly(e)]));
    expect(byId.get('arcface-r50-buffalo-l')).toBe(true);
    expect(byId.get('mobilefacenet')).toBe(true);
    expect(byId.get('yunet-2023mar')).toBe(false);
    expect(byId.get('clip-vit-b32')).toBe(false);
  });
});
