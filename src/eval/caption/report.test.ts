import { describe, expect, it } from 'vitest';
import { EVALUATION } from '../../config/defaults.ts';
import { formatPersonalization, htmlReport, type PersonalizationReport } from './report.ts';
import type { AnswerRow, FoldResult } from './run.ts';
import { scorePersonalization } from './score.ts';

const row: AnswerRow = {
  concept: 'billy_dog',
  fold: 0,
  photo: 'billy_dog_2.jpg',
  sha256: 'x',
  question: 'caption',
  references: ['billy_dog on a yellow rug'],
  headFired: null,
  headScore: null,
  forced: 'sks <b>on</b> a rug',
  untaughtVector: 'zq',
  vanilla: 'zq xv',
  keyword: 'zq xv',
  llm: 'zq',
};
const fold: FoldResult = {
  concept: 'billy_dog',
  fold: 0,
  trainPhotos: ['billy_dog_1.jpg'],
  lossStart: 7,
  lossEnd: 6.5,
  teachSeconds: 1,
  answerSeconds: 2,
  rows: [row],
};

function report(paper: boolean): PersonalizationReport {
  return {
    task: 'caption',
    model: 'local:tiny',
    dir: '/m',
    family: 'llava-qwen',
    dtype: 'fp32',
    data: '/d',
    shots: 4,
    folds: 1,
    seed: 0,
    steps: 10,
    identifier: 'sks',
    heads: { extractor: null, problem: 'Model "clip-vit-b32" is missing 1 file(s).' },
    similarity: { available: false, reason: 'no sentence-embedding model' },
    runDir: '/r',
    ...scorePersonalization([fold], 'caption', 'sks'),
    paper: paper
      ? { model: 'LLaVA', recall: EVALUATION.paperRecall, captionMetrics: EVALUATION.paperCaptionMetrics }
      : null,
    wallSeconds: 3,
  };
}

describe('the personalization report', () => {
  it('opens with the warning when the numbers mean nothing, and says what was not measured', () => {
    const text = formatPersonalization(report(true));
    const lines = text.split('\n');
    expect(lines[1]).toMatch(/^THESE NUMBERS MEAN NOTHING: the vanilla model's captions share almost no words/);
    expect(text).toMatch(/MyVLM, concept injected \(as the paper reports\)\s+100.0%/);
    expect(text).toMatch(/paper, LLaVA \+ MyVLM, objects\s+94.76%\s+0.360/);
    expect(text).toContain('Concept heads: not measured (Model "clip-vit-b32" is missing 1 file(s).)');
    expect(text).toContain('Text similarity and CLIPScore: not measured (no sentence-embedding model).');
    expect(text).toMatch(/billy_dog\s+1\s+100.0%\s+-\s+0.0%\s+0.0%\s+0.0%\s+0.0%\s+7.000 -> 6.500/);
    expect(formatPersonalization(report(false))).not.toContain('paper,');
  });

  it('writes every answer into the page, escaped', () => {
    const page = htmlReport(report(false), [fold]);
    expect(page).toContain('These numbers mean nothing');
    expect(page).toContain('sks &#60;b&#62;on&#60;/b&#62; a rug');
    expect(page).not.toContain('<b>on</b>');
    expect(page).toContain('<td>billy_dog_2.jpg</td>');
  });
});
