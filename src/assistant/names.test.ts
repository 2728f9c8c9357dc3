import { describe, expect, it } from 'vitest';
import { UserError } from '../errors.ts';
import type { ConceptRecord } from '../memory/concept.ts';
import { assertDistinctName, looksAlike, skeleton, validateName } from './names.ts';

const known = (name: string) => ({ name }) as ConceptRecord;

describe('look-alike names', () => {
  it('gives Latin look-alikes in Cyrillic, Greek and full-width forms the same skeleton', () => {
    expect(skeleton('\u041Ebama')).toBe(skeleton('Obama'));
    expect(skeleton('\u039F\u03B2ama')).not.toBe(skeleton('Obama'));
    expect(skeleton('\u039Fbama')).toBe(skeleton('Obama'));
    expect(skeleton('\uFF2Fbama')).toBe(skeleton('Obama'));
    expect(skeleton('\u0440\u0435\u0442\u0435')).not.toBe(skeleton('pete'));
    expect(skeleton('\u0440\u0435t\u0435')).toBe(skeleton('pete'));
    expect(looksAlike('Ian', 'lan')).toBe(true);
    expect(looksAlike('\u0456an', 'ian')).toBe(true);
  });

  it('keeps different names apart', () => {
    expect(looksAlike('Anna', 'Ana')).toBe(false);
    expect(looksAlike('Arnie', 'Amie')).toBe(false);
    expect(looksAlike('Zoë', 'Zoe')).toBe(false);
    expect(looksAlike('\u0410\u043D\u043D\u0430', 'Anna')).toBe(false);
  });

  it('refuses a name like a known one, or mixing look-alike alphabets in a word; allows one alphabet per word', () => {
    expect(() => assertDistinctName('\u041Ebama', [known('Obama')])).toThrow(
      new UserError('\u041Ebama looks just like Obama, whom I know already; pick a different name.'),
    );
    expect(() => assertDistinctName('\u041Ebama', [])).toThrow(/mixes Latin and Cyrillic letters/);
    expect(() => assertDistinctName('Anna \u0418\u0432\u0430\u043D\u043E\u0432\u0430', [known('Obama')])).not.toThrow();
    expect(() => assertDistinctName('\u5C71\u7530\u3055\u3093', [])).not.toThrow();
  });

  it('folds full-width letters when validating', () => {
    expect(validateName('\uFF2F\uFF42\uFF41\uFF4D\uFF41')).toBe('Obama');
  });
});
