// Conformance driver for the terminal chat: one readline session per place
// (each with its own scope), photos written to files and named by path, the
// answer read up to the next prompt.
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { runTerminal } from '../../../adapters/terminal/terminal.ts';
import type { ConversationCore } from '../../../src/assistant/turn.ts';
import { waitUntil } from '../../fakes/http.ts';
import {
  actionPhotos,
  actionText,
  type Action,
  type Answer,
  type ChatDriver,
  type Person,
  type Place,
} from '../driver.ts';

interface Session {
  input: PassThrough;
  printed: string;
  done: Promise<void>;
}

const PROMPT = '> ';
const IMAGE_SAVED = /^\[image saved: (.+)\]$/;

export function createTerminalDriver(core: ConversationCore): Promise<ChatDriver> {
  const workDir = mkdtempSync(path.join(tmpdir(), 'myvlm-conformance-terminal-'));
  const sessions = new Map<Place, Session>();
  let sends = 0;

  async function session(place: Place): Promise<Session> {
    const existing = sessions.get(place);
    if (existing) return existing;
    const input = new PassThrough();
    const output = new PassThrough();
    const created: Session = { input, printed: '', done: Promise.resolve() };
    output.on('data', (chunk: Buffer) => (created.printed += chunk.toString()));
    created.done = runTerminal({
      core,
      input,
      output,
      scope: `terminal:${place}`,
      cwd: workDir,
      outputDir: `out-${place}`,
      interactive: true,
    });
    sessions.set(place, created);
    await waitUntil(() => (created.printed.endsWith(PROMPT) ? true : undefined), 'the first prompt');
    return created;
  }

  return Promise.resolve({
    platform: 'terminal',
    multiUser: false,
    async send(place: Place, person: Person, action: Action): Promise<Answer> {
      if (person !== 'owner') throw new Error('the terminal chat has a single user');
      const chat = await session(place);
      const folder = path.join(workDir, `send-${++sends}`);
      mkdirSync(folder);
      const paths = actionPhotos(action).map((photo) => {
        const file = path.join(folder, photo.name);
        writeFileSync(file, photo.bytes);
        return `"${file}"`;
      });
      chat.printed = '';
      chat.input.write(`${[actionText(action), ...paths].join(' ')}\n`);
      await waitUntil(
        () => (chat.printed.endsWith(PROMPT) ? true : undefined),
        `the answer to ${actionText(action)}`,
        30_000,
      );
      const lines = chat.printed.slice(0, -PROMPT.length).replace(/\n$/, '').split('\n');
      const images = lines.flatMap((line) => {
        const saved = IMAGE_SAVED.exec(line);
        return saved ? [new Uint8Array(readFileSync(saved[1]))] : [];
      });
      const text = lines.filter((line) => !line.startsWith('… ') && !IMAGE_SAVED.test(line)).join('\n');
      return { text, images, messages: 1 };
    },
    async close() {
      for (const chat of sessions.values()) {
        chat.input.end('/quit\n');
        await chat.done;
      }
      rmSync(workDir, { recursive: true, force: true });
    },
  });
}
