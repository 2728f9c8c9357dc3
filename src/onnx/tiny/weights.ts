// Seeded weights for the tiny models. Each tensor draws from its own stream,
// keyed by the model seed and the tensor's name, so adding a tensor never
// changes the others, and the float32 and float64 variants hold the same
// numbers (float32 rounds the float64 draw).
import { normal, seededRandom } from '../../random.ts';
import type { TinyDType } from './config.ts';

/** FNV-1a over the text, mixed with the seed: a stable 32-bit stream seed per tensor. */
function streamSeed(seed: number, name: string): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Weight data in the model's floating type. */
export type WeightArray = Float32Array | Float64Array;

/** Draws named tensors for one model. */
export class WeightFactory {
  constructor(
    readonly seed: number,
    readonly dtype: TinyDType,
  ) {}

  private make(values: Float64Array): WeightArray {
    return this.dtype === 'float64' ? values : Float32Array.from(values);
  }

  /** Normal(0, std) entries. */
  normal(name: string, count: number, std: number): WeightArray {
    const random = seededRandom(streamSeed(this.seed, name));
    const out = new Float64Array(count);
    for (let i = 0; i < count; i++) out[i] = normal(random) * std;
    return this.make(out);
  }

  /** A norm scale: 1 plus a little noise, so a misplaced scale shows in tests. */
  scale(name: string, count: number): WeightArray {
    const random = seededRandom(streamSeed(this.seed, name));
    const out = new Float64Array(count);
    for (let i = 0; i < count; i++) out[i] = 1 + 0.1 * normal(random);
    return this.make(out);
  }

  /** Fixed values (rotary frequencies, constants) in the model's type. */
  values(values: ArrayLike<number>): WeightArray {
    return this.make(Float64Array.from(values));
  }
}
