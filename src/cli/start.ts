// `npm start` / `myvlm start`: the messenger adapters named by the
// environment, or the terminal chat when no messenger token is set.
// `myvlm chat` always opens the terminal chat.
import { registerDiscordCommands } from '../../adapters/discord/commands.ts';
import { hasMessengerSettings, startAdapters } from '../../adapters/start.ts';
import { runTerminal } from '../../adapters/terminal/terminal.ts';
import { createAssistant } from '../assistant/setup.ts';
import { loadSettings, type Settings } from '../config/settings.ts';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { messageFor, OperatorError } from '../errors.ts';
import { logToFile, moduleLogger } from '../log.ts';
import { describeModels, surveyModels } from '../models/readiness.ts';

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
  // Routine logs would interleave with the conversation: they go to a file in
  // the data folder, and only warnings reach the console, as one plain line.
  // Before the assistant starts, so the workers of resumed lessons inherit it.
  logToFile(path.join(settings.dataDir, 'myvlm.log'));
  // A newcomer learns at once which models are used, what is missing and what works without it.
  streams.output.write(`${modelLines(settings).join('\n')}\n`);
  // Whoever types in the terminal runs the assistant: they are told what to do about a problem of theirs.
  const runtime = await createAssistant(settings, 'operator');
  try {
    await runTerminal({ core: runtime.assistant, ...streams, scope });
  } finally {
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
  for (const line of modelLines(settings)) moduleLogger('models').info(line);
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

/** Which models the settings use and where each stands (nothing is downloaded to find out). */
function modelLines(settings: Settings): string[] {
  try {
    return describeModels(surveyModels(settings), settings);
  } catch (error) {
    // An unknown model id disables only what needs it; the first photo that does says so again.
    if (error instanceof OperatorError) return [messageFor(error, 'operator')];
    throw error;
  }
}

function valueOf(args: readonly string[], flag: string): string | null {
  const i = args.indexOf(flag);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : null;
}
