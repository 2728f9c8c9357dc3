import { describe, expect, it } from 'vitest';
import { tokenizeCaption } from './tokenize.ts';

// Expected tokens follow Stanford PTBTokenizer's conventions (lowercased) with
// coco-caption's punctuation list removed, written out by hand.
describe('tokenizeCaption', () => {
  it('lowercases and drops the punctuation coco removes', () => {
    expect(tokenizeCaption('A dog, running; fast: "very" fast!... Is it?')).toEqual([
      'a',
      'dog',
      'running',
      'fast',
      'very',
      'fast',
      'is',
      'it',
    ]);
  });

  it('splits contractions and possessives as the Penn Treebank does', () => {
    expect(tokenizeCaption("The man's dog isn't here; we're sure it can't, cannot, won't.")).toEqual([
      'the',
      'man',
      "'s",
      'dog',
      'is',
      "n't",
      'here',
      'we',
      "'re",
      'sure',
      'it',
      'ca',
      "n't",
      'can',
      'not',
      'wo',
      "n't",
    ]);
    expect(tokenizeCaption("the dogs' ball")).toEqual(['the', 'dogs', 'ball']);
    expect(tokenizeCaption('It’s gonna rain')).toEqual(['it', "'s", 'gon', 'na', 'rain']);
  });

  it('keeps hyphenated words, numbers and abbreviations whole', () => {
    expect(tokenizeCaption('A t-shirt costs $1,000.50 at 3:30 in the U.S. says Mr. Smith -- really')).toEqual([
      'a',
      't-shirt',
      'costs',
      '$',
      '1,000.50',
      'at',
      '3:30',
      'in',
      'the',
      'u.s.',
      'says',
      'mr.',
      'smith',
      'really',
    ]);
  });

  it('drops brackets and returns nothing for an empty caption', () => {
    expect(tokenizeCaption('a cat (black) [left]')).toEqual(['a', 'cat', 'black', 'left']);
    expect(tokenizeCaption('  ')).toEqual([]);
  });
});
