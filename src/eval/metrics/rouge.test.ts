import { describe, expect, it } from 'vitest';
import { lcsLength, rougeL } from './rouge.ts';

const words = (text: string): string[] => (text ? text.split(' ') : []);

// Expected values worked out by hand from coco's formula:
// F = (1 + b^2) P R / (R + b^2 P), b = 1.2, P and R each the best over the references.
describe('ROUGE-L', () => {
  it('finds the longest common subsequence', () => {
    expect(lcsLength(words('a b c d e'), words('a c e f'))).toBe(3);
    expect(lcsLength(words('a b'), [])).toBe(0);
  });

  it('is 1 for a candidate identical to a reference', () => {
    expect(rougeL(words('a dog runs'), [words('a dog runs'), words('cats')])).toBe(1);
  });

  it('takes the best precision and the best recall from different references, as coco does', () => {
    // vs "a dog": LCS 2, P = 2/4, R = 2/2. vs "the big dog runs far away": LCS 3, P = 3/4, R = 3/6.
    const [p, r] = [3 / 4, 1];
    expect(rougeL(words('a big dog runs'), [words('a dog'), words('the big dog runs far away')])).toBeCloseTo(
      ((1 + 1.44) * p * r) / (r + 1.44 * p),
      12,
    );
  });

  it('scores an empty candidate 0', () => {
    expect(rougeL([], [words('a dog')])).toBe(0);
  });
});
