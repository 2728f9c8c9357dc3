// `npm start` / `myvlm start`: the messenger adapters named by the
// environment, or the terminal chat when no messenger token is set.
// `myvlm chat` always opens the terminal chat.
import { registerDiscordCommands } from '../../adapters/discord/commands.ts';
import { hasMessengerSettings, startAdapters } from '../../adapters/start.ts';
import { runTerminal } from '../../adapters/terminal/terminal.ts';
import { createAssistant } from '../assistant/setup.ts';
import { loadSettings } from '../config/settings.ts';
import type { Readable, Writable } from 'node:stream';
import type { Notice } from '../assistant/turn.ts';
import { log } from '../log.ts';

/** The terminal chat prints a lesson's progress every this many steps (and its final line). */
export const TERMINAL_NOTICE_EVERY_STEPS = 25;

/** Whether the terminal chat prints a notice: the final line, and every 25th step. */
export function terminalPrints(notice: Notice): boolean {
  return notice.done || (notice.step !== undefined && notice.step.at % TERMINAL_NOTICE_EVERY_STEPS === 0);
}

/** Where the terminal chat reads and writes: the process's own streams, or a test's. */
export interface TerminalStreams {
  input: Readable;
  output: Writable;
  /** Show a prompt and a greeting. */
  interactive: boolean;
}

/** The process's streams, taken only when the chat starts (reading `process.stdin` opens it). */
function processStreams(): TerminalStreams {
  return { input: process.stdin, output: process.stdout, interactive: process.stdin.isTTY === true };
}

export async function chatCommand(args: string[], streams: TerminalStreams = processStreams()): Promise<number> {
  const settings = loadSettings(process.env);
  const scope = valueOf(args, '--scope') ?? 'terminal:local';
  // Routine logs would interleave with the conversation; warnings still show.
  if (!process.env.MYVLM_LOG_LEVEL) {
    // Worker threads (lessons) read the variable when they start.
    process.env.MYVLM_LOG_LEVEL = 'warn';
    log.level = 'warn';
  }
  // Whoever types in the terminal runs the assistant: they are told what to do about a problem of theirs.
  const runtime = await createAssistant(settings, 'operator');
  // Lessons run in the background: say when one of this chat's ends, and every 25 steps meanwhile.
  const unsubscribe = runtime.assistant.onNotice((notice) => {
    if (notice.scope === scope && terminalPrints(notice)) streams.output.write(`… ${notice.text}\n`);
  });
  try {
    await runTerminal({ core: runtime.assistant, ...streams, scope });
  } finally {
    unsubscribe();
    await runtime.close();
  }
  return 0;
}

export async function startCommand(args: string[]): Promise<number> {
  const settings = loadSettings(process.env);
  if (!hasMessengerSettings(settings)) {
    process.stderr.write('No TELEGRAM_BOT_TOKEN or DISCORD_TOKEN set: starting the terminal chat.\n');
    return chatCommand(args);
  }
  const runtime = await createAssistant(settings, 'chat');
  try {
    const started = await startAdapters(settings, runtime.assistant);
    process.stderr.write(`Started ${started.description}. Press Ctrl-C to stop.\n`);
    await started.stopped;
  } finally {
    await runtime.close();
  }
  return 0;
}

/** `myvlm discord register [--guild <id>]`: publishes the slash commands (globally, or to one server at once). */
export async function discordRegisterCommand(args: string[]): Promise<number> {
  const settings = loadSettings(process.env);
  const result = await registerDiscordCommands(settings, { guildId: valueOf(args, '--guild') ?? undefined });
  process.stdout.write(`Registered ${result.names.join(', ')} for ${result.scope}.\n`);
  return 0;
}

function valueOf(args: readonly string[], flag: string): string | null {
  const i = args.indexOf(flag);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : null;
}
