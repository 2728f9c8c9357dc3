// Checks a gradient model against central finite differences of its own loss
// output: directional derivatives along random directions (which exercise
// every element at once) and a few single coordinates. Run in float64, the
// two agree to many digits when every rule is right.
import * as ort from 'onnxruntime-node';
import { seededRandom, normal } from '../../src/random.ts';
import type { OnnxModel } from '../../src/onnx/model.ts';

/** Options of a gradient check; defaults in the comments. */
export interface GradientCheckOptions {
  /** Random directions to check (default 3). */
  directions?: number;
  /** Single coordinates to check (default 3). */
  coordinates?: number;
  /** Finite-difference step relative to the input's scale (default 1e-5; float32 wants ~1e-2). */
  epsilon?: number;
  /** Seed of the directions and coordinates (default 0). */
  seed?: number;
}

/** One comparison: the analytic directional derivative against the numeric one. */
export interface GradientComparison {
  what: string;
  analytic: number;
  numeric: number;
  /** |analytic - numeric| / max(|analytic|, |numeric|, 1e-6). */
  relativeError: number;
}

/** Result of a check: the loss at the point, every comparison, and the worst error. */
export interface GradientCheckResult {
  loss: number;
  comparisons: GradientComparison[];
  maxRelativeError: number;
}

type FloatArray = Float32Array | Float64Array;

function toNumber(t: ort.Tensor): number {
  return Number((t.data as FloatArray)[0]);
}

/**
 * Runs `model` (outputs: `loss` and `gradOutput`) at `feeds`, then compares
 * the gradient of `wrt` with central differences of the loss.
 */
export async function checkGradient(
  model: OnnxModel | Uint8Array,
  feeds: Record<string, ort.Tensor>,
  names: { wrt: string; loss: string; gradient: string },
  options: GradientCheckOptions = {},
): Promise<GradientCheckResult> {
  const bytes = model instanceof Uint8Array ? model : model.toBytes();
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'basic' });
  try {
    const base = feeds[names.wrt];
    if (!base || (base.type !== 'float64' && base.type !== 'float32'))
      throw new RangeError(`feed "${names.wrt}" must be a float tensor`);
    const x = base.data as FloatArray;
    const make = (data: FloatArray) => new ort.Tensor(base.type as 'float32' | 'float64', data, base.dims);
    const lossAt = async (data: FloatArray): Promise<number> =>
      toNumber((await session.run({ ...feeds, [names.wrt]: make(data) }, [names.loss]))[names.loss]);
    const first = await session.run(feeds, [names.loss, names.gradient]);
    const loss = toNumber(first[names.loss]);
    const grad = first[names.gradient].data as FloatArray;
    if (grad.length !== x.length) throw new RangeError(`gradient has ${grad.length} elements, input ${x.length}`);

    const random = seededRandom(options.seed ?? 0);
    let squares = 0;
    for (const v of x) squares += v * v;
    const scale = Math.max(1e-3, Math.sqrt(squares / Math.max(1, x.length)));
    const eps = (options.epsilon ?? 1e-5) * scale;
    const comparisons: GradientComparison[] = [];
    const compare = async (what: string, direction: FloatArray) => {
      const plus = x.slice() as FloatArray;
      const minus = x.slice() as FloatArray;
      let analytic = 0;
      for (let i = 0; i < x.length; i++) {
        plus[i] += eps * direction[i];
        minus[i] -= eps * direction[i];
        analytic += grad[i] * direction[i];
      }
      const numeric = ((await lossAt(plus)) - (await lossAt(minus))) / (2 * eps);
      const relativeError = Math.abs(analytic - numeric) / Math.max(Math.abs(analytic), Math.abs(numeric), 1e-6);
      comparisons.push({ what, analytic, numeric, relativeError });
    };
    const zeros = () => (x instanceof Float64Array ? new Float64Array(x.length) : new Float32Array(x.length));
    for (let d = 0; d < (options.directions ?? 3); d++) {
      const v = zeros();
      for (let i = 0; i < v.length; i++) v[i] = normal(random);
      await compare(`direction ${d}`, v);
    }
    for (let c = 0; c < Math.min(options.coordinates ?? 3, x.length); c++) {
      const v = zeros();
      const at = Math.floor(random() * x.length);
      v[at] = 1;
      await compare(`coordinate ${at}`, v);
    }
    return { loss, comparisons, maxRelativeError: Math.max(0, ...comparisons.map((c) => c.relativeError)) };
  } finally {
    await session.release();
  }
}
