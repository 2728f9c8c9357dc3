import { describe, expect, it } from 'vitest';
import { identifiersForNames, mentions, namesForIdentifiers } from './identifiers.ts';

const rex = { identifier: 'sks', name: 'Rex' };
const mug = { identifier: 'mug', name: "grandma's mug" };
const anna = { identifier: 'Anna', name: 'Anna' };

describe('namesForIdentifiers', () => {
  it('replaces whole words only, keeping possessives and punctuation', () => {
    expect(namesForIdentifiers('sks is sleeping on the sofa.', [rex])).toBe('Rex is sleeping on the sofa.');
    expect(namesForIdentifiers("A ball next to sks's bed, sks!", [rex])).toBe("A ball next to Rex's bed, Rex!");
    expect(namesForIdentifiers('sks’s toy', [rex])).toBe('Rex’s toy');
    expect(namesForIdentifiers('She asks about tasks, not sks2 or sks_x.', [rex])).toBe(
      'She asks about tasks, not sks2 or sks_x.',
    );
  });

  it('capitalizes the name where the model capitalized a lower-case identifier', () => {
    expect(namesForIdentifiers('Sks is happy. sks is wet.', [rex])).toBe('Rex is happy. Rex is wet.');
    expect(namesForIdentifiers('Mug is on the table next to mug.', [mug])).toBe(
      "Grandma's mug is on the table next to grandma's mug.",
    );
    expect(namesForIdentifiers('SKS runs.', [rex])).toBe('Rex runs.');
  });

  it('keeps names that are their own identifier and handles several concepts', () => {
    expect(namesForIdentifiers('Anna holds sks and the mug.', [anna, rex, mug])).toBe(
      "Anna holds Rex and the grandma's mug.",
    );
    expect(namesForIdentifiers('anna waves.', [anna])).toBe('Anna waves.');
    expect(namesForIdentifiers('nothing to change', [])).toBe('nothing to change');
  });
});

describe('identifiersForNames', () => {
  it('puts identifiers where the user wrote names, longest names first', () => {
    expect(identifiersForNames("What is Rex's toy?", [rex])).toBe("What is sks's toy?");
    expect(identifiersForNames("Is Grandma's mug full? is rex near grandma's mug", [rex, mug])).toBe(
      'Is mug full? is sks near mug',
    );
    expect(identifiersForNames('Where is Rexford?', [rex])).toBe('Where is Rexford?');
  });
});

describe('mentions', () => {
  it('finds whole words in any case', () => {
    expect(mentions('where is REX now', 'Rex')).toBe(true);
    expect(mentions('where is Rexford', 'Rex')).toBe(false);
    expect(mentions('anything', '')).toBe(false);
  });
});
