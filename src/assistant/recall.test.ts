import { describe, expect, it } from 'vitest';
import type { ConceptRecord } from '../memory/concept.ts';
import { conceptsNamedIn } from './recall.ts';

const named = (name: string) => ({ name }) as ConceptRecord;

describe('conceptsNamedIn', () => {
  const anna = named('Anna');
  const annaMaria = named('Anna Maria');
  const rex = named('Rex');

  it('finds whole-word names in any letter case, possessives included, in the order the text names them', () => {
    expect(conceptsNamedIn("when is rex's birthday? and Anna's?", [anna, rex])).toEqual([rex, anna]);
    expect(conceptsNamedIn('what does Annabel like?', [anna, rex])).toEqual([]);
    expect(conceptsNamedIn('hello there', [anna, rex])).toEqual([]);
  });

  it('takes the longer name when one name holds another', () => {
    expect(conceptsNamedIn('tell me about Anna Maria', [anna, annaMaria])).toEqual([annaMaria]);
    expect(conceptsNamedIn('Anna and Anna Maria', [anna, annaMaria])).toEqual([anna, annaMaria]);
  });
});
