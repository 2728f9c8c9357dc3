// Every expected value below was computed by the reference implementations,
// not by this code: BLEU, CIDEr and ROUGE-L by pycocoevalcap's own Python
// scorers (salaniz/pycocoevalcap), METEOR by Meteor 1.5 built from its Java
// source (cmu-mtlab/meteor) run as coco runs it (-l en -norm) with modules
// "exact stem", the corpus score from summed statistics. They were fed our
// tokenization of these captions (shown in the comments), so the tokenizer is
// not under test here. Agreement measured: 1e-15; asserted to 1e-9.
import { describe, expect, it } from 'vitest';
import { captionMetrics, type CaptionPair } from './index.ts';

const PAIRS: CaptionPair[] = [
  { id: 'empty', candidate: '', references: ['a dog runs on the grass', 'the dog is running'] },
  { id: 'short', candidate: 'dog', references: ['a dog runs on the grass', 'the brown dog is running fast'] },
  { id: 'single', candidate: 'a cat sits on the mat', references: ['the cat sat on the mat'] },
  { id: 'identical', candidate: 'a man rides a red bike', references: ['a man rides a red bike', 'someone cycling'] },
  {
    id: 'stems',
    candidate: 'the dogs were running and jumping happily',
    references: ['a dog runs and jumps', 'happy dogs run'],
  },
  { id: 'reorder', candidate: 'on the grass a dog runs', references: ['a dog runs on the grass'] },
  { id: 'repeat', candidate: 'the the the the dog dog', references: ['the dog and the cat', 'a dog'] },
  {
    // Tokenized: a man 's dog is n't it it 's the t-shirt guy 's | the man 's dog is n't happy | a guy in a t-shirt with his dog
    id: 'punct',
    candidate: "A man's dog, isn't it? It's the t-shirt guy's.",
    references: ["The man's dog isn't happy.", 'A guy in a t-shirt with his dog!'],
  },
  {
    id: 'long',
    candidate:
      'a large brown dog with a red collar is running quickly across a wide green field of grass near some trees',
    references: ['a dog running in a field', 'brown dog runs through the grass'],
  },
];

/** [bleu1, bleu2, bleu3, bleu4, cider, rougeL, meteor] per id, from the reference implementations. */
const PER_ID: Record<string, number[]> = {
  empty: [0, 0, 0, 0, 0, 0, 0],
  short: [
    0.0067379469856096216, 6.737946988978591e-6, 6.737946990101585e-7, 2.1307259243972606e-7, 0.23695310210153103,
    0.25311203319502074, 0.11267605633802819,
  ],
  single: [
    0.6666666664444446, 0.5163977793135832, 0.4054801328872982, 6.865890476915431e-5, 2.905757010011018,
    0.6666666666666666, 0.3184464413482169,
  ],
  identical: [0.9999999996666668, 0.9999999996500001, 0.999999999627778, 0.9999999995958335, 5.0, 1.0, 1.0],
  stems: [
    0.2857142856734695, 6.900655592355585e-9, 2.1196796655366472e-11, 1.2421889948936653e-12, 0.49706158664405664,
    0.21554770318021202, 0.26354188249507615,
  ],
  reorder: [
    0.9999999996666668, 0.8944271906868665, 0.7368062994538218, 0.00010745699313892367, 4.179870447537537, 0.5,
    0.5183550629438616,
  ],
  repeat: [
    0.4999999999166668, 0.31622776595886304, 2.9240177376118214e-6, 9.554427919774495e-9, 0.46427395574567143,
    0.4149659863945578, 0.2448979591836735,
  ],
  punct: [
    0.692307692254438, 0.48038446137676916, 0.39777317387085076, 0.33495318894035875, 1.3563027744530105,
    0.5285961871750434, 0.4028490987153735,
  ],
  long: [
    0.33333333331746035, 0.12909944486727937, 9.572639770106142e-7, 2.642138995361506e-9, 0.024628225645641006,
    0.41160593792172734, 0.25071225071225073,
  ],
};

const close = (actual: number, expected: number): void => expect(Math.abs(actual - expected)).toBeLessThan(1e-9);

describe('captionMetrics', () => {
  const result = captionMetrics(PAIRS);

  it('matches coco-caption on the corpus scores', () => {
    close(result.bleu1, 0.5757575757488521);
    close(result.bleu2, 0.4107998671129652);
    close(result.bleu3, 0.3210431965574628);
    close(result.bleu4, 0.24762924592448998);
    close(result.cider, 1.6294274557931627);
    close(result.rougeL, 0.44338827939258085);
    close(result.meteor, 0.3150456996645358);
  });

  it('matches coco-caption on every image', () => {
    expect([...result.perId.keys()]).toEqual(PAIRS.map((pair) => pair.id));
    for (const [id, expected] of Object.entries(PER_ID)) {
      const s = result.perId.get(id)!;
      [s.bleu1, s.bleu2, s.bleu3, s.bleu4, s.cider, s.rougeL, s.meteor].forEach((value, i) =>
        close(value, expected[i]),
      );
    }
  });

  it('refuses input the runner should never send', () => {
    expect(() => captionMetrics([])).toThrow(/at least one/);
    expect(() => captionMetrics([{ id: 'a', candidate: 'x', references: [] }])).toThrow(/no reference/);
    const twice = { id: 'a', candidate: 'x', references: ['x'] };
    expect(() => captionMetrics([twice, twice])).toThrow(/twice/);
  });

  it('gives CIDEr 0 to a corpus of one image, as coco does (every idf is log 1)', () => {
    expect(captionMetrics([PAIRS[3]]).cider).toBe(0);
  });
});
