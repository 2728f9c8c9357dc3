// A fresh process that answers once or takes teaching steps on one export,
// then prints its peak resident memory above what it held before opening any
// model, and how long the work took. exports.bench.ts runs it per variant so
// that no two measurements share a process.
//   node --import tsx bench/export-probe.ts answer|teach <dir> <dtype> <photo> <cacheDir>
import { readFileSync } from 'node:fs';
import { decodeImage } from '../src/image/decode.ts';
import type { VlmDtype } from '../src/config/settings.ts';
import { SessionPool } from '../src/models/session.ts';
import { peakResidentMiB, residentMiB } from '../src/process-memory.ts';
import { TeachableExport } from '../src/teach/teachable-export.ts';
import { openVlm } from '../src/vlm/load.ts';

/** What one probe prints (as JSON on stdout). */
export interface ProbeResult {
  /** Peak resident memory (VmHWM) above the resident set before any model was opened, MiB. */
  peakMiB: number;
  /** Milliseconds of the measured work: one 16-token greedy caption, or one teaching step after a first one. */
  ms: number;
}

/** Tokens of the measured caption. */
export const PROBE_CAPTION_TOKENS = 16;

async function main(): Promise<void> {
  const [mode, dir, dtype, photoFile, cacheDir] = process.argv.slice(2);
  const photo = await decodeImage(readFileSync(photoFile));
  const base = residentMiB();
  let ms: number;
  if (mode === 'answer') {
    const sessions = new SessionPool();
    const vlm = await openVlm(dir, { resolve: { cacheDir, allowDownload: false }, sessions, dtype: dtype as VlmDtype });
    const started = performance.now();
    await vlm.caption({
      image: photo,
      concepts: [],
      sample: false,
      maxNewTokens: PROBE_CAPTION_TOKENS,
      ignoreStopTokens: true,
    });
    ms = performance.now() - started;
    await sessions.dispose();
  } else {
    const vlm = await TeachableExport.open(dir, { cacheDir, dtype: dtype as VlmDtype });
    const vector = Float64Array.from({ length: vlm.hiddenSize }, (_, i) => Math.sin(i + 1));
    const step = async () =>
      vlm.lossAndGradient(
        [
          {
            features: await vlm.imageFeatures(photo),
            instruction: 'Please caption this image of sks.',
            target: 'sks on the sofa next to a red ball.',
          },
        ],
        vector,
        0.0075,
      );
    await step();
    const started = performance.now();
    await step();
    ms = performance.now() - started;
    await vlm.release();
  }
  process.stdout.write(JSON.stringify({ peakMiB: peakResidentMiB() - base, ms } satisfies ProbeResult));
}

if (process.argv[1]?.endsWith('export-probe.ts')) await main();
