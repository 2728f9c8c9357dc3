// `myvlm <command>`: the one command-line entry. `npm start` runs `myvlm
// start`; every other command is for scripts, evaluation and maintenance.
// Exit codes a script can rely on: 0 done, 1 failed (a missing file or model,
// a bad setting, a bug), 2 typed wrongly (UsageError).
// Each command's module is imported only when it runs, and imports its heavy
// libraries (ONNX Runtime, sharp, transformers.js, the messenger clients)
// only after checking its arguments: a typing mistake is answered at once.
import dotenv from 'dotenv';
import { messageFor, UsageError, whoMustAct } from '../errors.ts';

type Command = (args: string[]) => Promise<number>;

const COMMANDS: Record<string, { summary: string; run: Command }> = {
  start: {
    summary:
      'start the messengers and the web app from the environment, or the terminal chat and the web app ' +
      '(`--terminal`, `--web`: one; `--shards auto|N`: Discord shards)',
    run: async (args) => (await import('./start.ts')).startCommand(args),
  },
  chat: {
    summary: 'chat in this terminal (photos as file paths)',
    run: async (args) => (await import('./start.ts')).chatCommand(args),
  },
  discord: {
    summary: 'register the Discord slash commands (`discord register [--guild <id>]`)',
    run: async (args) => {
      if (args[0] !== 'register') throw new UsageError('Usage: myvlm discord register [--guild <server id>]');
      return (await import('./start.ts')).discordRegisterCommand(args.slice(1));
    },
  },
  worker: {
    summary: 'train the lessons bot processes queue on MYVLM_QUEUE_URL (`worker [--lessons]`)',
    run: async (args) => (await import('./worker.ts')).workerCommand(args),
  },
  models: {
    summary: 'list known models, or `models fetch <id>` to download one',
    run: async (args) => (await import('./models.ts')).modelsCommand(args),
  },
  caption: {
    summary: "caption a photo with a scope's concepts (`caption <image> [--vlm <id|dir>] [--scope <scope>]`)",
    run: async (args) => (await import('./vlm.ts')).vlmCommand('caption', args),
  },
  ask: {
    summary: 'ask about a photo (`ask <image> <question> [--vlm <id|dir>] [--scope <scope>]`)',
    run: async (args) => (await import('./vlm.ts')).vlmCommand('ask', args),
  },
  refer: {
    summary: 'mark where a concept is (`refer <image> <name> [--out <file>] [--vlm <id|dir>]`)',
    run: async (args) => (await import('./vlm.ts')).vlmCommand('refer', args),
  },
  teach: {
    summary:
      'teach a concept to a VLM outside any chat and print the loss (`teach <name> <photo>... --vlm <id|dir> [--dtype q4] [--steps N] [--json]`)',
    run: async (args) => (await import('./teach.ts')).teachCommand(args),
  },
  eval: {
    summary:
      'measure as the paper does (`eval faces <dir>`, `eval objects <dir>`, `eval caption --data <dir> --vlm <id|dir>`, ' +
      '`eval vqa --data <dir> --vlm <id|dir>`, `eval teach --tiny`)',
    run: async ([what, ...args]) => {
      if (what === 'faces') return (await import('./eval-faces.ts')).evalFacesCommand(args);
      if (what === 'objects') return (await import('./eval-objects.ts')).evalObjectsCommand(args);
      if (what === 'teach') return (await import('./eval-teach.ts')).evalTeachCommand(args);
      if (what === 'caption' || what === 'vqa')
        return (await import('./eval-caption.ts')).evalPersonalizationCommand(what, args);
      throw new UsageError(
        'Usage: myvlm eval faces|objects <dir> [options], myvlm eval caption|vqa --data <dir> [options], or myvlm eval teach --tiny',
      );
    },
  },
  onnx: {
    summary: 'inspect an ONNX file (`onnx inspect <file>`), or write a tiny VLM (`onnx tiny llava|minigpt-v2 <dir>`)',
    run: async (args) => (await import('./onnx.ts')).onnxCommand(args),
  },
  bench: {
    summary: 'measure teaching on one model (`bench teach --vlm <id|dir> [--dtype q4] [--json]`)',
    run: async (args) => {
      if (args[0] === 'teach') return (await import('./bench-teach.ts')).benchTeachCommand(args.slice(1));
      throw new UsageError(
        "Usage: myvlm bench teach --vlm <id|dir> [--dtype q4] [--json]. The repository's benchmarks run with `npm run bench`.",
      );
    },
  },
};

/** What a script can rely on, in `myvlm help`. */
const EXIT_CODES = [
  'Exit codes:',
  '  0  done',
  '  1  failed: a missing or unreadable file, a model that was asked for and is not there, a bad setting,',
  '     the data folder in use by a running assistant, `refer` finding nothing to mark',
  '  2  typed wrongly: an unknown command or option, a missing argument, a bad value',
];

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  return [
    'Usage: myvlm <command> [options]',
    '',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
  ].join('\n');
}

/** Runs `myvlm <argv>`; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  dotenv.config();
  const [name, ...args] = argv;
  if (name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(`${usage()}\n\n${EXIT_CODES.join('\n')}\n`);
    return 0;
  }
  try {
    const command = name !== undefined && Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
    if (!command)
      throw new UsageError(`${name === undefined ? 'Name a command.' : `Unknown command "${name}".`}\n\n${usage()}`);
    return await command.run(args);
  } catch (error) {
    if (whoMustAct(error) === 'developer') {
      // Only a bug is logged (with its stack); the logger loads for it alone.
      const { log } = await import('../log.ts');
      log.error({ err: error }, 'command failed');
    }
    process.stderr.write(`myvlm: ${messageFor(error, 'operator')}\n`);
    return error instanceof UsageError ? 2 : 1;
  }
}
