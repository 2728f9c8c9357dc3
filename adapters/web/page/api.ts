// The page's calls to its server (adapters/web): a turn with photos, the
// gallery, forget and rename. Every POST carries the session's CSRF token;
// every failure becomes one sentence a person can act on.
import {
  ContractError,
  errorText,
  parseAnswerText,
  parseConcepts,
  parseTurnReply,
  type ConceptCard,
  type TurnReply,
} from './contract.ts';

/** A request that failed, with the sentence to show in the chat. */
export class RequestFailure extends Error {
  override name = 'RequestFailure';
  constructor(
    message: string,
    /** The HTTP status, or 0 when the server could not be reached. */
    readonly status: number,
  ) {
    super(message);
  }
}

/** The sentence for a failed answer: the server's own words when it gave some, else what the status means to a person. */
export function failureMessage(status: number, body: unknown): string {
  const own = errorText(body);
  if (own !== null) return own;
  if (status === 401) return 'You are signed out. Reload the page to sign in again.';
  if (status === 403) return 'The server refused this page. Reload it and try again.';
  if (status === 413) return 'That is too much to send at once. Send fewer or smaller photos.';
  if (status === 404) return 'That is gone already. The gallery shows what is left.';
  if (status >= 500) return 'Sorry, something went wrong on the assistant’s side. Try again in a moment.';
  return `The assistant refused the request (HTTP ${status}).`;
}

export interface AssistantApi {
  turn(text: string, photos: readonly File[], turnId: string): Promise<TurnReply>;
  concepts(): Promise<ConceptCard[]>;
  forget(conceptId: string): Promise<string>;
  rename(conceptId: string, name: string): Promise<string>;
}

/** Talks to the server that served the page, with the CSRF token it put into the page. */
export function assistantApi(csrfToken: string, onSignedOut: () => void): AssistantApi {
  async function call(path: string, init: RequestInit): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(path, { ...init, credentials: 'same-origin' });
    } catch {
      throw new RequestFailure('I cannot reach the assistant. Is it still running?', 0);
    }
    const body: unknown = await response.json().catch(() => null);
    if (response.status === 401) onSignedOut();
    if (!response.ok) throw new RequestFailure(failureMessage(response.status, body), response.status);
    return body;
  }

  const post = (path: string, body: BodyInit | null, headers: Record<string, string> = {}): Promise<unknown> =>
    call(path, { method: 'POST', body, headers: { 'X-CSRF-Token': csrfToken, ...headers } });

  return {
    async turn(text, photos, turnId) {
      const form = new FormData();
      form.append('text', text);
      // The file name is display text only ("photo 2 (IMG_0042.jpg)"); the server never uses it as a path.
      for (const photo of photos) form.append('photos', photo, photo.name);
      return parseTurnReply(await post('/api/turn', form, { 'X-Turn-Id': turnId }));
    },
    async concepts() {
      return parseConcepts(await call('/api/concepts', { method: 'GET', headers: { Accept: 'application/json' } }));
    },
    async forget(conceptId) {
      return parseAnswerText(await post(`/api/concepts/${encodeURIComponent(conceptId)}/forget`, null));
    },
    async rename(conceptId, name) {
      const body = JSON.stringify({ name });
      const answer = await post(`/api/concepts/${encodeURIComponent(conceptId)}/rename`, body, {
        'Content-Type': 'application/json',
      });
      return parseAnswerText(answer);
    },
  };
}

/** The sentence to show for anything a request or an action threw. */
export function sentenceOf(error: unknown): string {
  if (error instanceof ContractError)
    return 'The assistant answered something this page cannot read. Reload the page and try again.';
  return error instanceof Error ? error.message : 'Something went wrong. Try again.';
}
