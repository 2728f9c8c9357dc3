// Server-sent events: the page's live view of work in progress. A turn's
// status ("Looking at 3 photo(s) for Anna…") and a background lesson's notices
// go to every page open on the scope, each as one JSON message; a comment
// every 15 s keeps proxies and browsers from closing a quiet stream.
import type { Context } from 'hono';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import type { Notice, StatusUpdate } from '../../src/assistant/turn.ts';

export const HEARTBEAT_MS = 15_000;

/** What the page hears: a lesson's notice, or the status of a turn in flight (by the id the page gave it). */
export type WebEvent = { event: 'notice'; data: Notice } | { event: 'status'; data: StatusUpdate & { turnId: string } };

interface Listener {
  send(message: WebEvent): void;
  end(): void;
}

export class EventHub {
  private readonly listeners = new Set<Listener>();

  publish(message: WebEvent): void {
    for (const listener of this.listeners) listener.send(message);
  }

  /** The response of GET /api/events: open until the page goes away or the server stops. */
  stream(c: Context): Response {
    return streamSSE(c, async (stream) => {
      // Writes queue up in order; a page that went away fails them quietly.
      let writing = Promise.resolve();
      const write = (action: (s: SSEStreamingApi) => Promise<void>) =>
        (writing = writing.then(() => action(stream)).catch(() => undefined));
      let ended: () => void = () => {};
      const closed = new Promise<void>((resolve) => (ended = resolve));
      const listener: Listener = {
        send: (message) => void write((s) => s.writeSSE({ event: message.event, data: JSON.stringify(message.data) })),
        end: ended,
      };
      this.listeners.add(listener);
      const heartbeat = setInterval(
        () => void write((s) => s.write(': heartbeat\n\n').then(() => undefined)),
        HEARTBEAT_MS,
      );
      stream.onAbort(ended);
      // A first comment: the page knows it is connected, proxies flush their headers.
      void write((s) => s.write(': connected\n\n').then(() => undefined));
      await closed;
      clearInterval(heartbeat);
      this.listeners.delete(listener);
      await writing;
    });
  }

  /** Ends every stream (the server is stopping: open streams would keep it waiting). */
  close(): void {
    for (const listener of this.listeners) listener.end();
  }
}
