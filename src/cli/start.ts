// `npm start` / `myvlm start`: the messenger adapters named by the
// environment, or the terminal chat when no messenger token is set.
// `myvlm chat` always opens the terminal chat.
import { runTerminal } from '../../adapters/terminal/terminal.ts';
import { createAssistant } from '../assistant/setup.ts';
import { loadSettings } from '../config/settings.ts';
import { log } from '../log.ts';

export async function chatCommand(args: string[]): Promise<number> {
  const settings = loadSettings(process.env);
  const scope = valueOf(args, '--scope') ?? 'terminal:local';
  // Routine logs would interleave with the conversation; warnings still show.
  if (!process.env.MYVLM_LOG_LEVEL) log.level = 'warn';
  const runtime = await createAssistant(settings);
  try {
    await runTerminal({ core: runtime.assistant, input: process.stdin, output: process.stdout, scope, interactive: process.stdin.isTTY === true });
  } finally {
    await runtime.close();
  }
  return 0;
}

export async function startCommand(args: string[]): Promise<number> {
  const settings = loadSettings(process.env);
  if (!settings.telegram && !settings.discord) {
    process.stderr.write('No TELEGRAM_BOT_TOKEN or DISCORD_TOKEN set: starting the terminal chat.\n');
    return chatCommand(args);
  }
  throw new Error('messenger adapters are not wired yet');
}

function valueOf(args: readonly string[], flag: string): string | null {
  const i = args.indexOf(flag);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : null;
}
