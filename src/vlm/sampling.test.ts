import { describe, expect, it } from 'vitest';
import { seededRandom } from '../random.ts';
import { chooseToken } from './sampling.ts';

const logits = Float32Array.from([1, 3, 2.5, -1, 0]);

describe('chooseToken', () => {
  it('takes the most likely token when not sampling', () => {
    expect(chooseToken(logits, { sample: false, temperature: 0.2, topP: 0.7 }, () => 0.99)).toBe(1);
  });

  it('draws only from the top-p nucleus', () => {
    // softmax(logits) ~ [0.07, 0.52, 0.32, 0.01, 0.02...]: top-p 0.7 keeps tokens 1 and 2.
    const random = seededRandom(1);
    const seen = new Set(
      Array.from({ length: 400 }, () => chooseToken(logits, { sample: true, temperature: 1, topP: 0.7 }, random)),
    );
    expect([...seen].sort()).toEqual([1, 2]);
    // top-p 1 keeps every token.
    const all = new Set(
      Array.from({ length: 2000 }, () => chooseToken(logits, { sample: true, temperature: 1, topP: 1 }, random)),
    );
    expect(all.size).toBe(5);
  });

  it('sharpens with a low temperature and repeats under the same seed', () => {
    const draws = (seed: number, temperature: number) => {
      const random = seededRandom(seed);
      return Array.from({ length: 50 }, () => chooseToken(logits, { sample: true, temperature, topP: 1 }, random));
    };
    expect(draws(7, 1)).toEqual(draws(7, 1));
    expect(draws(7, 1)).not.toEqual(draws(8, 1));
    const cold = draws(7, 0.05);
    expect(cold.filter((t) => t === 1).length).toBeGreaterThan(45);
  });
});
