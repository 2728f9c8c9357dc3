// One-shot questions for scripts and quick tries, answered by the same
// conversation core as the chats:
//   myvlm caption <image> [--vlm <id or folder>] [--dtype <precision>] [--scope <scope>]
//   myvlm ask <image> <question> [--vlm ...] [--dtype ...] [--scope ...]
//   myvlm refer <image> <name> [--out <file.jpg>] [--vlm ...] [--dtype ...] [--scope ...]
// Concepts come from the store in MYVLM_DATA_DIR, from the chosen scope
// (default the terminal chat's, so what `myvlm chat` learned is known here).
// A model that was asked for (--vlm or MYVLM_VLM) and is not there fails the
// command (exit 1); with none configured the concept heads answer alone, and
// the answer says so.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { OPERATOR_SCOPE } from '../assistant/turn.ts';
import { loadSettings, VLM_DTYPES, type VlmDtype } from '../config/settings.ts';
import { UsageError } from '../errors.ts';
import { namedPathError, readNamedFile } from './flags.ts';
import { dtypeFlag, locateNamedVlm } from './vlm-target.ts';

export type VlmCommandName = 'caption' | 'ask' | 'refer';

/** The terminal chat's scope and user, so both see the same concepts. */
const DEFAULT_SCOPE = OPERATOR_SCOPE;
const CLI_USER = 'terminal:me';

const USAGE = [
  'Usage:',
  '  myvlm caption <image> [--vlm <id or folder>] [--dtype <precision>] [--scope <scope>]',
  '  myvlm ask <image> <question> [--vlm <id or folder>] [--dtype <precision>] [--scope <scope>]',
  '  myvlm refer <image> <name> [--out <file.jpg>] [--vlm <id or folder>] [--dtype <precision>] [--scope <scope>]',
  '',
  '--vlm overrides MYVLM_VLM; without either, the concept heads answer alone.',
  `--dtype (${VLM_DTYPES.join(', ')}) overrides MYVLM_VLM_DTYPE: the precision of the model's three graphs.`,
  `--scope picks whose concepts are used (default ${DEFAULT_SCOPE}, the terminal chat's).`,
].join('\n');

interface ParsedArgs {
  positional: string[];
  flags: Record<'vlm' | 'dtype' | 'scope' | 'out', string | undefined>;
}

/** A usage mistake, with the usage. */
function usageError(message: string): UsageError {
  return new UsageError(`${message}\n\n${USAGE}`);
}

/** Splits arguments into positional words and the four flags; throws UsageError on anything else. */
export function parseVlmArgs(args: readonly string[]): ParsedArgs {
  const flags: ParsedArgs['flags'] = { vlm: undefined, dtype: undefined, scope: undefined, out: undefined };
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const flag = /^--(vlm|dtype|scope|out)(?:=(.*))?$/.exec(arg);
    if (flag) {
      const value = flag[2] ?? args[++i];
      if (value === undefined || value === '') throw usageError(`--${flag[1]} needs a value.`);
      if (flag[1] === 'dtype') dtypeFlag(value);
      flags[flag[1] as keyof ParsedArgs['flags']] = value;
    } else if (arg.startsWith('--')) {
      throw usageError(`Unknown option ${arg}.`);
    } else {
      positional.push(arg);
    }
  }
  return { positional, flags };
}

/** What the core is asked: the message text for each command. */
function messageFor(command: VlmCommandName, words: readonly string[]): string {
  const rest = words.join(' ').trim();
  if (command === 'caption') {
    if (rest) throw usageError('caption takes only the image.');
    return '/caption';
  }
  if (!rest)
    throw usageError(
      command === 'ask' ? 'ask needs a question after the image.' : 'refer needs a name after the image.',
    );
  return `/${command} ${rest}`;
}

/**
 * Runs one command; returns the exit code (0 answered, 1 `refer` found
 * nothing to mark). Status updates go to stderr, the answer to stdout.
 */
export async function vlmCommand(command: VlmCommandName, args: string[]): Promise<number> {
  const parsed = parseVlmArgs(args);
  if (parsed.positional.length === 0) throw usageError(`${command} needs an image file.`);
  if (command !== 'refer' && parsed.flags.out) throw usageError('--out is for refer only.');
  const text = messageFor(command, parsed.positional.slice(1));
  const imagePath = path.resolve(parsed.positional[0]);
  const bytes = await readNamedFile(parsed.positional[0]);
  const settings = loadSettings(process.env);
  if (parsed.flags.vlm) settings.vlm = parsed.flags.vlm;
  if (parsed.flags.dtype) settings.vlmDtype = parsed.flags.dtype as VlmDtype;
  const [{ log }, { createAssistant }] = await Promise.all([import('../log.ts'), import('../assistant/setup.ts')]);
  // Routine logs would mix with the answer; warnings still show.
  if (!process.env.MYVLM_LOG_LEVEL) log.level = 'warn';
  // The assistant would answer without a model it cannot find (a bot stays up); a script must hear of it.
  if (settings.vlm) await locateNamedVlm(settings.vlm, settings.vlmDtype, settings, false);
  // The answer is printed for the operator, who is told what to do about a problem of theirs.
  const runtime = await createAssistant(settings, 'operator');
  try {
    const reply = await runtime.assistant.handle(
      {
        scope: parsed.flags.scope ?? DEFAULT_SCOPE,
        user: CLI_USER,
        isScopeAdmin: true,
        text,
        images: [{ bytes: new Uint8Array(bytes), name: path.basename(imagePath) }],
      },
      { onStatus: (update) => void process.stderr.write(`… ${update.text}\n`) },
    );
    process.stdout.write(`${reply.text}\n`);
    if (command !== 'refer') return 0;
    const image = reply.images[0];
    if (!image) return 1;
    const out = path.resolve(parsed.flags.out ?? image.name);
    await writeFile(out, image.bytes).catch((cause: unknown) => {
      throw namedPathError(cause, parsed.flags.out ?? image.name, 'write');
    });
    process.stdout.write(`[image saved: ${out}]\n`);
    return 0;
  } finally {
    await runtime.close();
  }
}
