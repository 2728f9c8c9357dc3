// Types lines into the terminal chat, one per message, and returns everything
// it printed: the end-to-end tests that drive the assistant the way an
// operator at the terminal does.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { runTerminal } from '../../adapters/terminal/terminal.ts';
import type { ConversationCore } from '../../src/assistant/turn.ts';

export async function chatInTerminal(core: ConversationCore, lines: readonly string[]): Promise<string> {
  const input = new PassThrough();
  const output = new PassThrough();
  let printed = '';
  output.on('data', (chunk: Buffer) => (printed += chunk.toString()));
  const done = runTerminal({ core, input, output, cwd: mkdtempSync(path.join(tmpdir(), 'myvlm-chat-')) });
  input.end(lines.join('\n') + '\n');
  await done;
  return printed;
}
