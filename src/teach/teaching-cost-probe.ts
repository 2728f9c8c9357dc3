// The child process of teaching-cost.ts: opens one export and either answers
// one photo (as the assistant answers, one sequence) or runs two training
// steps of a batch (as a lesson does), then prints the growth of its peak
// memory as one JSON line. Run as `node --import tsx teaching-cost-probe.ts <request>`.
import { readFileSync } from 'node:fs';
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
let pssPeak = pssBefore ?? 0;
// ONNX Runtime runs off the main thread, so the sampler keeps ticking during a run.
const sampler = setInterval(() => (pssPeak = Math.max(pssPeak, pssKiB() ?? 0)), 50);
const vlm = await TeachableExport.open(request.dir, { cacheDir: request.cacheDir, runtime: request.runtime, dtype: request.dtype });
const lesson = costLesson(vlm, request.batch);
if (request.mode === 'answer') {
  const features = await vlm.imageFeatures(lesson[0].image);
  await vlm.answer({ image: features, instruction: lesson[0].choices[0].instruction, concepts: [new Float64Array(vlm.hiddenSize).fill(1)], maxNewTokens: 8 });
} else {
  await trainConceptEmbedding(vlm, lesson, { steps: 2 });
}
pssPeak = Math.max(pssPeak, pssKiB() ?? 0);
clearInterval(sampler);
await vlm.release();
const rssPeak = procKiB('status', 'VmHWM') ?? process.resourceUsage().maxRSS;
const result: PeakMemory = { rssMiB: (rssPeak - rssBefore) / 1024, pssMiB: pssBefore === null ? null : (pssPeak - pssBefore) / 1024 };
process.stdout.write(`${JSON.stringify(result)}\n`);
