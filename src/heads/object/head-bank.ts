// All object heads of a scope as one matrix, scored against a photo's feature
// in one product. With two classes, p(positive) = sigmoid(d . x + e) where
// d = w1 - w0 and e = b1 - b0 - d . center, so each head is one row d and one
// offset e, and a head's own centring folds into its offset. Only the L2 step
// depends on the head, and it is a per-row scale of the same product.
import type { LinearHeadParams } from '../../memory/concept.ts';
import { InternalError } from '../../errors.ts';
import { createMatVecKernel, ROW_ALIGNMENT, type MatVecKernel } from './matvec-kernel.ts';
import { inverseNorm } from './normalization.ts';

/** One object head of a scope, as the conversation core holds it. */
export interface ScopedHead {
  conceptId: string;
  params: LinearHeadParams;
  /**
   * Optional version of the head (the concept record's version). When given,
   * a bank reuses the compiled row while the version is unchanged, even if the
   * params object is a fresh copy from the store; otherwise rows are reused
   * only for the very same params object.
   */
  revision?: number | string;
}

/** A head's verdict on one photo. */
export interface HeadScore {
  conceptId: string;
  /** p(positive), 0..1. */
  probability: number;
  /** probability >= the head's threshold. */
  fires: boolean;
}

/** A head's verdict on a photo's regions: its score, and the region it scores highest (where it points). */
export interface RegionScore extends HeadScore {
  /** Index of the best region in the plan the features came in (0 is the whole photo). */
  region: number;
}

interface Row {
  slot: number;
  params: LinearHeadParams;
  revision: number | string | undefined;
}

/**
 * A compiled, incrementally updated matrix of heads over one feature
 * extractor. `sync()` with the scope's heads, then `score()` each photo's
 * feature: 10,000 heads of 1024 dims take about a millisecond.
 */
export class HeadBank {
  private readonly kernel: MatVecKernel = createMatVecKernel();
  private readonly stride: number;
  private readonly rows = new Map<string, Row>();
  private ids: string[] = [];
  private offsets: Float32Array<ArrayBuffer> = new Float32Array(0);
  private l2 = new Uint8Array(0);
  private byRegions = new Uint8Array(0);
  private thresholds: Float32Array<ArrayBuffer> = new Float32Array(0);
  private capacity = 0;

  constructor(
    /** Feature length; heads of another length are refused. */
    readonly dims: number,
    /** Registry id of the extractor; heads trained on another extractor are refused. */
    readonly extractor: string,
  ) {
    this.stride = Math.ceil(dims / ROW_ALIGNMENT) * ROW_ALIGNMENT;
    this.reserve(16);
  }

  get size(): number {
    return this.ids.length;
  }

  /** Whether a head can live in this bank (same extractor and dims). */
  accepts(params: LinearHeadParams): boolean {
    return params.extractor === this.extractor && params.dims === this.dims && params.weight.length === 2 * this.dims;
  }

  /** Makes the bank hold exactly these heads, recompiling only new or changed ones. */
  sync(heads: readonly ScopedHead[]): void {
    const keep = new Set<string>();
    for (const head of heads) {
      this.upsert(head);
      keep.add(head.conceptId);
    }
    for (const id of [...this.rows.keys()]) if (!keep.has(id)) this.remove(id);
  }

  /** Adds or replaces one head. */
  upsert(head: ScopedHead): void {
    if (!this.accepts(head.params)) {
      throw new InternalError(
        `head of ${head.conceptId} was trained on ${head.params.extractor} (${head.params.dims}-d), not ${this.extractor} (${this.dims}-d)`,
      );
    }
    const existing = this.rows.get(head.conceptId);
    if (existing) {
      const same = head.revision !== undefined ? existing.revision === head.revision : existing.params === head.params;
      if (same) return;
      existing.params = head.params;
      existing.revision = head.revision;
      this.compile(existing.slot, head.params);
      return;
    }
    if (this.ids.length === this.capacity) this.reserve(this.capacity * 2);
    const slot = this.ids.length;
    this.ids.push(head.conceptId);
    this.rows.set(head.conceptId, { slot, params: head.params, revision: head.revision });
    this.compile(slot, head.params);
  }

  /** Forgets one head (the last row moves into its place). */
  remove(conceptId: string): void {
    const row = this.rows.get(conceptId);
    if (!row) return;
    this.rows.delete(conceptId);
    const last = this.ids.length - 1;
    if (row.slot !== last) {
      const movedId = this.ids[last];
      const floats = this.kernel.floats();
      const base = this.matrixOffset();
      floats.copyWithin(base + row.slot * this.stride, base + last * this.stride, base + (last + 1) * this.stride);
      this.offsets[row.slot] = this.offsets[last];
      this.l2[row.slot] = this.l2[last];
      this.byRegions[row.slot] = this.byRegions[last];
      this.thresholds[row.slot] = this.thresholds[last];
      this.ids[row.slot] = movedId;
      (this.rows.get(movedId) as Row).slot = row.slot;
    }
    this.ids.pop();
  }

  /** p(positive) of every head for one raw feature of this bank's extractor, in bank order. */
  probabilities(feature: Float32Array): Float32Array {
    if (feature.length !== this.dims)
      throw new InternalError(`feature of length ${feature.length}, bank of ${this.dims}`);
    const n = this.ids.length;
    const floats = this.kernel.floats();
    floats.set(feature, 0);
    this.kernel.run(this.matrixOffset(), 0, this.stride, n, this.stride);
    const products = this.kernel.floats().subarray(this.stride, this.stride + n);
    const scale = inverseNorm(feature);
    const out = new Float32Array(n);
    for (let r = 0; r < n; r++) {
      const z = products[r] * (this.l2[r] ? scale : 1) + this.offsets[r];
      out[r] = 1 / (1 + Math.exp(-z));
    }
    return out;
  }

  /** Every head's score for one raw feature. */
  score(feature: Float32Array): HeadScore[] {
    const probabilities = this.probabilities(feature);
    return this.ids.map((conceptId, r) => ({
      conceptId,
      probability: probabilities[r],
      fires: probabilities[r] >= this.thresholds[r],
    }));
  }

  /**
   * Every head's score for a photo's regions (`features[0]` the whole photo):
   * a `regions` head scores the best region, a `whole` head (stored before
   * regions existed) the whole photo; either points at its best region.
   */
  scoreRegions(features: readonly Float32Array[]): RegionScore[] {
    if (features.length === 0) throw new InternalError('scoreRegions needs at least the whole photo');
    const perRegion = features.map((f) => this.probabilities(f));
    return this.ids.map((conceptId, r) => {
      let region = 0;
      for (let k = 1; k < perRegion.length; k++) if (perRegion[k][r] > perRegion[region][r]) region = k;
      const probability = this.byRegions[r] ? perRegion[region][r] : perRegion[0][r];
      return { conceptId, probability, fires: probability >= this.thresholds[r], region };
    });
  }

  /** Layout in floats: [x: stride][products: capacity, rounded up][rows: capacity x stride]. */
  private matrixOffset(): number {
    return this.stride + Math.ceil(this.capacity / ROW_ALIGNMENT) * ROW_ALIGNMENT;
  }

  private reserve(capacity: number): void {
    const oldBase = this.matrixOffset();
    const used = this.ids.length;
    const oldRows = this.kernel.floats().slice(oldBase, oldBase + used * this.stride);
    this.capacity = capacity;
    this.kernel.ensureBytes(4 * (this.matrixOffset() + capacity * this.stride));
    this.kernel.floats().set(oldRows, this.matrixOffset());
    this.offsets = grow(this.offsets, capacity);
    this.thresholds = grow(this.thresholds, capacity);
    const l2 = new Uint8Array(capacity);
    l2.set(this.l2.subarray(0, used));
    this.l2 = l2;
    const byRegions = new Uint8Array(capacity);
    byRegions.set(this.byRegions.subarray(0, used));
    this.byRegions = byRegions;
  }

  private compile(slot: number, params: LinearHeadParams): void {
    const { dims, weight, bias, normalization } = params;
    const floats = this.kernel.floats();
    const base = this.matrixOffset() + slot * this.stride;
    let offset = bias[1] - bias[0];
    for (let i = 0; i < dims; i++) {
      const d = weight[dims + i] - weight[i];
      floats[base + i] = d;
      if (normalization.center) offset -= d * normalization.center[i];
    }
    floats.fill(0, base + dims, base + this.stride);
    this.offsets[slot] = offset;
    this.l2[slot] = normalization.l2 ? 1 : 0;
    this.byRegions[slot] = params.scoring === 'regions' ? 1 : 0;
    this.thresholds[slot] = params.threshold;
  }
}

/**
 * p(positive) of each head for one raw feature, as one product. For repeated
 * scoring of the same heads keep a HeadBank instead (it compiles once).
 */
export function scoreHeads(feature: Float32Array, heads: readonly LinearHeadParams[]): Float32Array {
  if (heads.length === 0) return new Float32Array(0);
  const bank = new HeadBank(heads[0].dims, heads[0].extractor);
  bank.sync(heads.map((params, i) => ({ conceptId: String(i), params })));
  return bank.probabilities(feature);
}

function grow(values: Float32Array<ArrayBuffer>, capacity: number): Float32Array<ArrayBuffer> {
  const out = new Float32Array(capacity);
  out.set(values.subarray(0, Math.min(values.length, capacity)));
  return out;
}
