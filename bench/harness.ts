// The benchmark harness: time a function, summarize, and print markdown.
// Every benchmark reports a ratio against a reference measured in the same
// run (raw ONNX Runtime session time, transformers.js, a baseline), because
// absolute numbers on a shared two-core machine mean little on their own.
import { performance } from 'node:perf_hooks';

export interface Timing {
  /** Median milliseconds per call. */
  medianMs: number;
  /** 90th percentile milliseconds per call. */
  p90Ms: number;
  /** Mean milliseconds per call. */
  meanMs: number;
  iterations: number;
}

export interface MeasureOptions {
  /** Untimed calls first (JIT, session warm-up). Default 3. */
  warmup?: number;
  /** Timed calls. Default 20. */
  iterations?: number;
  /** Stop early once this many milliseconds were spent timing. Default 10 000. */
  budgetMs?: number;
}

export async function measure(fn: () => unknown, options: MeasureOptions = {}): Promise<Timing> {
  const warmup = options.warmup ?? 3;
  const iterations = options.iterations ?? 20;
  const budgetMs = options.budgetMs ?? 10_000;
  for (let i = 0; i < warmup; i++) await fn();
  const samples: number[] = [];
  const started = performance.now();
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    await fn();
    samples.push(performance.now() - t0);
    if (performance.now() - started > budgetMs && samples.length >= 3) break;
  }
  samples.sort((a, b) => a - b);
  const pick = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))];
  return {
    medianMs: pick(0.5),
    p90Ms: pick(0.9),
    meanMs: samples.reduce((s, x) => s + x, 0) / samples.length,
    iterations: samples.length,
  };
}

/** A markdown table from rows of cells; numbers are printed with 3 significant digits. */
export function table(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>): string {
  const cell = (v: string | number) => (typeof v === 'number' ? formatNumber(v) : v);
  const lines = [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ];
  return lines.join('\n');
}

export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const abs = Math.abs(v);
  if (abs >= 100) return v.toFixed(0);
  if (abs >= 10) return v.toFixed(1);
  if (abs >= 1) return v.toFixed(2);
  return v.toPrecision(3);
}

/** One benchmark file's contribution: a titled markdown section. */
export interface BenchSection {
  title: string;
  markdown: string;
}

export type Benchmark = () => Promise<BenchSection>;
