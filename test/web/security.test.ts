// The web app's security model, against the real server, core and store:
// a token when served beyond this machine, no cross-site writes, uploads held
// to the photo limits with nothing stored, file names only ever displayed,
// and the headers that keep the page to itself. Then the gallery's API and
// the live events, which the page depends on.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWeb, type WebHandle } from '../../adapters/web/web.ts';
import { CONTENT_SECURITY_POLICY } from '../../adapters/web/guards.ts';
import { OPERATOR_SCOPE, type Notice } from '../../src/assistant/turn.ts';
import { testAssistant } from '../support/assistant.ts';
import { sharedPhoto } from '../support/paths.ts';
import { openSession, turnForm, type WebSession } from '../conformance/drivers/web-session.ts';

const MAX_IMAGE_BYTES = 300_000;

function photo(file: string): { name: string; bytes: Uint8Array } {
  return { name: file, bytes: new Uint8Array(readFileSync(sharedPhoto('ageitgey', file))) };
}

/** Every file under `dir`, for searching what the store wrote. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(full) : [full];
  });
}

describe('the web app, served beyond this machine', () => {
  let runtime: Awaited<ReturnType<typeof testAssistant>>;
  let web: WebHandle;

  beforeAll(async () => {
    runtime = await testAssistant();
    web = await startWeb({
      core: runtime.assistant,
      store: runtime.store,
      web: { host: '0.0.0.0', port: 0, token: null },
      settings: runtime.settings,
    });
  });
  afterAll(async () => {
    await web?.stop();
    await runtime?.close();
  });

  it('makes a token at the first start, keeps it readable by its owner only, and keeps it across restarts', async () => {
    const file = path.join(runtime.settings.dataDir, 'web-token');
    expect(web.newToken).toMatch(/^[\w-]{32}$/);
    expect(web.tokenFile).toBe(file);
    expect(readFileSync(file, 'utf8').trim()).toBe(web.newToken);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const again = await startWeb({
      core: runtime.assistant,
      store: runtime.store,
      web: { host: '0.0.0.0', port: 0, token: null },
      settings: runtime.settings,
    });
    expect(again.newToken).toBeNull();
    expect(again.tokenFile).toBe(file);
    await again.stop();
  });

  it('refuses every request without the token: 401 for the API, the sign-in page for pages', async () => {
    const origin = new URL(web.url).origin;
    const page = await fetch(web.url, { redirect: 'manual' });
    expect([page.status, page.headers.get('location')]).toEqual([303, '/login']);
    expect(page.headers.get('set-cookie')).toBeNull();
    const concepts = await fetch(new URL('/api/concepts', web.url));
    expect([concepts.status, await concepts.json()]).toEqual([
      401,
      { error: 'Please reload the page and sign in again.' },
    ]);
    const turn = await fetch(new URL('/api/turn', web.url), {
      method: 'POST',
      headers: { Origin: origin },
      body: turnForm('/teach Obama', [photo('obama.jpg')]),
    });
    expect(turn.status).toBe(401);
    const wrong = await fetch(new URL('/login', web.url), {
      method: 'POST',
      headers: { Origin: origin },
      body: new URLSearchParams({ token: 'not-the-token-at-all' }),
      redirect: 'manual',
    });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toMatch(/That token is not right/);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    expect(await runtime.store.list(OPERATOR_SCOPE)).toEqual([]);
  });

  it('signs in with the token, then serves the page and the API', async () => {
    const origin = new URL(web.url).origin;
    const signIn = await fetch(new URL('/login', web.url), {
      method: 'POST',
      headers: { Origin: origin },
      body: new URLSearchParams({ token: web.newToken ?? '' }),
      redirect: 'manual',
    });
    expect([signIn.status, signIn.headers.get('location')]).toEqual([303, '/']);
    const cookie = /myvlm_session=[^;]+/.exec(signIn.headers.get('set-cookie') ?? '')?.[0] ?? '';
    const session = await openSession(web.url, cookie);
    const concepts = await session.request('/api/concepts');
    expect([concepts.status, await concepts.json()]).toEqual([200, { concepts: [] }]);
  });

  it('refuses a sign-in posted from another site', async () => {
    const signIn = await fetch(new URL('/login', web.url), {
      method: 'POST',
      headers: { Origin: 'http://evil.example' },
      body: new URLSearchParams({ token: web.newToken ?? '' }),
      redirect: 'manual',
    });
    expect(signIn.status).toBe(403);
    expect(signIn.headers.get('set-cookie')).toBeNull();
  });
});

describe('the web app on this machine', () => {
  let runtime: Awaited<ReturnType<typeof testAssistant>>;
  let web: WebHandle;
  let session: WebSession;

  beforeAll(async () => {
    runtime = await testAssistant({ MYVLM_MAX_IMAGE_BYTES: String(MAX_IMAGE_BYTES) });
    web = await startWeb({
      core: runtime.assistant,
      store: runtime.store,
      web: { host: '127.0.0.1', port: 0, token: null },
      settings: runtime.settings,
    });
    session = await openSession(web.url);
  });
  afterAll(async () => {
    await web?.stop();
    await runtime?.close();
  });

  it('needs no token, and sends the page with a strict CSP and a cookie scripts cannot read', async () => {
    expect(web.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(web.newToken).toBeNull();
    expect(existsSync(path.join(runtime.settings.dataDir, 'web-token'))).toBe(false);
    const page = await fetch(web.url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toBe(
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; " +
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    );
    expect(CONTENT_SECURITY_POLICY).toBe(page.headers.get('content-security-policy'));
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect(page.headers.get('set-cookie')).toMatch(/^myvlm_session=[\w-]{43}; Path=\/; HttpOnly; SameSite=Strict$/);
    const html = await page.text();
    expect(html).toMatch(/<meta name="csrf-token" content="[\w-]{43}"/);
    expect(html).not.toMatch(/__CSRF_TOKEN__/);
    const api = await session.request('/api/concepts');
    expect(api.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    const script = await fetch(new URL('/assets/app.js', web.url));
    expect([script.status, script.headers.get('content-type')]).toEqual([200, 'text/javascript; charset=utf-8']);
  });

  it('answers only to this machine’s names (a DNS-rebinding page cannot use it)', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const { port } = new URL(web.url);
      httpRequest({ host: '127.0.0.1', port, path: '/', headers: { Host: `attacker.example:${port}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
        .on('error', reject)
        .end();
    });
    expect(status).toBe(403);
  });

  it('refuses a cross-site POST, and a POST without the session’s CSRF token, storing nothing', async () => {
    const teach = () => turnForm('/teach Obama', [photo('obama.jpg')]);
    const crossSite = await session.request('/api/turn', {
      method: 'POST',
      headers: { Origin: 'http://evil.example' },
      body: teach(),
    });
    expect([crossSite.status, await crossSite.json()]).toEqual([
      403,
      { error: 'This request came from another site, so I refused it.' },
    ]);
    const fetchSite = await session.request('/api/turn', {
      method: 'POST',
      headers: { 'Sec-Fetch-Site': 'cross-site' },
      body: teach(),
    });
    expect(fetchSite.status).toBe(403);
    for (const token of ['', 'a-wrong-token']) {
      const noCsrf = await session.request('/api/turn', {
        method: 'POST',
        headers: { 'X-CSRF-Token': token },
        body: teach(),
      });
      expect([noCsrf.status, await noCsrf.json()]).toEqual([
        403,
        { error: 'This page is out of date: reload it and try again.' },
      ]);
    }
    expect(await runtime.store.list(OPERATOR_SCOPE)).toEqual([]);
  });

  it('refuses an oversized upload with a clear message and stores nothing of it', async () => {
    const big = photo('obama3.jpg');
    expect(big.bytes.byteLength).toBeGreaterThan(MAX_IMAGE_BYTES);
    const tooLarge = await session.request('/api/turn', {
      method: 'POST',
      body: turnForm('/teach Bigphoto', [photo('obama.jpg'), big]),
    });
    expect(tooLarge.status).toBe(413);
    expect(((await tooLarge.json()) as { error: string }).error).toMatch(
      /^Photo 2 \(obama3\.jpg\) is [\d.]+ MB; photos may be up to 0\.3 MB\. Nothing was kept\.$/,
    );
    const tooMany = await session.request('/api/turn', {
      method: 'POST',
      body: turnForm(
        '/teach Bigphoto',
        Array.from({ length: 11 }, () => photo('obama.jpg')),
      ),
    });
    expect([tooMany.status, await tooMany.json()]).toEqual([
      400,
      { error: 'That is 11 photos; send at most 10 in one message. Nothing was kept.' },
    ]);
    const hugeBody = await session.request('/api/turn', {
      method: 'POST',
      body: turnForm('/teach Bigphoto', [{ name: 'huge.jpg', bytes: new Uint8Array(15 * MAX_IMAGE_BYTES) }]),
    });
    expect([hugeBody.status, await hugeBody.json()]).toEqual([
      413,
      { error: 'That message is too large: send at most 10 photos of up to 0.3 MB each. Nothing was kept.' },
    ]);
    expect(await runtime.store.list(OPERATOR_SCOPE)).toEqual([]);
    const stored = filesUnder(runtime.settings.dataDir);
    expect(stored.filter((file) => file.includes(`${path.sep}blobs${path.sep}`))).toEqual([]);
    for (const file of stored) expect(readFileSync(file).includes(Buffer.from('Bigphoto'))).toBe(false);
  });

  it('uses a file name with ../ only as display text', async () => {
    const escape = `escape-${process.pid}-${Date.now()}.jpg`;
    const name = `../../../../${escape}`;
    const broken = await session.turn('/teach Notes', [{ name, bytes: new TextEncoder().encode('not a photo\n') }]);
    expect(broken.text).toMatch(
      new RegExp(`^I could not use any of the photos:\\nphoto 1 \\(${escape.replace(/\./g, '\\.')}\\): `),
    );
    const taught = await session.turn('/teach Obama', [{ ...photo('obama.jpg'), name }]);
    expect(taught.text).toMatch(/^Nice to meet Obama! I learned their face from 1 photo\(s\)\./);
    for (const dir of [tmpdir(), process.cwd(), path.dirname(runtime.settings.dataDir), path.resolve('/')])
      expect(existsSync(path.join(dir, escape))).toBe(false);
    expect(filesUnder(runtime.settings.dataDir).some((file) => file.includes(escape))).toBe(false);
  });

  it('shows the scope’s concepts with thumbnails, renames and forgets them through the core', async () => {
    const { concepts } = (await (await session.request('/api/concepts')).json()) as {
      concepts: Array<{
        id: string;
        name: string;
        kind: string;
        facts: string[];
        learned: boolean;
        photos: Array<{ sha256: string; url: string }>;
      }>;
    };
    expect(concepts).toHaveLength(1);
    const [obama] = concepts;
    expect(obama).toMatchObject({ name: 'Obama', kind: 'person', facts: [], learned: false });
    expect(obama.photos).toHaveLength(1);
    expect(obama.photos[0].url).toBe(`/api/concepts/${obama.id}/photos/${obama.photos[0].sha256}`);
    const thumb = await session.request(obama.photos[0].url);
    expect([thumb.status, thumb.headers.get('content-type')]).toEqual([200, 'image/jpeg']);
    const meta = await sharp(Buffer.from(await thumb.arrayBuffer())).metadata();
    expect(meta.format).toBe('jpeg');
    expect(Math.max(meta.width, meta.height)).toBe(256);
    expect((await session.request(`/api/concepts/${obama.id}/photos/${'0'.repeat(64)}`)).status).toBe(404);
    expect((await session.request(`/api/concepts/${obama.id}/photos/..%2F..%2Fconcepts.sqlite`)).status).toBe(404);

    const renameTo = (name: unknown) =>
      session.request(`/api/concepts/${obama.id}/rename`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ name }),
      });
    expect(await (await renameTo('Barack')).json()).toEqual({ text: 'Done: Obama is now called Barack.' });
    expect(await (await renameTo('<img src=x onerror=alert(1)>')).json()).toEqual({
      text: 'Names may use letters, digits, spaces, apostrophes, dots and hyphens, and must start with a letter or digit.',
    });
    expect((await renameTo(42)).status).toBe(400);
    const forgot = await session.request(`/api/concepts/${obama.id}/forget`, { method: 'POST' });
    expect(await forgot.json()).toEqual({
      text: 'Done: I forgot Barack, with 1 photo and everything I learned from them.',
    });
    expect(await (await session.request('/api/concepts')).json()).toEqual({ concepts: [] });
    expect((await session.request(`/api/concepts/${obama.id}/forget`, { method: 'POST' })).status).toBe(404);
  });

  it('streams a turn’s status and this scope’s lesson notices, and no other scope’s', async () => {
    const controller = new AbortController();
    const events = await session.request('/api/events', { signal: controller.signal });
    expect(events.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = events.body!.pipeThrough(new TextDecoderStream()).getReader();
    let received = '';
    const readUntil = async (pattern: RegExp) => {
      while (!pattern.test(received)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the stream ended before ${pattern}`);
        received += value;
      }
    };
    await readUntil(/: connected/);
    const response = await session.request('/api/turn', {
      method: 'POST',
      headers: { 'X-Turn-Id': 'turn-7' },
      body: turnForm('/teach Obama', [photo('obama.jpg')]),
    });
    expect(response.status).toBe(200);
    await readUntil(/event: status\ndata: .*"turnId":"turn-7"/);
    expect(received).toMatch(/event: status\ndata: \{"text":"Looking at 1 photo\(s\) for Obama…","turnId":"turn-7"\}/);
    const notice = (scope: string, text: string): Notice => ({
      scope,
      key: 'job-1',
      text,
      step: { at: 5, of: 100 },
      done: false,
    });
    web.notify(notice('web:elsewhere', 'Learning Secret: step 5 of 100.'));
    web.notify(notice(OPERATOR_SCOPE, 'Learning Obama: step 5 of 100.'));
    await readUntil(/event: notice/);
    expect(received).toMatch(
      /event: notice\ndata: \{"scope":"terminal:local","key":"job-1","text":"Learning Obama: step 5 of 100\.","step":\{"at":5,"of":100\},"done":false\}/,
    );
    expect(received).not.toMatch(/Secret/);
    controller.abort();
  });
});
