// `myvlm eval teach --tiny`: MyVLM's personalized-captioning experiment in
// miniature, from scratch (generate and pretrain a tiny LLaVA captioner,
// generate photos of a concept, teach its embedding, caption new held-out
// scenes). Prints, per seed, recall beside its controls (a random vector, no
// vector, the identifier on photos of other things) and the whole-caption
// match, then the distribution over seeds and how many pass the bars.
// The experiment (ONNX Runtime) is imported once the arguments are checked.
import { EMBEDDING_TRAINING } from '../config/defaults.ts';
import { UsageError } from '../errors.ts';
import { parseFlags, wholeNumber } from './flags.ts';
import type { TinyExperimentResult } from '../teach/miniature/experiment.ts';

const USAGE = `Usage: myvlm eval teach --tiny [--seed S] [--seeds N] [--steps N] [--identifier sks|bear] [--json|--markdown]
  --tiny        run the miniature experiment on a generated tiny LLaVA (the only mode so far)
  --seed S      first seed of model, photos and training (default 0)
  --seeds N     run N seeds (S, S+1, ...) and report each and their distribution (default 1)
  --steps N     optimization steps (default ${EMBEDDING_TRAINING.steps})
  --identifier  the word taught (default ${EMBEDDING_TRAINING.defaultObjectIdentifier}); never seen by the captioner
  --json        print one JSON object instead of text
  --markdown    print the per-seed table as Markdown (docs/teaching.md quotes it)`;

const FLAGS = {
  tiny: { type: 'boolean' },
  seed: { type: 'string' },
  seeds: { type: 'string' },
  steps: { type: 'string' },
  identifier: { type: 'string' },
  json: { type: 'boolean' },
  markdown: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Run = TinyExperimentResult & { seed: number };

/** Minimum, median and maximum of `values`. */
function spread(values: number[]): { min: number; median: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  const median = sorted.length % 2 === 1 ? sorted[Math.floor(middle)] : (sorted[middle - 1] + sorted[middle]) / 2;
  return { min: sorted[0], median, max: sorted[sorted.length - 1] };
}

function percent(v: number): string {
  return `${Math.round(100 * v)}%`;
}

/** The measures reported per seed, in table order. */
const COLUMNS: { title: string; value: (r: Run) => number }[] = [
  { title: 'recall', value: (r) => r.recall.taught },
  { title: 'exact caption', value: (r) => r.exactCaption.taught },
  { title: 'recall, random vector', value: (r) => r.recall.random },
  { title: 'recall, untaught', value: (r) => r.recall.none },
  { title: 'id on others, taught vector', value: (r) => r.otherIdentifier.taught },
  { title: 'id on others, random vector', value: (r) => r.otherIdentifier.random },
  { title: 'id on others, untaught', value: (r) => r.otherIdentifier.none },
  { title: 'others exact, taught vector', value: (r) => r.otherExactCaption.taught },
  { title: 'others exact, untaught', value: (r) => r.otherExactCaption.none },
  { title: 'loss drop', value: (r) => r.lossDrop },
];

function markdownTable(runs: Run[]): string[] {
  const row = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const lines = [
    row(['seed', ...COLUMNS.map((c) => c.title), 'steers', 'specific']),
    row(['---', ...COLUMNS.map(() => '---'), '---', '---']),
  ];
  for (const r of runs)
    lines.push(row([String(r.seed), ...COLUMNS.map((c) => percent(c.value(r))), yesNo(r.steers), yesNo(r.specific)]));
  for (const key of ['min', 'median', 'max'] as const)
    lines.push(row([key, ...COLUMNS.map((c) => percent(spread(runs.map(c.value))[key])), '', '']));
  return lines;
}

function yesNo(value: boolean): string {
  return value ? 'yes' : 'no';
}

function barsLine(bars: Record<string, number>, runs: Run[]): string {
  const steering = runs.filter((r) => r.steers).length;
  const specific = runs.filter((r) => r.specific).length;
  return (
    `${steering} of ${runs.length} seed(s) steer (recall >= ${percent(bars.recall)}, exact caption >= ${percent(bars.exactCaption)}, ` +
    `recall with a random vector <= ${percent(bars.randomRecall)}, untaught <= ${percent(bars.untaughtRecall)}); ` +
    `${specific} of ${runs.length} are specific (identifier on others with the taught vector <= ${percent(bars.otherWithVector)}).`
  );
}

/** Runs the experiment; returns the process exit code. `args` are what follows `eval teach`. */
export async function evalTeachCommand(args: string[]): Promise<number> {
  const { values } = parseFlags(args, FLAGS, USAGE);
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!values.tiny) throw new UsageError(`Only the miniature experiment exists so far: add --tiny.\n${USAGE}`);
  if (values.json && values.markdown) throw new UsageError(`Choose --json or --markdown, not both.\n${USAGE}`);
  const first = wholeNumber(values.seed, '--seed', 0, 0);
  const count = wholeNumber(values.seeds, '--seeds', 1, 1);
  const steps = wholeNumber(values.steps, '--steps', EMBEDDING_TRAINING.steps, 1);
  const identifier = values.identifier ?? EMBEDDING_TRAINING.defaultObjectIdentifier;
  const interactive = process.stderr.isTTY && !values.json;
  const { runTinyTeachExperiment, TINY_BARS } = await import('../teach/miniature/experiment.ts');

  const runs: Run[] = [];
  for (let seed = first; seed < first + count; seed++) {
    if (!values.json)
      process.stderr.write(`seed ${seed}: pretraining the tiny captioner, then teaching "${identifier}"…\n`);
    const result = await runTinyTeachExperiment({
      seed,
      steps,
      identifier,
      onProgress: interactive
        ? (p) => process.stderr.write(`\r  step ${p.step}/${p.steps}  loss ${p.loss.toFixed(4)}   `)
        : undefined,
    });
    if (interactive) process.stderr.write('\n');
    runs.push({ seed, ...result });
  }
  const steering = runs.filter((r) => r.steers).length;
  const specific = runs.filter((r) => r.specific).length;
  const distribution = Object.fromEntries(COLUMNS.map((c) => [c.title, spread(runs.map(c.value))]));

  if (values.json) {
    process.stdout.write(
      `${JSON.stringify({ identifier, seeds: runs.length, steering, specific, bars: TINY_BARS, distribution, runs }, null, 2)}\n`,
    );
    return 0;
  }
  const lines = values.markdown
    ? [...markdownTable(runs), '', barsLine(TINY_BARS, runs)]
    : [
        `MyVLM in miniature: "${identifier}" taught from 4 photos, ${steps} steps; held-out scenes of the concept and of other things and people:`,
        ...runs.map(
          (r) =>
            `  seed ${r.seed}: ${COLUMNS.map((c) => `${c.title} ${percent(c.value(r))}`).join(', ')}; ` +
            `${r.steers ? 'steers' : 'does not steer'}, ${r.specific ? 'specific' : 'not specific'}`,
        ),
        ...(['min', 'median', 'max'] as const).map(
          (key) => `${key}: ${COLUMNS.map((c) => `${c.title} ${percent(distribution[c.title][key])}`).join(', ')}`,
        ),
        barsLine(TINY_BARS, runs),
        `Sample captions with the taught vector: ${runs[0].samples.concept.map((c) => `"${c}"`).join(', ')}; ` +
          `on other photos: ${runs[0].samples.other.map((c) => `"${c}"`).join(', ')}`,
      ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
