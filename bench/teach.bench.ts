// What teaching costs against answering on the same files, per export
// (src/teach/teaching-cost.ts, which `myvlm bench teach` also prints): one
// training step of 4 photos over one answering forward of the same batch and
// sequence, and the peak memory of a process that teaches over one that
// answers. On the three replicas in fp32 and q4; with MYVLM_BENCH_FULLSIZE=<folder>
// also on the full-size replica (made by make_replicas.py --full-size), which
// takes about 15 minutes on 2 cores.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { VlmDtype } from '../src/config/settings.ts';
import { measureTeachingCost, type PeakMemory, type TeachingCost } from '../src/teach/teaching-cost.ts';
import { REPLICA_FOLDERS, REPLICAS_DIR } from '../test/support/replicas.ts';
import { table, type BenchSection } from './harness.ts';

const DTYPES: VlmDtype[] = ['fp32', 'q4'];

const memory = (m: PeakMemory | null): string =>
  m ? `${(m.pssMiB ?? m.rssMiB).toFixed(0)} (${m.rssMiB.toFixed(0)})` : 'n/a';

function row(name: string, cost: TeachingCost): (string | number)[] {
  return [
    name,
    cost.dtype,
    `${cost.batch} x ${cost.sequence} (${cost.prefix} cached)`,
    cost.forwardMs,
    cost.stepMs,
    cost.stepOverForward,
    memory(cost.answering),
    memory(cost.teaching),
    cost.memoryRatio ?? 'n/a',
    cost.lessonMs / 60_000,
  ];
}

export default async function teachBenchmark(): Promise<BenchSection> {
  const cacheDir = mkdtempSync(path.join(tmpdir(), 'myvlm-bench-teach-'));
  const rows: (string | number)[][] = [];
  try {
    for (const folder of REPLICA_FOLDERS) {
      for (const dtype of DTYPES)
        rows.push(
          row(folder, await measureTeachingCost({ dir: path.join(REPLICAS_DIR, folder), dtype, cacheDir, steps: 5 })),
        );
    }
    const fullSize = process.env.MYVLM_BENCH_FULLSIZE;
    if (fullSize) {
      for (const dtype of DTYPES)
        rows.push(
          row(
            `${path.basename(fullSize)} (full size)`,
            await measureTeachingCost({ dir: fullSize, dtype, cacheDir, steps: 2 }),
          ),
        );
    }
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
  return {
    title: 'Teaching against answering on the same export (CPU)',
    markdown: [
      'A training step: 4 augmented photos through the vision encoder, ' +
        'the positions before the concept token through the decoder without its head (the prefix cache), ' +
        'the rest through the teaching graph (forward and backward), AdamW. ' +
        'Its median over the timed steps is divided by the median answering forward of the same batch and sequence: ' +
        'the 4 photos through the vision encoder and the whole sequences through the answering decoder, ' +
        'which computes logits at every position as the exports do. ' +
        'Memory: growth of the peak of a fresh process that answers one photo (8 tokens) or runs 2 training steps, ' +
        'in MiB, proportional set size (resident set in brackets; it counts the decoder weights twice where two graphs map them). ' +
        'Ratio: teaching over answering, proportional. Lesson: 100 steps at the measured step.',
      '',
      table(
        [
          'export',
          'dtype',
          'batch x tokens',
          'answering forward ms',
          'training step ms',
          'step / forward',
          'answering peak MiB',
          'teaching peak MiB',
          'memory ratio',
          'lesson min',
        ],
        rows,
      ),
    ].join('\n'),
  };
}
