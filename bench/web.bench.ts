// What the web app adds to a turn: the same photo turns (a recognition, a
// /refer whose reply carries a drawn photo) through POST /api/turn (multipart
// upload, session and CSRF checks, the reply's image as a data URL) against
// the core's handle() called directly with the same Turn, in the same run;
// and the cost of opening the page (the HTML, the bundle and the stylesheet).
import { readFileSync } from 'node:fs';
import { startWeb } from '../adapters/web/web.ts';
import { OPERATOR_SCOPE } from '../src/assistant/turn.ts';
import { testAssistant } from '../test/support/assistant.ts';
import { openSession } from '../test/conformance/drivers/web-session.ts';
import { sharedPhoto } from '../test/support/paths.ts';
import { measure, table, type BenchSection } from './harness.ts';

const WARMUP = 3;
const ROUNDS = 20;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const photo = (file: string) => ({ name: file, bytes: new Uint8Array(readFileSync(sharedPhoto('ageitgey', file))) });

export default async function webBenchmark(): Promise<BenchSection> {
  const runtime = await testAssistant();
  const web = await startWeb({
    core: runtime.assistant,
    store: runtime.store,
    web: { host: '127.0.0.1', port: 0, token: null },
    settings: runtime.settings,
  });
  try {
    const session = await openSession(web.url);
    await session.turn('/teach Obama', [photo('obama.jpg'), photo('obama2.jpg')]);
    const cases = [
      { label: 'a photo: who is here', text: '', photo: photo('two_people.jpg') },
      { label: '/refer Obama: a drawn photo back', text: '/refer Obama', photo: photo('two_people.jpg') },
    ];
    const rows: (string | number)[][] = [];
    for (const c of cases) {
      const direct = () =>
        runtime.assistant.handle({
          scope: OPERATOR_SCOPE,
          user: 'web:owner',
          isScopeAdmin: true,
          text: c.text,
          images: [{ bytes: c.photo.bytes, name: c.photo.name }],
        });
      const http = () => session.turn(c.text, [c.photo]);
      // Interleaved, so that drift on a shared machine falls on both alike.
      const times: { direct: number[]; http: number[] } = { direct: [], http: [] };
      for (let i = 0; i < WARMUP + ROUNDS; i++) {
        for (const [name, call] of [
          ['direct', direct],
          ['http', http],
        ] as const) {
          const started = performance.now();
          await call();
          if (i >= WARMUP) times[name].push(performance.now() - started);
        }
      }
      const d = median(times.direct);
      const h = median(times.http);
      rows.push([c.label, d, h, h / d]);
    }
    const page = await measure(async () => {
      for (const path of ['/', '/assets/app.js', '/assets/app.css']) await (await session.request(path)).arrayBuffer();
    });
    return {
      title: 'Web app: a turn over HTTP against the core called directly',
      markdown: [
        `The test assistant (YuNet + dlib on ../shared photos, no VLM), the web app on 127.0.0.1, one session; ` +
          `medians of ${ROUNDS} interleaved rounds after ${WARMUP} warm-ups. The HTTP column is what the ` +
          "page waits for: the multipart upload, the session and CSRF checks, the core's turn, and the reply's " +
          'images as data URLs.',
        '',
        table(['turn', 'core.handle ms', 'POST /api/turn ms', 'HTTP / direct'], rows),
        '',
        `Opening the page (the HTML, the bundle and the stylesheet, built once at start): ${page.medianMs.toFixed(1)} ms.`,
      ].join('\n'),
    };
  } finally {
    await web.stop();
    await runtime.close();
  }
}
