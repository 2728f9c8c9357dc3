import { describe, expect, it } from 'vitest';
import type { AnswerRow, FoldResult } from './run.ts';
import { scoreMethod, scorePersonalization } from './score.ts';

function row(overrides: Partial<AnswerRow>): AnswerRow {
  return {
    concept: 'billy_dog',
    fold: 0,
    photo: 'x.jpg',
    sha256: 'x',
    question: 'caption',
    references: ['billy_dog on a yellow rug'],
    headFired: true,
    headScore: 0.9,
    forced: 'sks on a yellow rug',
    untaughtVector: 'a dog on a rug',
    vanilla: 'a dog on a yellow rug',
    keyword: 'a sks on a yellow rug',
    llm: 'a dog on a yellow rug',
    ...overrides,
  };
}

function fold(rows: AnswerRow[], concept = 'billy_dog'): FoldResult {
  return { concept, fold: 0, trainPhotos: [], lossStart: 2, lossEnd: 1, teachSeconds: 3, answerSeconds: 4, rows };
}

describe('scoring the personalization answers', () => {
  it('counts the identifier as a whole word, and uses the vanilla answer where the head did not fire', () => {
    const rows = [
      row({}),
      row({ headFired: false, forced: 'sks asleep' }),
      row({ forced: 'a sksdog asleep', headFired: false }),
      row({ forced: 'Sks, asleep' }),
    ];
    expect(scoreMethod(rows, 'forced', 'sks').recall).toBe(0.75);
    expect(scoreMethod(rows, 'head', 'sks').recall).toBe(0.5);
    expect(scoreMethod(rows, 'vanilla', 'sks').recall).toBe(0);
    expect(scoreMethod(rows, 'keyword', 'sks').recall).toBe(1);
  });

  it('compares texts with the identifier and the folder name both written as the class phrase', () => {
    // "sks on a yellow rug" and "billy_dog on a yellow rug" both read "dog on a yellow rug": a perfect match.
    const exact = scoreMethod([row({})], 'forced', 'sks').metrics!;
    expect(exact.bleu1).toBeCloseTo(1, 6);
    expect(exact.rougeL).toBeCloseTo(1, 6);
    // The vanilla caption is judged on the same words, so it is not punished for not knowing "sks".
    const vanilla = scoreMethod([row({})], 'vanilla', 'sks').metrics!;
    expect(vanilla.bleu1).toBeGreaterThan(0.7);
    expect(vanilla.bleu1).toBeLessThan(1);
  });

  it('has no metrics, only recall, when no answer has references', () => {
    const scores = scoreMethod([row({ references: [] })], 'forced', 'sks');
    expect(scores).toEqual({ recall: 1, answers: 1, metrics: null });
  });

  it('reports per concept, says when no head was trained, and flags a model that does not caption', () => {
    const gibberish = 'zq xv wk';
    const report = scorePersonalization(
      [
        fold([row({ headFired: null, headScore: null, vanilla: gibberish })]),
        fold(
          [
            row({
              concept: 'bo',
              references: ['bo asleep'],
              headFired: null,
              headScore: null,
              vanilla: gibberish,
              forced: 'sks asleep',
            }),
          ],
          'bo',
        ),
      ],
      'caption',
      'sks',
    );
    expect(report.withHead).toBeNull();
    expect(report.concepts.map((c) => [c.name, c.recall, c.headRecall])).toEqual([
      ['billy_dog', 1, null],
      ['bo', 1, null],
    ]);
    expect(report.weightsLookTrained.value).toBe(false);
    expect(report.weightsLookTrained.reason).toMatch(/measure nothing/);
    expect(report.seconds).toEqual({ teach: 6, answer: 8 });

    const sensible = scorePersonalization([fold([row({})])], 'caption', 'sks');
    expect(sensible.weightsLookTrained.value).toBe(true);
    expect(sensible.withHead?.firedRate).toBe(1);
  });
});
