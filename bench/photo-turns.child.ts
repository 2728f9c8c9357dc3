// A bot process for the scale benchmark: opens the assistant (real heads, no
// VLM) on the shared store at the URL it is given, answers one photo turn to
// warm up, says "ready", waits for "go" on stdin so sibling processes start
// together, then answers its photos as photo turns in `scope` and prints one
// JSON line: how many it answered and in how many milliseconds.
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import type { Turn } from '../src/assistant/turn.ts';
import { testAssistant } from '../test/support/assistant.ts';

async function main(storeUrl: string, scope: string, files: string[]): Promise<void> {
  const runtime = await testAssistant({ MYVLM_STORE_URL: storeUrl });
  const photos = await Promise.all(files.map(async (file) => new Uint8Array(await readFile(file))));
  const turn = (bytes: Uint8Array): Turn => ({
    scope,
    user: 'bench:me',
    isScopeAdmin: false,
    text: '',
    images: [{ bytes }],
  });
  const warm = await runtime.assistant.handle(turn(photos[0]));
  if (!warm.text.startsWith('I see')) throw new Error(`the warm-up turn recognized nothing: ${warm.text}`);
  process.stdout.write('ready\n');
  await once(process.stdin, 'data');
  const started = performance.now();
  for (const bytes of photos) await runtime.assistant.handle(turn(bytes));
  const ms = performance.now() - started;
  await runtime.close();
  process.stdout.write(`${JSON.stringify({ turns: photos.length, ms })}\n`);
  process.exit(0);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [storeUrl, scope, ...files] = process.argv.slice(2);
  await main(storeUrl, scope, files);
}
