// Browser sessions of the web app, kept in memory: a restart signs everyone
// out, which on this machine costs a reload. Each session has its own CSRF
// token, which the page sends back with every change it asks for.
import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';

export const SESSION_COOKIE = 'myvlm_session';

/** Sessions kept at once; the oldest goes first (a family needs a handful, a script opening pages in a loop must not fill memory). */
export const MAX_SESSIONS = 1000;

export interface Session {
  id: string;
  csrfToken: string;
}

export class Sessions {
  private readonly byId = new Map<string, Session>();

  create(): Session {
    const session = { id: randomToken(), csrfToken: randomToken() };
    this.byId.set(session.id, session);
    if (this.byId.size > MAX_SESSIONS) this.byId.delete(this.byId.keys().next().value as string);
    return session;
  }

  get(id: string | undefined): Session | null {
    return id === undefined ? null : (this.byId.get(id) ?? null);
  }
}

function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Compares two secrets in time that does not depend on where they differ. */
export function sameSecret(given: string | undefined | null, expected: string): boolean {
  if (typeof given !== 'string') return false;
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}
