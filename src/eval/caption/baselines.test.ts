import { describe, expect, it } from 'vitest';
import { keywordReplacement, keywordsOf, llmRewriteInstruction, readRewrite, withClassPhrase } from './baselines.ts';

describe('the captioning baselines', () => {
  it('reads the keywords of a listed concept, and falls back to the last word of the folder name', () => {
    expect(keywordsOf('billy_dog')).toEqual({ classPhrase: 'dog', keywords: ['dog', 'puppy', 'pet'] });
    expect(keywordsOf('grandmas_blue_vase')).toEqual({ classPhrase: 'vase', keywords: ['vase'] });
  });

  it('replaces the first listed keyword found, as a whole word, and leaves other captions alone', () => {
    expect(keywordReplacement('A puppy and a dog on a rug', ['dog', 'puppy'], 'sks')).toBe(
      'A puppy and a sks on a rug',
    );
    expect(keywordReplacement('Two dogs in a hot-dog stand', ['dog'], 'sks')).toBe('Two dogs in a hot-sks stand');
    expect(keywordReplacement('A cat on a sofa', ['dog', 'puppy'], 'sks')).toBe('A cat on a sofa');
    expect(keywordReplacement('A Piggy Bank on a shelf', ['piggy bank'], 'sks')).toBe('A sks on a shelf');
  });

  it("asks the paper's rewrite with the caption, keyword and identifier, and reads the revised sentence", () => {
    const request = llmRewriteInstruction('A dog on a rug.', 'dog', 'sks');
    expect(request).toBe(
      'I have the following sentence: A dog on a rug. Only if the word dog appears in the sentence, please replace it ' +
        'with the word "sks". Otherwise, keep the original sentence. Can you do this for me? Please respond only with ' +
        'the corrected sentence. The output format will be "Revised: <result>", with no additional text or ' +
        'explanations. Original Sentence: A dog on a rug',
    );
    expect(readRewrite('Revised: "sks on a rug."\nAnything else?')).toBe('sks on a rug.');
    expect(readRewrite('sks on a rug')).toBe('sks on a rug');
  });

  it('writes the identifier as the class phrase for text comparisons', () => {
    expect(withClassPhrase('sks and Sks on the sofa, not sksx', 'sks', 'dog')).toBe(
      'dog and dog on the sofa, not sksx',
    );
  });
});
