import { describe, expect, it } from 'vitest';
import { resolveSizes } from './config.ts';
import { OperatorError } from '../../errors.ts';

describe('tiny model sizes', () => {
  it('fills small defaults and derives head size and image tokens per family', () => {
    const llava = resolveSizes('llava', {}, 500);
    expect(llava).toMatchObject({
      layers: 2,
      hiddenSize: 64,
      heads: 4,
      kvHeads: 2,
      headDim: 16,
      intermediateSize: 128,
      vocabSize: 500,
      patches: 16,
      imageTokens: 16,
      dtype: 'float32',
      seed: 0,
    });
    expect(resolveSizes('minigpt-v2', { imageSize: 64, patchSize: 8 }, 500).imageTokens).toBe(16);
    expect(resolveSizes('llava', { heads: 1, hiddenSize: 8 }, 500).kvHeads).toBe(1);
  });

  it('refuses combinations that cannot be built, saying why', () => {
    const cases: [Parameters<typeof resolveSizes>[1], RegExp][] = [
      [{ hiddenSize: 30 }, /multiple of heads/],
      [{ heads: 4, kvHeads: 3 }, /multiple of kvHeads/],
      [{ hiddenSize: 12, heads: 4 }, /must be even/],
      [{ imageSize: 30 }, /multiple of patchSize/],
      [{ layers: 0 }, /positive whole number/],
      [{ vocabSize: 10 }, /smaller than the tokenizer/],
      [{ seed: -1 }, /seed must be/],
      [{ initializerRange: 0 }, /initializerRange must be positive/],
    ];
    for (const [options, reason] of cases) {
      expect(() => resolveSizes('llava', options, 100)).toThrow(OperatorError);
      expect(() => resolveSizes('llava', options, 100)).toThrow(reason);
    }
    expect(() => resolveSizes('minigpt-v2', { imageSize: 24 }, 100)).toThrow(OperatorError);
    expect(() => resolveSizes('minigpt-v2', { imageSize: 24 }, 100)).toThrow(/groups vision tokens by 4; 9 patches/);
  });
});
