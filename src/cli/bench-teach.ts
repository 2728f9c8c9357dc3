// `myvlm bench teach --vlm <id or folder>`: what teaching costs on one export
// on this machine, against answering on the same files (teaching-cost.ts).
// It answers "how long will a lesson take here, and how much memory" before a
// bot relies on the model.
// The measuring code (ONNX Runtime) is imported once the arguments are checked.
import { EMBEDDING_TRAINING } from '../config/defaults.ts';
import { loadSettings, VLM_DTYPES } from '../config/settings.ts';
import type { PeakMemory } from '../teach/teaching-cost.ts';
import { parseFlags, wholeNumber } from './flags.ts';
import { dtypeFlag, requiredVlm, vlmTarget } from './vlm-target.ts';

const USAGE = `Usage: myvlm bench teach --vlm <id or folder> [--dtype ${VLM_DTYPES.join('|')}] [--batch N] [--steps N] [--no-memory] [--json]
  --vlm        the model to measure (default MYVLM_VLM)
  --dtype      precision of its three graphs (default MYVLM_VLM_DTYPE, else the registry's choice or the most exact files present)
  --batch      photos per step (default ${EMBEDDING_TRAINING.maxPhotosPerStep}, as a lesson)
  --steps      training steps and answering forwards timed, after one untimed (default 3)
  --no-memory  skip the two child processes that measure peak memory
  --json       print one JSON object (stepOverForward, memoryRatio, stepMs, forwardMs, lessonMs, ...)`;

const FLAGS = {
  vlm: { type: 'string' },
  dtype: { type: 'string' },
  batch: { type: 'string' },
  steps: { type: 'string' },
  'no-memory': { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function describeMemory(memory: PeakMemory | null): string {
  if (!memory) return 'not measured';
  return memory.pssMiB === null
    ? `${memory.rssMiB.toFixed(0)} MiB resident`
    : `${memory.pssMiB.toFixed(0)} MiB proportional (${memory.rssMiB.toFixed(0)} MiB resident)`;
}

export async function benchTeachCommand(args: string[]): Promise<number> {
  const { values } = parseFlags(args, FLAGS, USAGE);
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const batch = wholeNumber(values.batch, '--batch', EMBEDDING_TRAINING.maxPhotosPerStep, 1);
  const steps = wholeNumber(values.steps, '--steps', 3, 1);
  const flagDtype = dtypeFlag(values.dtype);
  const settings = loadSettings(process.env);
  const spec = requiredVlm(values.vlm, settings, USAGE);
  const { measureTeachingCost } = await import('../teach/teaching-cost.ts');
  const { located, dtype, runtime } = await vlmTarget(spec, flagDtype, Boolean(values.json), settings);
  if (!values.json)
    process.stderr.write(
      `Measuring teaching on ${located.id}: ${steps + 1} training steps of ${batch} photo(s), ` +
        `then ${steps + 1} answering forwards${values['no-memory'] ? '' : ', then peak memory in two fresh processes'}…\n`,
    );
  const cost = await measureTeachingCost({
    dir: located.dir,
    dtype,
    cacheDir: settings.cacheDir,
    runtime,
    batch,
    steps,
    memory: !values['no-memory'],
  });
  if (values.json) {
    process.stdout.write(`${JSON.stringify(cost)}\n`);
    return 0;
  }
  const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  process.stdout.write(
    [
      `${located.id} (${cost.dtype}), ${cost.batch} x ${cost.sequence} tokens, ${cost.prefix} of them cached forward only`,
      `  training step     ${seconds(cost.stepMs)}`,
      `  answering forward ${seconds(cost.forwardMs)} (same batch and sequence)`,
      `  step / forward    ${cost.stepOverForward.toFixed(2)}`,
      `  lesson (${EMBEDDING_TRAINING.steps} steps)  ${(cost.lessonMs / 60_000).toFixed(1)} min, projected`,
      `  answering memory  ${describeMemory(cost.answering)}`,
      `  teaching memory   ${describeMemory(cost.teaching)}`,
      `  memory ratio      ${cost.memoryRatio === null ? 'not measured' : cost.memoryRatio.toFixed(2)}`,
    ].join('\n') + '\n',
  );
  return 0;
}
