// This process's memory, as the kernel counts it, for the memory probes of
// the benchmarks and of `myvlm bench teach`. On Linux the figures come from
// /proc/self: the peak resident set of this process image (VmHWM), and the
// proportional set size, which divides a page mapped twice (two sessions
// mapping one weight file) among its mappings. Elsewhere the peak falls back to
// getrusage, whose maxRSS a child inherits from its parent across fork and
// exec, and the proportional size is unknown.
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

function procKiB(file: 'status' | 'smaps_rollup', field: string): number | null {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/self/${file}`, 'utf8'));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

/** The resident set now, MiB. */
export function residentMiB(): number {
  return (procKiB('status', 'VmRSS') ?? process.resourceUsage().maxRSS) / 1024;
}

/** The peak resident set so far, MiB. */
export function peakResidentMiB(): number {
  return (procKiB('status', 'VmHWM') ?? process.resourceUsage().maxRSS) / 1024;
}

/** The proportional set size now, MiB, or null where the kernel does not report it. */
export function proportionalMiB(): number | null {
  const kib = procKiB('smaps_rollup', 'Pss');
  return kib === null ? null : kib / 1024;
}

/**
 * Samples the proportional set size every `everyMs` on a thread of its own
 * (an ONNX Runtime run blocks the thread that calls it, so a timer there
 * would miss every run's peak). `stop()` ends sampling and gives the
 * highest value seen, MiB (null where the kernel does not report it).
 */
export function sampleProportionalPeak(everyMs = 25): { stop: () => Promise<number | null> } {
  if (proportionalMiB() === null) return { stop: () => Promise.resolve(null) };
  const peak = new Float64Array(new SharedArrayBuffer(8));
  const sampler = new Worker(
    `const { workerData } = require('node:worker_threads');
     const { readFileSync } = require('node:fs');
     const peak = new Float64Array(workerData.buffer);
     setInterval(() => {
       const match = /^Pss:\\s+(\\d+) kB/m.exec(readFileSync('/proc/self/smaps_rollup', 'utf8'));
       if (match) peak[0] = Math.max(peak[0], Number(match[1]) / 1024);
     }, workerData.everyMs);`,
    { eval: true, workerData: { buffer: peak.buffer, everyMs } },
  );
  sampler.unref();
  return {
    stop: async () => {
      const last = proportionalMiB() ?? 0;
      await sampler.terminate();
      return Math.max(peak[0], last);
    },
  };
}
