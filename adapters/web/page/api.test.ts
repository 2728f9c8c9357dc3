import { afterEach, describe, expect, it, vi } from 'vitest';
import { assistantApi, failureMessage, RequestFailure, sentenceOf } from './api.ts';
import { ContractError } from './contract.ts';

interface Sent {
  url: string;
  init: RequestInit;
}

/** Answers every request with `status` and `body`, and keeps what was sent. */
function serverAnswering(status: number, body: unknown): Sent[] {
  const sent: Sent[] = [];
  vi.stubGlobal('fetch', (url: string, init: RequestInit) => {
    sent.push({ url, init });
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    return Promise.resolve(new Response(text, { status, headers: { 'Content-Type': 'application/json' } }));
  });
  return sent;
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('the page talks to its server', () => {
  it('sends a turn as multipart with the CSRF token, the turn id and the photos under their names', async () => {
    const sent = serverAnswering(200, { text: 'Nice to meet Anna!', images: [] });
    const api = assistantApi('csrf-123', () => {});
    const photo = new File([new Uint8Array([1, 2, 3])], '../../etc/passwd.jpg', { type: 'image/jpeg' });
    expect(await api.turn('/teach Anna', [photo], 'turn-1')).toEqual({ text: 'Nice to meet Anna!', images: [] });
    expect(sent).toHaveLength(1);
    expect(sent[0].url).toBe('/api/turn');
    expect(sent[0].init.method).toBe('POST');
    expect(sent[0].init.headers).toEqual({ 'X-CSRF-Token': 'csrf-123', 'X-Turn-Id': 'turn-1' });
    const form = sent[0].init.body as FormData;
    expect(form.get('text')).toBe('/teach Anna');
    const photos = form.getAll('photos') as File[];
    expect(photos.map((p) => [p.name, p.size])).toEqual([['../../etc/passwd.jpg', 3]]);
  });

  it('sends forget and rename with the token, to the concept of the card', async () => {
    const sent = serverAnswering(200, { text: 'Done.' });
    const api = assistantApi('csrf-123', () => {});
    expect(await api.forget('id/with slash')).toBe('Done.');
    expect(await api.rename('c7', 'Annie')).toBe('Done.');
    expect(sent.map((s) => s.url)).toEqual(['/api/concepts/id%2Fwith%20slash/forget', '/api/concepts/c7/rename']);
    expect(sent[1].init.headers).toEqual({ 'X-CSRF-Token': 'csrf-123', 'Content-Type': 'application/json' });
    expect(sent[1].init.body).toBe('{"name":"Annie"}');
  });

  it("shows the server's own sentence when a request is refused", async () => {
    serverAnswering(413, { error: 'Photo 2 (big.jpg) is larger than 25 MB.' });
    const failure = await assistantApi('t', () => {})
      .turn('', [], 'x')
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(RequestFailure);
    expect((failure as RequestFailure).message).toBe('Photo 2 (big.jpg) is larger than 25 MB.');
    expect((failure as RequestFailure).status).toBe(413);
  });

  it('sends a signed-out page to sign in again', async () => {
    serverAnswering(401, { error: 'Sign in first.' });
    const signedOut = vi.fn();
    await expect(assistantApi('t', signedOut).concepts()).rejects.toThrow('Sign in first.');
    expect(signedOut).toHaveBeenCalledOnce();
  });

  it('says what a status means when the server gave no sentence', () => {
    expect(failureMessage(413, null)).toBe('That is too much to send at once. Send fewer or smaller photos.');
    expect(failureMessage(403, 'Forbidden')).toBe('The server refused this page. Reload it and try again.');
    expect(failureMessage(502, null)).toMatch(/went wrong on the assistant/);
    expect(failureMessage(418, null)).toBe('The assistant refused the request (HTTP 418).');
  });

  it('says when the assistant cannot be reached', async () => {
    vi.stubGlobal('fetch', () => Promise.reject(new TypeError('Failed to fetch')));
    const failure = await assistantApi('t', () => {})
      .concepts()
      .catch((error: unknown) => error);
    expect(failure).toEqual(new RequestFailure('I cannot reach the assistant. Is it still running?', 0));
  });

  it('turns an unreadable answer into advice to reload', () => {
    expect(sentenceOf(new ContractError('the reply is not an object'))).toBe(
      'The assistant answered something this page cannot read. Reload the page and try again.',
    );
    expect(sentenceOf('boom')).toBe('Something went wrong. Try again.');
  });
});
