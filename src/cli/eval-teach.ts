// `myvlm eval teach --tiny`: MyVLM's personalized-captioning experiment in
// miniature, from scratch (generate and pretrain a tiny LLaVA captioner,
// generate photos of a concept, teach its embedding, caption held-out
// photos). Prints the loss drop, the recall and whether outputs without the
// concept stayed the same; several seeds give the spread.
// The experiment (ONNX Runtime) is imported once the arguments are checked.
import { EMBEDDING_TRAINING } from '../config/defaults.ts';
import { UsageError } from '../errors.ts';
import { parseFlags, wholeNumber } from './flags.ts';
import type { TinyExperimentResult } from '../teach/miniature/experiment.ts';

const USAGE = `Usage: myvlm eval teach --tiny [--seed S] [--seeds N] [--steps N] [--json]
  --tiny       run the miniature experiment on a generated tiny LLaVA (the only mode so far)
  --seed S     first seed of model, photos and training (default 0)
  --seeds N    run N seeds (S, S+1, ...) and report each and their mean (default 1)
  --steps N    optimization steps (default ${EMBEDDING_TRAINING.steps})
  --json       print one JSON object instead of text`;

/** Bars the issue set for the miniature experiment. */
const BARS = { lossDrop: 0.8, recall: 0.8, unchangedWithoutConcept: 1 } as const;

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

function percent(v: number): string {
  return `${(100 * v).toFixed(1)}%`;
}

const FLAGS = {
  tiny: { type: 'boolean' },
  seed: { type: 'string' },
  seeds: { type: 'string' },
  steps: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Runs the experiment; returns the process exit code. `args` are what follows `eval teach`. */
export async function evalTeachCommand(args: string[]): Promise<number> {
  const { values } = parseFlags(args, FLAGS, USAGE);
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!values.tiny) throw new UsageError(`Only the miniature experiment exists so far: add --tiny.\n${USAGE}`);
  const first = wholeNumber(values.seed, '--seed', 0, 0);
  const count = wholeNumber(values.seeds, '--seeds', 1, 1);
  const steps = wholeNumber(values.steps, '--steps', EMBEDDING_TRAINING.steps, 1);
  const interactive = process.stderr.isTTY && !values.json;
  const { runTinyTeachExperiment } = await import('../teach/miniature/experiment.ts');

  const runs: (TinyExperimentResult & { seed: number })[] = [];
  for (let seed = first; seed < first + count; seed++) {
    if (!values.json) process.stderr.write(`seed ${seed}: pretraining the tiny captioner, then teaching "sks"…\n`);
    const result = await runTinyTeachExperiment({
      seed,
      steps,
      onProgress: interactive
        ? (p) => process.stderr.write(`\r  step ${p.step}/${p.steps}  loss ${p.loss.toFixed(4)}   `)
        : undefined,
    });
    if (interactive) process.stderr.write('\n');
    runs.push({ seed, ...result });
  }
  const summary = {
    lossDrop: mean(runs.map((r) => r.lossDrop)),
    recall: mean(runs.map((r) => r.recall)),
    unchangedWithoutConcept: mean(runs.map((r) => r.unchangedWithoutConcept)),
  };
  const passed = runs.filter(
    (r) =>
      r.lossDrop >= BARS.lossDrop &&
      r.recall >= BARS.recall &&
      r.unchangedWithoutConcept >= BARS.unchangedWithoutConcept,
  ).length;

  if (values.json) {
    process.stdout.write(`${JSON.stringify({ ...summary, seeds: runs.length, passed, bars: BARS, runs }, null, 2)}\n`);
    return 0;
  }
  const lines = [
    'MyVLM in miniature (tiny LLaVA pretrained to caption, concept taught from 4 photos, 100 steps):',
    ...runs.map(
      (r) =>
        `  seed ${r.seed}: lossDrop ${percent(r.lossDrop)} (${r.initialLoss.toFixed(3)} -> ${r.finalLoss.toFixed(3)}), ` +
        `recall ${percent(r.recall)} (untaught ${percent(r.recallBeforeTeaching)}), ` +
        `unchangedWithoutConcept ${percent(r.unchangedWithoutConcept)}, teaching ${r.trainSeconds.toFixed(1)} s`,
    ),
    `lossDrop ${percent(summary.lossDrop)}`,
    `recall ${percent(summary.recall)}`,
    `unchangedWithoutConcept ${percent(summary.unchangedWithoutConcept)}`,
    `${passed} of ${runs.length} seed(s) meet lossDrop >= ${percent(BARS.lossDrop)}, recall >= ${percent(BARS.recall)} and unchanged outputs.`,
    `Sample captions with the concept: ${runs[0].samples.withConcept.map((c) => `"${c}"`).join(', ')}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
