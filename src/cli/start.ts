// `npm start` / `myvlm start`: the messenger adapters named by the
// environment and the web app, or, when no messenger token is set, the
// terminal chat and the web app in one process (one core, one memory): the
// terminal keeps working over SSH and in scripts, and the page is where
// photos and boxes are seen. `--terminal` and `--web` pick one of the two;
// MYVLM_WEB_PORT=off leaves the web app out. `myvlm chat` is the terminal alone.
// `--shards auto|N` runs Discord as shard processes (adapters/discord/shards.ts);
// MYVLM_HEALTH_PORT adds GET /healthz (adapters/health.ts).
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { registerDiscordCommands } from '../../adapters/discord/commands.ts';
import { startShards } from '../../adapters/discord/shards.ts';
import { serveHealth, type HealthOptions, type HealthServer } from '../../adapters/health.ts';
import { hasMessengerSettings, startAdapters, type StartedAdapters } from '../../adapters/start.ts';
import type { WebHandle } from '../../adapters/web/web.ts';
import { runTerminal } from '../../adapters/terminal/terminal.ts';
import { createAssistant, type AssistantRuntime } from '../assistant/setup.ts';
import { OPERATOR_SCOPE } from '../assistant/turn.ts';
import { loadSettings, type Settings } from '../config/settings.ts';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { ConfigError, messageFor, OperatorError, UsageError } from '../errors.ts';
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
  return runChat(loadSettings(process.env), args, streams, false);
}

/** The terminal chat, with the web app beside it (`withWeb`, unless MYVLM_WEB_PORT=off) on the same core. */
async function runChat(
  settings: Settings,
  args: string[],
  streams: TerminalStreams,
  withWeb: boolean,
): Promise<number> {
  const scope = valueOf(args, '--scope') ?? OPERATOR_SCOPE;
  // Routine logs would interleave with the conversation: they go to a file in
  // the data folder, and only warnings reach the console, as one plain line.
  // Before the assistant starts, so the workers of resumed lessons inherit it.
  logToFile(path.join(settings.dataDir, 'myvlm.log'));
  // A newcomer learns at once which models are used, what is missing and what works without it.
  streams.output.write(`${modelLines(settings).join('\n')}\n`);
  // Whoever types in the terminal runs the assistant: they are told what to do about a problem of theirs.
  const runtime = await createAssistant(settings, 'operator');
  try {
    const web = withWeb ? await startWebBeside(settings, runtime, streams.output) : null;
    try {
      await runTerminal({ core: runtime.assistant, ...streams, scope });
    } finally {
      await web?.stop();
    }
  } finally {
    await runtime.close();
  }
  return 0;
}

/**
 * The web app beside the terminal chat, on the same core. The chat ends the
 * process (/quit, Ctrl-D) and handles Ctrl-C itself, so the web app takes no
 * signals. A web app that cannot start (a busy port) is said in one line and
 * the chat goes on without it.
 */
async function startWebBeside(
  settings: Settings,
  runtime: AssistantRuntime,
  output: Writable,
): Promise<StartedAdapters | null> {
  if (!settings.web) return null;
  try {
    const web = await startAdapters(settings, runtime.assistant, { messengers: false, web: runtime, signals: [] });
    output.write(`Also in your browser: ${webHandle(web)?.url}\n${accessLines(web).join('')}`);
    return web;
  } catch (error) {
    if (!(error instanceof OperatorError)) throw error;
    output.write(`The web app did not start: ${messageFor(error, 'operator')}\n`);
    return null;
  }
}

/**
 * `myvlm start [--terminal | --web]`. Without a flag: the messengers and the
 * web app when a messenger token is set, else the terminal chat and the web
 * app. `--terminal`: the terminal chat alone. `--web`: the web app (with the
 * messengers when their tokens are set), no terminal.
 */
export async function startCommand(args: string[]): Promise<number> {
  const terminalOnly = args.includes('--terminal');
  const webOnly = args.includes('--web');
  if (terminalOnly && webOnly) throw new UsageError('Choose one of --terminal and --web (or neither, for both).');
  const shards = shardCount(args);
  if (shards !== null) return runShardManager(loadSettings(process.env), shards);
  const settings = shardSettings(loadSettings(process.env));
  if (terminalOnly) return runChat(settings, args, processStreams(), false);
  if (webOnly && settings.web === null)
    throw new ConfigError('MYVLM_WEB_PORT', 'is off, but --web asks for the web app; set a port (default 8437)');
  if (!webOnly && !hasMessengerSettings(settings)) {
    const what = settings.web ? 'the terminal chat and the web app' : 'the terminal chat';
    process.stderr.write(`No TELEGRAM_BOT_TOKEN or DISCORD_TOKEN set: starting ${what}.\n`);
    return runChat(settings, args, processStreams(), true);
  }
  for (const line of modelLines(settings)) moduleLogger('models').info(line);
  // Chat members read the replies when a messenger runs; alone, the web app is the operator's own.
  const runtime = await createAssistant(settings, hasMessengerSettings(settings) ? 'chat' : 'operator');
  let finished = true;
  try {
    const graceMs = settings.shutdownGraceSeconds * 1000;
    const started = await startAdapters(settings, runtime.assistant, { web: runtime, graceMs, signals: stopSignals() });
    const health = await startHealth(settings, { role: 'bot', store: runtime.store }).catch(async (error: unknown) => {
      await started.stop();
      throw error;
    });
    process.stderr.write(`Started ${started.description}. Press Ctrl-C to stop.\n${accessLines(started).join('')}`);
    finished = await started.stopped;
    await health?.close();
  } finally {
    await runtime.close();
    // A shard's channel to its manager would keep the process alive.
    if (process.env.SHARDING_MANAGER && process.connected) process.disconnect();
  }
  // A turn still running past the grace would keep the process alive: end it (memory is closed, writes are atomic).
  if (!finished) setTimeout(() => process.exit(1), 1_000).unref();
  return finished ? 0 : 1;
}

/** `--shards auto|N`, or null without the flag. */
function shardCount(args: readonly string[]): number | 'auto' | null {
  if (!args.includes('--shards')) return null;
  const value = valueOf(args, '--shards');
  if (value === 'auto') return 'auto';
  if (value !== null && /^[1-9]\d{0,3}$/.test(value)) return Number(value);
  throw new UsageError('--shards takes "auto" or a number of shards, e.g. --shards 4.');
}

/**
 * Inside a shard process (spawned by the manager, which sets
 * SHARDING_MANAGER): Discord alone. Telegram, the web app and the health
 * endpoint run elsewhere, once, not once per shard.
 */
function shardSettings(settings: Settings): Settings {
  if (!process.env.SHARDING_MANAGER) return settings;
  return { ...settings, telegram: null, web: null, healthPort: null };
}

/**
 * A shard stops on its manager's SIGTERM only: Ctrl-C in a terminal reaches
 * the manager and its shards at once, and the manager's SIGTERM would then be
 * a second signal, which stops without waiting for running turns.
 */
function stopSignals(): NodeJS.Signals[] {
  if (!process.env.SHARDING_MANAGER) return ['SIGINT', 'SIGTERM'];
  process.on('SIGINT', () => moduleLogger('discord').info('Ctrl-C: the shard manager stops this shard'));
  return ['SIGTERM'];
}

/** `myvlm start --shards auto|N`: spawns the Discord shard processes and watches them until a signal stops them. */
async function runShardManager(settings: Settings, count: number | 'auto'): Promise<number> {
  if (!settings.discord)
    throw new ConfigError(
      'DISCORD_TOKEN',
      '--shards runs Discord shards; set DISCORD_TOKEN and DISCORD_APPLICATION_ID',
    );
  const shared = settings.storeUrl !== null && !settings.storeUrl.startsWith('sqlite:');
  if (count !== 1 && !shared)
    throw new ConfigError(
      'MYVLM_STORE_URL',
      'Discord shards are separate processes and share memory: set a redis:// or postgres:// URL',
    );
  const shards = await startShards({
    ...settings.discord,
    count,
    file: fileURLToPath(new URL('../../bin/myvlm.js', import.meta.url)),
    args: ['start'],
  });
  const health = await startHealth(settings, {
    role: 'discord-shards',
    store: null,
    details: () => ({ shards: shards.status() }),
  }).catch(async (error: unknown) => {
    await shards.stop();
    throw error;
  });
  process.stderr.write(`Started ${shards.total} Discord shard processes. Press Ctrl-C to stop.\n`);
  const signal = await Promise.race(['SIGINT', 'SIGTERM'].map((name) => once(process, name).then(() => name)));
  moduleLogger('discord').info({ signal }, 'stopping the Discord shards: each finishes its running turns');
  const codes = await shards.stop();
  await health?.close();
  return codes.every((code) => code === 0) ? 0 : 1;
}

/** The health endpoint, when MYVLM_HEALTH_PORT is set. */
function startHealth(
  settings: Settings,
  options: Pick<HealthOptions, 'role' | 'store' | 'details'>,
): Promise<HealthServer | null> {
  return settings.healthPort === null ? Promise.resolve(null) : serveHealth({ ...options, port: settings.healthPort });
}

function webHandle(started: StartedAdapters): WebHandle | null {
  return started.adapters.find((a): a is WebHandle => a.platform === 'web') ?? null;
}

/** Where other devices find a web app served beyond this machine, and how they sign in: a new token is shown this once. */
function accessLines(started: StartedAdapters): string[] {
  const web = webHandle(started);
  if (!web) return [];
  const lines = web.networkUrls.length > 0 ? [`On your network: ${web.networkUrls.join(' ')}\n`] : [];
  if (web.newToken)
    lines.push(`The web app asks for a token, shown this once (kept in ${web.tokenFile}): ${web.newToken}\n`);
  else if (web.tokenFile) lines.push(`The web app asks for the token kept in ${web.tokenFile}.\n`);
  return lines;
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
