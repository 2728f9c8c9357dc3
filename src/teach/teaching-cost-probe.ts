// The child process of teaching-cost.ts: opens one export and either answers
// one photo (as the assistant answers, one sequence) or runs two training
// steps of a batch (as a lesson does), then prints the growth of its peak
// memory as one JSON line. Run as `node --import tsx teaching-cost-probe.ts <request>`.
import { peakResidentMiB, proportionalMiB, residentMiB, sampleProportionalPeak } from '../process-memory.ts';
import { TeachableExport } from './teachable-export.ts';
import { costLesson, type PeakMemory, type ProbeRequest } from './teaching-cost.ts';
import { trainConceptEmbedding } from './trainer.ts';

const request = JSON.parse(process.argv[2] ?? '') as ProbeRequest;
const residentBefore = residentMiB();
const proportionalBefore = proportionalMiB();
const sampler = sampleProportionalPeak();
const vlm = await TeachableExport.open(request.dir, {
  cacheDir: request.cacheDir,
  runtime: request.runtime,
  dtype: request.dtype,
});
const lesson = costLesson(vlm, request.batch);
if (request.mode === 'answer') {
  const features = await vlm.imageFeatures(lesson[0].image);
  await vlm.answer({
    image: features,
    instruction: lesson[0].choices[0].instruction,
    concepts: [new Float64Array(vlm.hiddenSize).fill(1)],
    maxNewTokens: 8,
  });
} else {
  await trainConceptEmbedding(vlm, lesson, { steps: 2 });
}
const proportionalPeak = await sampler.stop();
await vlm.release();
const result: PeakMemory = {
  rssMiB: peakResidentMiB() - residentBefore,
  pssMiB: proportionalPeak === null || proportionalBefore === null ? null : proportionalPeak - proportionalBefore,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
