// The local chat: `npm start` without messenger tokens. Type messages as in a
// chat; photos are file paths anywhere in the message
// ("/teach Anna photos/anna1.jpg photos/anna2.jpg"). Images the assistant
// sends back are saved to a folder and their paths printed.
import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { ConversationCore, IncomingImage, Reply } from '../../src/assistant/turn.ts';

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
  const write = (text: string) => output.write(`${text}\n`);
  const lines = createInterface({ input: options.input, terminal: false });
  if (interactive)
    write('MyVLM Assistant — type /help for commands, /quit to leave. Photos are file paths in your message.');
  const prompt = () => interactive && output.write('> ');
  prompt();
  for await (const line of lines) {
    const trimmed = line.trim();
    if (trimmed === '/quit' || trimmed === '/exit') break;
    if (trimmed === '') {
      prompt();
      continue;
    }
    const message = await readMessage(trimmed, cwd);
    if (message.missing.length > 0) {
      write(`I can't find ${message.missing.join(', ')} (paths are relative to ${cwd}).`);
      prompt();
      continue;
    }
    const reply = await core.handle(
      {
        scope: options.scope ?? 'terminal:local',
        user: options.user ?? 'terminal:me',
        isScopeAdmin: true,
        text: message.text,
        images: message.images,
      },
      { onStatus: (update) => void write(`… ${update.text}`) },
    );
    write(reply.text);
    for (const saved of await saveImages(reply, outputDir)) write(`[image saved: ${saved}]`);
    prompt();
  }
  lines.close();
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
