// The child process of teaching-cost.ts: opens one export and either answers
// one photo (as the assistant answers, one sequence) or runs two training
// steps of a batch (as a lesson does), then prints the growth of its peak
// memory as one JSON line. Run as `node --import tsx teaching-cost-probe.ts <request>`.
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { TeachableExport } from './teachable-export.ts';
import { costLesson, type PeakMemory, type ProbeRequest } from './teaching-cost.ts';
import { trainConceptEmbedding } from './trainer.ts';

/** A field of /proc/self/status or /proc/self/smaps_rollup in KiB, or null off Linux. */
function procKiB(file: 'status' | 'smaps_rollup', field: string): number | null {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/self/${file}`, 'utf8'));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

/** Proportional set size: pages shared between mappings (or processes) are divided among them. */
const pssKiB = () => procKiB('smaps_rollup', 'Pss');

const request = JSON.parse(process.argv[2] ?? '') as ProbeRequest;
// The peak resident set of this process image (VmHWM): getrusage's maxRSS would carry the parent's peak across fork and exec.
const rssBefore = procKiB('status', 'VmRSS') ?? process.resourceUsage().maxRSS;
const pssBefore = pssKiB();
// An ONNX Runtime run blocks the thread that calls it, so the proportional set size is sampled on a thread of its own.
const peak = new Float64Array(new SharedArrayBuffer(8));
const sampler = new Worker(
  `const { workerData } = require('node:worker_threads');
   const { readFileSync } = require('node:fs');
   const peak = new Float64Array(workerData);
   const sample = () => { const m = /^Pss:\\s+(\\d+) kB/m.exec(readFileSync('/proc/self/smaps_rollup', 'utf8')); if (m) peak[0] = Math.max(peak[0], Number(m[1])); };
   setInterval(sample, 25);`,
  { eval: true, workerData: peak.buffer },
);
sampler.unref();
const vlm = await TeachableExport.open(request.dir, { cacheDir: request.cacheDir, runtime: request.runtime, dtype: request.dtype });
const lesson = costLesson(vlm, request.batch);
if (request.mode === 'answer') {
  const features = await vlm.imageFeatures(lesson[0].image);
  await vlm.answer({ image: features, instruction: lesson[0].choices[0].instruction, concepts: [new Float64Array(vlm.hiddenSize).fill(1)], maxNewTokens: 8 });
} else {
  await trainConceptEmbedding(vlm, lesson, { steps: 2 });
}
const pssPeak = Math.max(peak[0], pssKiB() ?? 0);
await sampler.terminate();
await vlm.release();
const rssPeak = procKiB('status', 'VmHWM') ?? process.resourceUsage().maxRSS;
const result: PeakMemory = { rssMiB: (rssPeak - rssBefore) / 1024, pssMiB: pssBefore === null ? null : (pssPeak - pssBefore) / 1024 };
process.stdout.write(`${JSON.stringify(result)}\n`);
