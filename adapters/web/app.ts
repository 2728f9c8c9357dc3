// The web app's routes (the HTTP contract of issue 17): the page and its
// assets, sign-in when a token is required, and the JSON API the page
// calls. Every change to memory is a turn of the core, as a typed command
// would be, so the web app can do nothing the chat cannot.
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { setCookie } from 'hono/cookie';
import type { ConversationCore, Reply, Turn } from '../../src/assistant/turn.ts';
import { InternalError, messageFor } from '../../src/errors.ts';
import type { ConceptStore } from '../../src/memory/store.ts';
import { logFailure, moduleLogger } from '../../src/log.ts';
import { CSRF_TOKEN_PLACEHOLDER, type PageAssets } from './assets.ts';
import type { EventHub } from './events.ts';
import { galleryConcepts, thumbnail } from './gallery.ts';
import {
  csrfTokens,
  loopbackHostsOnly,
  refuse,
  sameOriginWrites,
  securityHeaders,
  sessions,
  type GuardEnv,
} from './guards.ts';
import { sameSecret, SESSION_COOKIE, type Session, type Sessions } from './sessions.ts';
import { maxTurnBytes, readTurnUpload, tooLarge, UploadRefused } from './uploads.ts';

const logger = moduleLogger('web');

/** The user behind the page: the operator (or whoever holds the token), who administers the scope. */
export const WEB_USER = 'web:owner';

/** Where the page's concepts live: the operator's own scope, apart from the terminal's and every chat's. */

export interface WebAppOptions {
  core: ConversationCore;
  store: ConceptStore;
  scope: string;
  assets: PageAssets;
  /** What a browser signs in with, or null: no sign-in (this machine only). */
  token: string | null;
  maxImageBytes: number;
  /** The key of the configured VLM's embeddings, or null. */
  vlmKey: string | null;
  sessions: Sessions;
  events: EventHub;
}

/** A client-chosen turn id is echoed in status events: kept short and plain. */
const TURN_ID = /^[\w-]{1,64}$/;

/** Characters of a new name read from a rename request (the core refuses names over 40). */
const RENAME_MAX_LENGTH = 200;

export function createWebApp(options: WebAppOptions): Hono<GuardEnv> {
  const { core, store, scope, assets, token, events } = options;
  if (!assets.html.includes(CSRF_TOKEN_PLACEHOLDER))
    throw new InternalError(`the page has no ${CSRF_TOKEN_PLACEHOLDER} for the session's CSRF token`);
  const app = new Hono<GuardEnv>();

  app.use(securityHeaders());
  if (token === null) app.use(loopbackHostsOnly());
  app.use(sameOriginWrites());
  app.use(sessions(options.sessions, token !== null));
  app.use(csrfTokens());

  const turn = (text: string, images: Turn['images'] = []): Turn => ({
    scope,
    user: WEB_USER,
    isScopeAdmin: true,
    text,
    images,
  });

  app.get('/assets/app.js', (c) => asset(c, assets.js, 'text/javascript; charset=utf-8'));
  app.get('/assets/app.css', (c) => asset(c, assets.css, 'text/css; charset=utf-8'));

  app.get('/', (c) => {
    const session = c.get('session');
    remember(c, session);
    c.header('Cache-Control', 'no-store');
    return c.html(assets.html.split(CSRF_TOKEN_PLACEHOLDER).join(session.csrfToken));
  });

  app.get('/login', (c) => (token === null ? c.redirect('/', 303) : c.html(loginPage(false))));
  app.post('/login', async (c) => {
    if (token === null) return c.redirect('/', 303);
    const form = await c.req.formData().catch(() => null);
    const given = form?.get('token');
    if (typeof given !== 'string' || !sameSecret(given.trim(), token)) return c.html(loginPage(true), 401);
    remember(c, options.sessions.create());
    return c.redirect('/', 303);
  });

  app.post(
    '/api/turn',
    bodyLimit({
      maxSize: maxTurnBytes(options.maxImageBytes),
      onError: (c) => {
        // The rest of the body is never read: the connection cannot carry another request.
        c.header('Connection', 'close');
        return refused(c, tooLarge(options.maxImageBytes));
      },
    }),
    async (c) => {
      const upload = await readTurnUpload(c.req.raw, options.maxImageBytes);
      const requested = c.req.header('X-Turn-Id');
      const turnId = requested !== undefined && TURN_ID.test(requested) ? requested : crypto.randomUUID();
      const reply = await core.handle(turn(upload.text, upload.images), {
        onStatus: (update) => events.publish({ event: 'status', data: { ...update, turnId } }),
      });
      return c.json(replyJson(reply));
    },
  );

  app.get('/api/events', (c) => events.stream(c));

  app.get('/api/concepts', async (c) => c.json({ concepts: await galleryConcepts(store, scope, options.vlmKey) }));

  app.get('/api/concepts/:id/photos/:sha256', async (c) => {
    const sha256 = c.req.param('sha256');
    const jpeg = /^[0-9a-f]{64}$/.test(sha256) ? await thumbnail(store, scope, c.req.param('id'), sha256) : null;
    if (!jpeg) return refuse(c, 404, 'There is no such photo here.');
    // Content-addressed: the bytes of this URL never change.
    c.header('Cache-Control', 'private, max-age=86400, immutable');
    return c.body(jpeg.slice().buffer, 200, { 'Content-Type': 'image/jpeg' });
  });

  app.post('/api/concepts/:id/forget', async (c) => {
    const concept = await store.get(scope, c.req.param('id'));
    if (!concept) return refuse(c, 404, "I don't know that one any more; reload the page.");
    return c.json({ text: (await core.handle(turn(`/forget ${concept.name}`))).text });
  });

  app.post('/api/concepts/:id/rename', async (c) => {
    const concept = await store.get(scope, c.req.param('id'));
    if (!concept) return refuse(c, 404, "I don't know that one any more; reload the page.");
    const body: unknown = await c.req.json().catch(() => null);
    const name = body !== null && typeof body === 'object' && 'name' in body ? body.name : null;
    if (typeof name !== 'string' || name.trim() === '' || name.length > RENAME_MAX_LENGTH)
      return refuse(c, 400, 'Send the new name as JSON: {"name": "Annie"}.');
    return c.json({ text: (await core.handle(turn(`/rename ${concept.name} to ${name.trim()}`))).text });
  });

  app.notFound((c) => refuse(c, 404, 'There is nothing here.'));
  app.onError((error, c) => {
    if (error instanceof UploadRefused) return refused(c, error);
    logFailure(logger, error, 'web request failed', { path: c.req.path });
    return refuse(c, 500, messageFor(error, 'chat'));
  });
  return app;
}

function refused(c: Context, error: UploadRefused): Response {
  return c.json({ error: error.message }, error.status);
}

function asset(c: Context, body: string, type: string): Response {
  c.header('Cache-Control', 'no-cache');
  return c.body(body, 200, { 'Content-Type': type });
}

/** The session cookie: never readable by scripts, never sent along from another site. */
function remember(c: Context, session: Session): void {
  setCookie(c, SESSION_COOKIE, session.id, { httpOnly: true, sameSite: 'Strict', path: '/' });
}

/** The reply as the page shows it; an image's alt text is the sentence that explains it. */
function replyJson(reply: Reply): { text: string; images: Array<{ dataUrl: string; alt: string }> } {
  const alt = reply.text.split('\n')[0] || 'An image from the assistant';
  return {
    text: reply.text,
    images: reply.images.map((image) => ({
      dataUrl: `data:${image.mimeType};base64,${Buffer.from(image.bytes).toString('base64')}`,
      alt,
    })),
  };
}

const WRONG_TOKEN =
  'That token is not right. It was printed when the assistant first started, and is kept in web-token in its data folder.';

/** The sign-in form: static markup, styled by the page's stylesheet (the CSP allows no inline style). */
function loginPage(failed: boolean): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · MyVLM Assistant</title>
<link rel="stylesheet" href="/assets/app.css">
</head>
<body>
<main class="login">
<h1>MyVLM Assistant</h1>
<form method="post" action="/login">
<label for="token">Web token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
${failed ? `<p role="alert">${WRONG_TOKEN}</p>\n` : ''}<button type="submit">Sign in</button>
</form>
</main>
</body>
</html>
`;
}
