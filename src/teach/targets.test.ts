import { describe, expect, it } from 'vitest';
import { containsWord, keepVariations, replaceWord, substituteClassPhrase } from './targets.ts';

describe('target text', () => {
  it('finds identifiers as whole words only', () => {
    expect(containsWord('sks on the grass.', 'sks')).toBe(true);
    expect(containsWord('A photo of Sks.', 'sks')).toBe(true);
    expect(containsWord("Bob's bike", 'Bob')).toBe(true);
    expect(containsWord('Bobby runs', 'Bob')).toBe(false);
    expect(containsWord('asks a question', 'sks')).toBe(false);
  });

  it('replaces a class phrase by the identifier, keeping the rest', () => {
    expect(replaceWord('The dog sleeps; the dog dreams.', 'the dog', 'sks')).toBe('sks sleeps; sks dreams.');
    expect(replaceWord('a hotdog stand', 'dog', 'sks')).toBe('a hotdog stand');
    const concept = { identifier: 'Anna', name: 'Anna', kind: 'person' as const };
    expect(substituteClassPhrase('A woman smiling at the camera.', concept)).toBe('Anna smiling at the camera.');
    expect(substituteClassPhrase('Two cups on a table.', concept)).toBeNull();
    expect(
      substituteClassPhrase('The mug on a desk.', {
        ...concept,
        identifier: 'sks',
        kind: 'object',
        classPhrase: 'the mug',
      }),
    ).toBe('sks on a desk.');
  });

  it('keeps paraphrases that keep the identifier and fills up with the caption', () => {
    const answer = [
      '1. sks is lying on the green grass.',
      '2) "sks rests on the grass."',
      '- The dog is on the grass.',
      '3. sks on the grass.',
      '4. sks is lying on the green grass.',
      '5. sks',
    ].join('\n');
    expect(keepVariations(answer, 'sks on the grass.', 'sks', 4)).toEqual([
      'sks is lying on the green grass.',
      'sks rests on the grass.',
      'sks on the grass.',
      'sks on the grass.',
    ]);
    expect(keepVariations('garbage', 'sks on the grass.', 'sks', 4)).toEqual(Array(4).fill('sks on the grass.'));
  });
});
