// The web app's front door, in the order a request meets it: security headers
// on every answer; on a loopback address without a token, only loopback host
// names (a DNS-rebinding page cannot borrow the app under its own name);
// no state-changing request from another site (Origin, Sec-Fetch-Site); a
// session for everything but the assets and the sign-in page; and the
// session's CSRF token on every POST to the API.
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import { sameSecret, SESSION_COOKIE, type Session, type Sessions } from './sessions.ts';

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

export const CSRF_HEADER = 'X-CSRF-Token';

/** Paths open without a session: the sign-in page, and the assets it (and the page) loads. */
function isPublic(path: string): boolean {
  return path === '/login' || path.startsWith('/assets/');
}

export type GuardEnv = { Variables: { session: Session } };

export function securityHeaders(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    c.header('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
    c.header('X-Frame-Options', 'DENY');
    if (c.req.path.startsWith('/api/') && !c.res.headers.has('Cache-Control')) c.header('Cache-Control', 'no-store');
  };
}

/** Without a token the app trusts whoever reaches it, so it must be reached by this machine's own names. */
export function loopbackHostsOnly(): MiddlewareHandler {
  return async (c, next) => {
    const host = hostName(c.req.header('Host') ?? '');
    if (host !== 'localhost' && host !== '[::1]' && !/^127(\.\d{1,3}){3}$/.test(host)) {
      return c.text('This assistant only answers at http://127.0.0.1 on this machine.', 403);
    }
    await next();
  };
}

/** Refuses a request that changes something when a browser says it comes from another site. */
export function sameOriginWrites(): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD' && isCrossSite(c)) {
      return refuse(c, 403, 'This request came from another site, so I refused it.');
    }
    await next();
  };
}

function isCrossSite(c: Context): boolean {
  const site = c.req.header('Sec-Fetch-Site');
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return true;
  const origin = c.req.header('Origin');
  if (origin === undefined) return false;
  if (!URL.canParse(origin)) return true;
  return new URL(origin).host !== (c.req.header('Host') ?? '');
}

/**
 * Finds the request's session. Without one: 401 for the API; the sign-in
 * page for pages when a token is needed, else a new session for the page.
 */
export function sessions(store: Sessions, tokenRequired: boolean): MiddlewareHandler<GuardEnv> {
  return async (c, next) => {
    if (isPublic(c.req.path)) return next();
    let session = store.get(getCookie(c, SESSION_COOKIE));
    if (!session) {
      if (c.req.path.startsWith('/api/')) return refuse(c, 401, 'Please reload the page and sign in again.');
      if (tokenRequired) return c.redirect('/login', 303);
      // Only the page starts a session: a stray request (a favicon, a typo) does not fill the session table.
      if (c.req.path !== '/') return refuse(c, 404, 'There is nothing here.');
      session = store.create();
    }
    c.set('session', session);
    await next();
  };
}

/** Every POST to the API must carry the session's CSRF token, which only the app's own page can read. */
export function csrfTokens(): MiddlewareHandler<GuardEnv> {
  return async (c, next) => {
    if (c.req.method === 'POST' && c.req.path.startsWith('/api/')) {
      if (!sameSecret(c.req.header(CSRF_HEADER), c.get('session').csrfToken)) {
        return refuse(c, 403, 'This page is out of date: reload it and try again.');
      }
    }
    await next();
  };
}

export function refuse(c: Context, status: 400 | 401 | 403 | 404 | 413 | 500, error: string): Response {
  return c.req.path.startsWith('/api/') ? c.json({ error }, status) : c.text(error, status);
}

/** "127.0.0.1:8437" -> "127.0.0.1", "[::1]:8437" -> "[::1]". */
function hostName(host: string): string {
  return host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0];
}
