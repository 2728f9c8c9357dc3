// `myvlm teach <name> <photo>... --vlm <id or folder>`: one lesson outside any
// chat, through exactly the code a /teach lesson runs (the model's own chat
// template and image processor, targets from the model, the paper's
// optimizer), printing the loss at every checkpoint. It checks that an export
// teaches before a bot relies on it; nothing is stored.
// Only light modules load before the arguments are checked; the model code
// (ONNX Runtime, sharp) is imported once they are right.
import { EMBEDDING_TRAINING } from '../config/defaults.ts';
import { loadSettings, VLM_DTYPES } from '../config/settings.ts';
import { OperatorError, UsageError } from '../errors.ts';
import type { JobEvent } from '../teach/job.ts';
import type { TeachingPhoto } from '../teach/targets.ts';
import { parseFlags, readNamedFile, wholeNumber } from './flags.ts';
import { dtypeFlag, requiredVlm, vlmTarget } from './vlm-target.ts';

const USAGE =
  `Usage: myvlm teach <name> <photo>... [--vlm <id or folder>] [--dtype ${VLM_DTYPES.join('|')}] ` +
  `[--steps N] [--seed S] [--kind object|person] [--caption TEXT] [--json]
  --vlm      the model to teach (default MYVLM_VLM)
  --dtype    precision of its three graphs (default MYVLM_VLM_DTYPE, else the registry's choice or the most exact files present)
  --steps    optimization steps (default ${EMBEDDING_TRAINING.steps}); a checkpoint every ${EMBEDDING_TRAINING.checkpointEvery} and at the end
  --seed     seed of the initial vector, augmentations and target draws (default 0)
  --kind     what <name> is (default object)
  --caption  a caption of the photos that names <name>; otherwise the model writes the targets
  --json     print one JSON object (lossStart, lossEnd, steps, dtype, checkpoints...) instead of text`;

const FLAGS = {
  vlm: { type: 'string' },
  dtype: { type: 'string' },
  steps: { type: 'string' },
  seed: { type: 'string' },
  kind: { type: 'string' },
  caption: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** What `--json` prints. */
export interface TeachReport {
  model: string;
  dir: string;
  family: string;
  /** The precision of all three graphs, or "vision int8, embeddings int8, decoder q4". */
  dtype: string;
  /** Where the chat template came from. */
  template: string;
  identifier: string;
  photos: number;
  steps: number;
  /** Loss of the teaching photos without augmentation, each with its first target, for the initial and the learned vector. */
  lossStart: number;
  lossEnd: number;
  /** Mean training-step loss since the previous checkpoint, at every checkpoint. */
  checkpoints: { step: number; loss: number }[];
  seconds: number;
}

/** Runs one lesson; returns the exit code (0 when it ran, whatever the loss did). */
export async function teachCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, FLAGS, USAGE);
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const [name, ...photoPaths] = positionals;
  if (!name || photoPaths.length === 0) throw new UsageError(`teach needs a name and at least one photo.\n${USAGE}`);
  if (photoPaths.length > EMBEDDING_TRAINING.maxPhotosPerStep)
    throw new UsageError(
      `A lesson takes 1 to ${EMBEDDING_TRAINING.maxPhotosPerStep} photos, not ${photoPaths.length}.`,
    );
  const dtype = dtypeFlag(values.dtype);
  const kind = values.kind ?? 'object';
  if (kind !== 'object' && kind !== 'person') throw new UsageError(`--kind takes object or person, not "${kind}".`);
  const steps = wholeNumber(values.steps, '--steps', EMBEDDING_TRAINING.steps, 1);
  const seed = wholeNumber(values.seed, '--seed', 0, 0);
  const settings = loadSettings(process.env);
  const spec = requiredVlm(values.vlm, settings, USAGE);

  const [
    { decodeImage },
    { chooseIdentifier },
    { defaultTraining, teachLesson },
    { TeachableExport },
    { describeDtypes },
    { VLM_FAMILIES },
  ] = await Promise.all([
    import('../image/decode.ts'),
    import('../assistant/names.ts'),
    import('../teach/job.ts'),
    import('../teach/teachable-export.ts'),
    import('../vlm/export/variants.ts'),
    import('../vlm/families.ts'),
  ]);
  const photos: TeachingPhoto[] = [];
  for (const file of photoPaths) {
    const bytes = await readNamedFile(file);
    const image = await decodeImage(new Uint8Array(bytes), {
      maxBytes: settings.maxImageBytes,
      maxPixels: settings.maxImagePixels,
    }).catch((cause: unknown) => {
      // The decoder words its refusal for a chat; here the photo is a file the operator named.
      throw new OperatorError(`${file}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    });
    photos.push({ image, caption: values.caption ?? null });
  }

  const { located, dtype: chosen, runtime } = await vlmTarget(spec, dtype, Boolean(values.json), settings);
  const say = (line: string) => void (values.json ? undefined : process.stderr.write(`${line}\n`));
  const started = performance.now();
  const vlm = await TeachableExport.open(located.dir, { cacheDir: settings.cacheDir, runtime, dtype: chosen });
  try {
    const family = located.entry ? VLM_FAMILIES[located.entry.family] : vlm.model.family;
    const identifier = chooseIdentifier(name, kind, []);
    const training = { ...defaultTraining('caption', family, seed), steps };
    say(
      `Teaching ${name} ("${identifier}") to ${located.id} (${describeDtypes(vlm.model.dtypes)}, ${family.label}, ` +
        `template from ${vlm.model.prompts.templateSource}) from ${photos.length} photo(s), ${steps} steps.`,
    );
    const checkpoints: TeachReport['checkpoints'] = [];
    let sinceCheckpoint: number[] = [];
    const onEvent = (event: JobEvent) => {
      if (event.type === 'preparing' && event.stage === 'targets')
        say(values.caption ? 'Using your caption as the target…' : 'Writing practice captions with the model…');
      if (event.type === 'progress') sinceCheckpoint.push(event.loss);
      if (event.type === 'checkpoint') {
        const loss = sinceCheckpoint.reduce((a, b) => a + b, 0) / Math.max(1, sinceCheckpoint.length);
        sinceCheckpoint = [];
        checkpoints.push({ step: event.step, loss });
        say(`step ${event.step}/${steps}  loss ${loss.toFixed(4)}`);
      }
    };
    const outcome = await teachLesson(
      vlm,
      { concept: { identifier, name, kind }, task: 'caption', training, photos },
      { onEvent },
    );
    const report: TeachReport = {
      model: located.id,
      dir: located.dir,
      family: family.id,
      dtype: describeDtypes(vlm.model.dtypes),
      template: vlm.model.prompts.templateSource,
      identifier,
      photos: photos.length,
      steps: outcome.state.step,
      lossStart: outcome.lossStart,
      lossEnd: outcome.lossEnd,
      checkpoints,
      seconds: (performance.now() - started) / 1000,
    };
    if (values.json) {
      process.stdout.write(`${JSON.stringify(report)}\n`);
    } else {
      const change = (100 * (report.lossEnd - report.lossStart)) / report.lossStart;
      process.stdout.write(
        `Loss on the teaching photos: ${report.lossStart.toFixed(4)} -> ${report.lossEnd.toFixed(4)} ` +
          `(${change >= 0 ? '+' : ''}${change.toFixed(2)}%) in ${report.seconds.toFixed(1)} s.\n` +
          (report.lossEnd < report.lossStart
            ? 'The export teaches.'
            : 'The loss did not go down: this export does not learn a concept as configured.') +
          ' Nothing was stored; /teach in a chat stores what it learns.\n',
      );
    }
    return 0;
  } finally {
    await vlm.release();
  }
}
