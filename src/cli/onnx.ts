// `myvlm onnx`: look inside ONNX files and write tiny generated VLMs.
//   myvlm onnx inspect <file.onnx> [--json]
//   myvlm onnx tiny llava|minigpt-v2 <dir> [--seed S] [size flags]
// The ONNX code is imported once the arguments are checked.
import { UsageError } from '../errors.ts';
import type { TinyFamily, TinyVlmOptions } from '../onnx/tiny/config.ts';
import { checkNamedFile, namedPathError } from './flags.ts';

/** Integer flags of `onnx tiny` and the option each sets. */
const SIZE_FLAGS: Readonly<Record<string, keyof TinyVlmOptions>> = {
  '--seed': 'seed',
  '--layers': 'layers',
  '--hidden': 'hiddenSize',
  '--heads': 'heads',
  '--kv-heads': 'kvHeads',
  '--intermediate': 'intermediateSize',
  '--vocab': 'vocabSize',
  '--image-size': 'imageSize',
  '--patch-size': 'patchSize',
  '--vision-hidden': 'visionHiddenSize',
  '--vision-layers': 'visionLayers',
  '--vision-heads': 'visionHeads',
  '--vision-intermediate': 'visionIntermediateSize',
};

const USAGE = [
  'Usage:',
  '  myvlm onnx inspect <file.onnx> [--json]',
  '      inputs, outputs, opsets, operator counts, parameters and external data of a model',
  '  myvlm onnx tiny llava|minigpt-v2 <dir> [--seed S] [options]',
  '      write a tiny VLM with seeded random weights (for tests and benchmarks)',
  '      options: --layers N --hidden N --heads N --kv-heads N --intermediate N --vocab N',
  '               --image-size N --patch-size N --vision-hidden N --vision-layers N',
  '               --vision-heads N --vision-intermediate N --tie --float64',
].join('\n');

async function inspect(args: string[]): Promise<number> {
  const json = args.includes('--json');
  const files = args.filter((a) => a !== '--json');
  const unknown = files.find((a) => a.startsWith('--'));
  if (unknown) throw new UsageError(`Unknown option ${unknown}.\n\n${USAGE}`);
  if (files.length !== 1) throw new UsageError(`onnx inspect takes one model file.\n\n${USAGE}`);
  await checkNamedFile(files[0]);
  const { formatInspection, inspectModel } = await import('../onnx/inspect.ts');
  const summary = await inspectModel(files[0]);
  process.stdout.write(json ? `${JSON.stringify(summary, null, 2)}\n` : `${formatInspection(summary)}\n`);
  return 0;
}

/** Parses `onnx tiny` options; throws UsageError on bad values. */
export function parseTinyArgs(args: readonly string[]): { family: TinyFamily; dir: string; options: TinyVlmOptions } {
  const positional: string[] = [];
  const options: TinyVlmOptions = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--tie') options.tieWordEmbeddings = true;
    else if (arg === '--float64') options.dtype = 'float64';
    else if (arg in SIZE_FLAGS) {
      const raw = args[++i];
      const value = Number(raw);
      if (raw === undefined || raw.trim() === '' || !Number.isInteger(value))
        throw new UsageError(`${arg} needs a whole number (got ${raw ?? 'nothing'}).`);
      (options as Record<string, number>)[SIZE_FLAGS[arg]] = value;
    } else if (arg.startsWith('--')) throw new UsageError(`Unknown option ${arg}.\n\n${USAGE}`);
    else positional.push(arg);
  }
  const [family, dir, ...extra] = positional;
  if (family !== 'llava' && family !== 'minigpt-v2')
    throw new UsageError(`Choose a family: llava or minigpt-v2 (got ${family ?? 'nothing'}).\n\n${USAGE}`);
  if (!dir || extra.length > 0) throw new UsageError(`onnx tiny takes one output folder.\n\n${USAGE}`);
  return { family, dir, options };
}

async function tiny(args: string[]): Promise<number> {
  const { family, dir, options } = parseTinyArgs(args);
  const { writeTinyVlm } = await import('../onnx/tiny/factory.ts');
  const written = await writeTinyVlm(family, dir, options).catch((cause: unknown) => {
    throw namedPathError(cause, dir, 'write');
  });
  const s = written.sizes;
  process.stdout.write(
    `Wrote a tiny ${family} model (seed ${s.seed}, ${s.dtype}) to ${written.dir}\n` +
      `  language model: ${s.layers} layers, hidden ${s.hiddenSize}, ${s.heads} heads / ${s.kvHeads} kv heads, vocabulary ${s.vocabSize}\n` +
      `  vision: ${s.imageSize}px images, ${s.patchSize}px patches, ${s.imageTokens} image tokens\n` +
      written.files.map((f) => `  ${f}\n`).join(''),
  );
  return 0;
}

/** Entry of `myvlm onnx ...`; returns the process exit code, throws UsageError on a mistake. */
export async function onnxCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'help' || sub === '--help' || sub === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (sub === 'inspect') return inspect(rest);
  if (sub === 'tiny') return tiny(rest);
  throw new UsageError(`${sub ? `Unknown onnx command "${sub}".` : 'onnx needs a command.'}\n\n${USAGE}`);
}
