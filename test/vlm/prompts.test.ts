// A concept embedding is taught with one captioning instruction and must be
// asked with the same one: the VLM families' captioning prompts equal the
// teaching prompts in prompts/captioning.json.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { VLM_FAMILIES } from '../../src/vlm/families.ts';
import { REPO_ROOT } from '../support/paths.ts';

describe('captioning prompts', () => {
  it('are the ones concepts are taught with', () => {
    const teaching = JSON.parse(readFileSync(path.join(REPO_ROOT, 'prompts', 'captioning.json'), 'utf8')) as { instructions: Record<string, string> };
    const asked = (family: keyof typeof VLM_FAMILIES) => VLM_FAMILIES[family].prompts.captionOf.replace('{concepts}', '{concept}');
    expect(asked('llava-vicuna')).toBe(teaching.instructions.llava);
    expect(asked('llava-qwen')).toBe(teaching.instructions.llava);
    expect(asked('minigpt-v2')).toBe(teaching.instructions['minigpt-v2']);
  });
});
