// One-shot questions for scripts and quick tries, answered by the same
// conversation core as the chats:
//   myvlm caption <image> [--vlm <id or folder>] [--dtype <precision>] [--scope <scope>]
//   myvlm ask <image> <question> [--vlm ...] [--dtype ...] [--scope ...]
//   myvlm refer <image> <name> [--out <file.png>] [--vlm ...] [--dtype ...] [--scope ...]
// Concepts come from the store in MYVLM_DATA_DIR, from the chosen scope
// (default the terminal chat's, so what `myvlm chat` learned is known here).
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createAssistant } from '../assistant/setup.ts';
import { loadSettings } from '../config/settings.ts';
import { VLM_DTYPES, type VlmDtype } from '../config/settings.ts';
import { UserError } from '../errors.ts';
import { log } from '../log.ts';
import { readNamedFile } from './flags.ts';

export type VlmCommandName = 'caption' | 'ask' | 'refer';

/** The terminal chat's scope and user, so both see the same concepts. */
const DEFAULT_SCOPE = 'terminal:local';
const CLI_USER = 'terminal:me';

const USAGE = [
  'Usage:',
  '  myvlm caption <image> [--vlm <id or folder>] [--dtype <precision>] [--scope <scope>]',
  '  myvlm ask <image> <question> [--vlm <id or folder>] [--dtype <precision>] [--scope <scope>]',
  '  myvlm refer <image> <name> [--out <file.png>] [--vlm <id or folder>] [--dtype <precision>] [--scope <scope>]',
  '',
  '--vlm overrides MYVLM_VLM; without either, the concept heads answer alone.',
  `--dtype (${VLM_DTYPES.join(', ')}) overrides MYVLM_VLM_DTYPE: the precision of the model's three graphs.`,
  `--scope picks whose concepts are used (default ${DEFAULT_SCOPE}, the terminal chat's).`,
].join('\n');

interface ParsedArgs {
  positional: string[];
  flags: Record<'vlm' | 'dtype' | 'scope' | 'out', string | undefined>;
}

/** Splits arguments into positional words and the three flags; throws UserError on anything else. */
export function parseVlmArgs(args: readonly string[]): ParsedArgs {
  const flags: ParsedArgs['flags'] = { vlm: undefined, dtype: undefined, scope: undefined, out: undefined };
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const flag = /^--(vlm|dtype|scope|out)(?:=(.*))?$/.exec(arg);
    if (flag) {
      const value = flag[2] ?? args[++i];
      if (value === undefined || value === '') throw new UserError(`--${flag[1]} needs a value.`);
      if (flag[1] === 'dtype' && !(VLM_DTYPES as readonly string[]).includes(value))
        throw new UserError(`--dtype takes one of ${VLM_DTYPES.join(', ')}, not "${value}".`);
      flags[flag[1] as keyof ParsedArgs['flags']] = value;
    } else if (arg.startsWith('--')) {
      throw new UserError(`Unknown option ${arg}.`);
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
    if (rest) throw new UserError('caption takes only the image.');
    return '/caption';
  }
  if (!rest)
    throw new UserError(
      command === 'ask' ? 'ask needs a question after the image.' : 'refer needs a name after the image.',
    );
  return `/${command} ${rest}`;
}

/**
 * Runs one command; returns the exit code (0 answered, 1 `refer` found
 * nothing to mark, 2 bad usage). Status updates go to stderr, the answer to stdout.
 */
export async function vlmCommand(command: VlmCommandName, args: string[]): Promise<number> {
  let parsed: ParsedArgs;
  let text: string;
  try {
    parsed = parseVlmArgs(args);
    if (parsed.positional.length === 0) throw new UserError(`${command} needs an image file.`);
    if (command !== 'refer' && parsed.flags.out) throw new UserError('--out is for refer only.');
    text = messageFor(command, parsed.positional.slice(1));
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    process.stderr.write(`${error.message}\n\n${USAGE}\n`);
    return 2;
  }
  const imagePath = path.resolve(parsed.positional[0]);
  const bytes = await readNamedFile(imagePath);
  const settings = loadSettings(process.env);
  if (parsed.flags.vlm) settings.vlm = parsed.flags.vlm;
  if (parsed.flags.dtype) settings.vlmDtype = parsed.flags.dtype as VlmDtype;
  // Routine logs would mix with the answer; warnings still show.
  if (!process.env.MYVLM_LOG_LEVEL) log.level = 'warn';
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
    await writeFile(out, image.bytes);
    process.stdout.write(`[image saved: ${out}]\n`);
    return 0;
  } finally {
    await runtime.close();
  }
}
