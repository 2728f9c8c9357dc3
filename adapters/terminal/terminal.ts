// The local chat: `npm start` without messenger tokens. Type messages as in a
// chat; photos are file paths anywhere in the message
// ("/teach Anna photos/anna1.jpg photos/anna2.jpg"). Images the assistant
// sends back are saved to a folder and their paths printed.
//
// What the chat prints depends on where it goes. On a terminal (TTY) a
// turn's status, a streamed answer included, is one line rewritten in place
// and replaced by the answer, and a lesson's news is printed above the
// prompt, which is then drawn again with what was typed so far. Into a pipe
// or a file every line is final: statuses once each, drafts of an answer
// never, the answer once, news on lines of their own.
import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { clearLine, createInterface, cursorTo, type Interface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { ConversationCore, IncomingImage, Notice, Reply, StatusUpdate } from '../../src/assistant/turn.ts';
import { formatStatus } from '../shared/text.ts';

export interface TerminalOptions {
  core: ConversationCore;
  input: Readable;
  output: Writable;
  /** Concepts taught here live in this scope. Default `terminal:local`. */
  scope?: string;
  /** Default `terminal:me`; the local user owns and administers the local scope. */
  user?: string;
  /** Where images sent back are saved. Default `./myvlm-output`. */
  outputDir?: string;
  /** Paths in messages are resolved against this folder. Default the process's working directory. */
  cwd?: string;
  /** Show a prompt and a greeting (off when driven by a script or test). */
  interactive?: boolean;
}

/** The chat prints a lesson's progress every this many steps (and its final line). */
export const TERMINAL_NOTICE_EVERY_STEPS = 25;

/** Whether the chat prints a notice: the final line, and every 25th step. */
export function terminalPrints(notice: Notice): boolean {
  return notice.done || (notice.step !== undefined && notice.step.at % TERMINAL_NOTICE_EVERY_STEPS === 0);
}

/** Writes the conversation: on a TTY with one status line in place and a prompt kept whole; elsewhere line by line. */
export class ChatScreen {
  /** The status line on screen (TTY), or the last status printed (elsewhere). */
  private status: string | null = null;
  /** A turn is running: the prompt is not on screen. */
  private busy = false;

  constructor(
    private readonly output: Writable & { isTTY?: boolean; columns?: number },
    /** The readline of a TTY chat with a prompt, which redraws it; null prints plain lines. */
    private readonly prompter: Interface | null,
  ) {}

  get isTty(): boolean {
    return this.prompter !== null;
  }

  /** A final line of the conversation (an answer, a saved image); the status line, if any, gives way to it. */
  line(text: string): void {
    this.clearStatus();
    this.output.write(`${text}\n`);
  }

  /** A turn's progress: in place on a TTY; elsewhere one line per new status, drafts of the answer never. */
  showStatus(update: StatusUpdate): void {
    const text = `… ${formatStatus(update)}`;
    if (this.isTty) {
      // One screen row, so it can be rewritten: a longer draft shows its end.
      const width = Math.max(20, (this.output.columns ?? 80) - 1);
      const row = text.length > width ? `…${text.slice(text.length - width + 1)}` : text;
      this.rewriteRow(row.replace(/\s+/g, ' '));
      this.status = row;
    } else if (!update.draft && update.text !== this.status) {
      this.status = update.text;
      this.output.write(`${text}\n`);
    }
  }

  /** News from background work: above the prompt (or the status line), which is drawn again below it. */
  notice(text: string): void {
    if (!this.isTty) return void this.output.write(`… ${text}\n`);
    this.rewriteRow(`… ${text}\n`);
    if (this.status !== null) this.output.write(this.status);
    else if (!this.busy) this.prompter?.prompt(true);
  }

  /** A turn starts: what is typed now waits for the next prompt. */
  working(): void {
    this.busy = true;
  }

  /** Shows the prompt for the next message. */
  prompt(): void {
    this.busy = false;
    this.clearStatus();
    this.prompter?.prompt();
  }

  private clearStatus(): void {
    if (this.isTty && this.status !== null) this.rewriteRow('');
    this.status = null;
  }

  private rewriteRow(text: string): void {
    cursorTo(this.output, 0);
    clearLine(this.output, 0);
    this.output.write(text);
  }
}

const IMAGE_EXTENSIONS = /\.(jpe?g|png|webp|gif|tiff?|avif|heic|heif|bmp)$/i;

/** Splits a message into words, honouring "quoted paths with spaces". */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  const pattern = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let match = pattern.exec(line); match; match = pattern.exec(line)) words.push(match[1] ?? match[2] ?? match[3]);
  return words;
}

/** Separates file paths (existing files, or words that look like image files) from the message text. */
export async function readMessage(
  line: string,
  cwd: string,
): Promise<{ text: string; images: IncomingImage[]; missing: string[] }> {
  const textWords: string[] = [];
  const images: IncomingImage[] = [];
  const missing: string[] = [];
  for (const word of splitWords(line)) {
    const expanded = word.startsWith('~/') ? path.join(homedir(), word.slice(2)) : word;
    const resolved = path.resolve(cwd, expanded);
    const looksLikeImage = IMAGE_EXTENSIONS.test(word);
    if ((looksLikeImage || word.includes('/')) && existsSync(resolved) && statSync(resolved).isFile()) {
      images.push({ bytes: new Uint8Array(await readFile(resolved)), name: path.basename(resolved) });
    } else if (looksLikeImage) {
      missing.push(word);
    } else {
      textWords.push(word);
    }
  }
  return { text: textWords.join(' '), images, missing };
}

/** Runs the chat until the input ends (Ctrl-D) or the user types /quit. */
export async function runTerminal(options: TerminalOptions): Promise<void> {
  const { core, output } = options;
  const cwd = options.cwd ?? process.cwd();
  const outputDir = path.resolve(cwd, options.outputDir ?? 'myvlm-output');
  const interactive = options.interactive ?? false;
  const scope = options.scope ?? 'terminal:local';
  const tty = interactive && (output as { isTTY?: boolean }).isTTY === true;
  // On a TTY readline owns the line being typed, so it can draw it again after a notice.
  const lines = tty
    ? createInterface({ input: options.input, output, terminal: true, prompt: '> ' })
    : createInterface({ input: options.input, terminal: false });
  const screen = new ChatScreen(output, tty ? lines : null);
  const prompt = () => (tty ? screen.prompt() : interactive && output.write('> '));
  // Lessons run in the background: say when one of this chat's ends, and every 25 steps meanwhile.
  const unsubscribe = core.onNotice?.((notice) => {
    if (notice.scope === scope && terminalPrints(notice)) screen.notice(notice.text);
  });
  if (interactive)
    screen.line('MyVLM Assistant — type /help for commands, /quit to leave. Photos are file paths in your message.');
  prompt();
  try {
    for await (const line of lines) {
      const trimmed = line.trim();
      if (trimmed === '/quit' || trimmed === '/exit') break;
      if (trimmed === '') {
        prompt();
        continue;
      }
      screen.working();
      const message = await readMessage(trimmed, cwd);
      if (message.missing.length > 0) {
        screen.line(`I can't find ${message.missing.join(', ')} (paths are relative to ${cwd}).`);
        prompt();
        continue;
      }
      const reply = await core.handle(
        { scope, user: options.user ?? 'terminal:me', isScopeAdmin: true, text: message.text, images: message.images },
        { onStatus: (update) => screen.showStatus(update) },
      );
      screen.line(reply.text);
      for (const saved of await saveImages(reply, outputDir)) screen.line(`[image saved: ${saved}]`);
      prompt();
    }
  } finally {
    unsubscribe?.();
    lines.close();
  }
}

async function saveImages(reply: Reply, outputDir: string): Promise<string[]> {
  if (reply.images.length === 0) return [];
  await mkdir(outputDir, { recursive: true });
  const saved: string[] = [];
  for (const image of reply.images) {
    const file = path.join(outputDir, `${Date.now()}-${image.name}`);
    await writeFile(file, image.bytes);
    saved.push(file);
  }
  return saved;
}
