// Live news from the server over server-sent events: lesson notices of this
// scope and the progress of this session's turns. The browser reconnects by
// itself after a drop; the page only says when the news has stopped, and
// catches up (reloads the gallery) when it is back.
import { parseNotice, parseStatus, type LessonNotice, type TurnStatus } from './contract.ts';

export interface LiveHandlers {
  notice: (notice: LessonNotice) => void;
  status: (status: TurnStatus) => void;
  /** false while the connection is down, true once it is (back) up. */
  connected: (up: boolean) => void;
}

export function listenLive(handlers: LiveHandlers): EventSource {
  const source = new EventSource('/api/events');
  const read =
    <T>(parse: (value: unknown) => T, handle: (value: T) => void) =>
    (event: MessageEvent<string>): void => {
      try {
        handle(parse(JSON.parse(event.data)));
      } catch (error) {
        // One unreadable event must not stop the others; the console keeps it for whoever debugs the page.
        console.warn('Ignored an event the page cannot read', error);
      }
    };
  source.addEventListener('notice', read(parseNotice, handlers.notice));
  source.addEventListener('status', read(parseStatus, handlers.status));
  source.addEventListener('open', () => handlers.connected(true));
  source.addEventListener('error', () => handlers.connected(false));
  return source;
}
