import { describe, expect, it } from 'vitest';
import { fillConcept, teachingPrompts } from './prompts.ts';

describe('teaching prompts (prompts/)', () => {
  it('holds the ten Table 1 instructions per kind, the last being the captioning one', () => {
    const { vqa } = teachingPrompts();
    expect(vqa.object).toHaveLength(10);
    expect(vqa.person).toHaveLength(10);
    expect(vqa.object[0]).toBe('What color is {concept}?');
    expect(vqa.person[2]).toBe('What is {concept} doing in the image?');
    expect(vqa.object[9]).toBe('Please caption this image of {concept}');
    expect(vqa.person[9]).toBe(vqa.object[9]);
  });

  it("has the captioning instruction per family and the paper's paraphrase request", () => {
    const prompts = teachingPrompts();
    expect(fillConcept(prompts.captioning.llava, 'sks')).toBe('Please caption this image of sks.');
    expect(fillConcept(prompts.captioning['minigpt-v2'], 'sks')).toBe('[caption] A short image caption of sks:');
    expect(fillConcept(prompts.paraphrase.instruction, 'Bob')).toBe(
      'Please provide four variations to the provided sentence. Please make the changes as small as possible and do not alter the word Bob.',
    );
    expect(prompts.paraphrase.variations).toBe(4);
  });
});
