// Background work in Discord: a lesson learning a concept's embedding runs
// long after the `/teach` interaction was answered (and interaction tokens
// expire after 15 minutes), so its progress goes to one ordinary channel
// message per lesson, posted after the answer and edited in place as notices
// arrive, ending with the final sentence. Concepts belong to a server or a
// DM user, not to a channel: a server's lessons go to the channel of its most
// recent `/teach` (remembered in memory), a user's to their DM channel. A
// message still open at a restart is kept in the status book, so the resumed
// lesson edits it on instead of leaving it at "step 33 of 100".
import { Routes, type Client, type RESTPostAPIChannelMessageResult } from 'discord.js';
import type { Notice } from '../../src/assistant/turn.ts';
import { moduleLogger } from '../../src/log.ts';
import { EditedMessage } from '../shared/edited-message.ts';
import { interruptedText, pausedText, type StatusBook } from '../shared/status-book.ts';
import { loggable } from './loggable.ts';

const logger = moduleLogger('discord');

/** Servers and DM users whose last `/teach` place is remembered; the least recently taught is forgotten first. */
export const MAX_REMEMBERED_SCOPES = 10_000;

/** Where a scope's notices go: a server's channel, or a DM user's channel. */
export type NoticePlace = { kind: 'guild'; guildId: string } | { kind: 'dm'; userId: string };

/** The place of a `discord:guild:<id>` or `discord:dm:<user>` scope, or null for any other scope. */
export function placeOfScope(scope: string): NoticePlace | null {
  const match = /^discord:(guild|dm):(\d+)$/.exec(scope);
  if (!match) return null;
  return match[1] === 'guild' ? { kind: 'guild', guildId: match[2] } : { kind: 'dm', userId: match[2] };
}

export interface DiscordNoticesOptions {
  client: Client;
  /** Minimum time between two edits of one message. */
  intervalMs: number;
  /** The lesson messages still open, kept across restarts. */
  book: StatusBook;
}

/** A lesson's channel message and the sentence of its latest notice. */
interface OpenMessage {
  message: EditedMessage;
  text: string;
  /** Where it was posted, once it was. */
  posted: PostedMessage | null;
}

interface PostedMessage {
  channelId: string;
  messageId: string;
}

/** One channel message per piece of background work, keyed by scope and notice key. */
export class DiscordNotices {
  /** null: the key has no channel to go to, and was logged once. */
  private readonly messages = new Map<string, OpenMessage | null>();
  private readonly teaching = new Map<string, { channelId: string; turn: Promise<unknown> }>();

  /** Messages a previous run left open say at once that they were interrupted; a resumed lesson edits them on. */
  constructor(private readonly options: DiscordNoticesOptions) {
    for (const [id, open] of options.book.open) {
      const posted = { channelId: open.place, messageId: open.messageId };
      const message = this.message(id, null, undefined, { at: posted, text: open.text });
      message.update(interruptedText(open.text));
      this.messages.set(id, { message, text: open.text, posted });
    }
  }

  /**
   * Remembers the channel of a `/teach` in its scope, and the turn answering
   * it: a lesson's message is posted after that answer.
   */
  rememberTeach(scope: string, channelId: string, turn: Promise<unknown>): void {
    this.teaching.delete(scope);
    this.teaching.set(scope, { channelId, turn });
    if (this.teaching.size > MAX_REMEMBERED_SCOPES) this.teaching.delete(this.teaching.keys().next().value as string);
  }

  /** Shows a notice; notices of scopes that are not Discord servers or DMs are ignored. */
  show(notice: Notice): void {
    const place = placeOfScope(notice.scope);
    if (!place) return;
    const id = `${notice.scope}\n${notice.key}`;
    let open = this.messages.get(id);
    if (open === undefined) {
      open = this.open(id, notice, place);
      this.messages.set(id, open);
    }
    if (!open) return;
    open.text = notice.text;
    open.message.update(notice.text);
    if (notice.done) {
      // The message keeps its timers until the final text is shown; a later notice of the key starts a new one.
      this.messages.delete(id);
      this.options.book.delete(id);
    } else {
      this.record(id, open);
    }
  }

  /** At shutdown: open lesson messages say they are paused, and pending edits are sent. */
  async settle(): Promise<void> {
    const open = [...this.messages.values()].filter((m) => m !== null);
    for (const m of open) m.message.update(pausedText(m.text));
    await Promise.all(open.map((m) => m.message.settle()));
    await this.options.book.flushed();
  }

  /** Keeps an open message in the book once it is posted, with the sentence to continue from. */
  private record(id: string, open: OpenMessage): void {
    if (open.posted)
      this.options.book.set(id, { place: open.posted.channelId, messageId: open.posted.messageId, text: open.text });
  }

  private open(id: string, notice: Notice, place: NoticePlace): OpenMessage | null {
    const taught = this.teaching.get(notice.scope);
    if (place.kind === 'guild' && !taught) {
      logger.debug(
        { scope: notice.scope },
        'no channel known for this server since the start; its lesson progress is not shown',
      );
      return null;
    }
    const post = async (text: string): Promise<PostedMessage> => {
      const channelId =
        place.kind === 'dm'
          ? (await this.options.client.users.createDM(place.userId)).id
          : (taught as { channelId: string }).channelId;
      const body = { content: text, allowed_mentions: { parse: [] } };
      const posted = (await this.options.client.rest.post(Routes.channelMessages(channelId), {
        body,
      })) as RESTPostAPIChannelMessageResult;
      open.posted = { channelId, messageId: posted.id };
      if (this.messages.get(id) === open) this.record(id, open);
      return open.posted;
    };
    // The message is posted later, after `open` exists.
    const open: OpenMessage = { message: this.message(id, post, taught?.turn), text: '', posted: null };
    return open;
  }

  /**
   * The edited message of key `id`: `post` posts it; `reopened` is one a
   * previous run posted (where it is and what it shows), which is only edited.
   */
  private message(
    id: string,
    post: ((text: string) => Promise<PostedMessage>) | null,
    after: Promise<unknown> | undefined,
    reopened?: { at: PostedMessage; text: string },
  ): EditedMessage {
    const rest = this.options.client.rest;
    let posted = reopened?.at ?? null;
    return new EditedMessage(
      {
        send: async (text) => {
          if (post) posted = await post(text);
        },
        edit: async (text) => {
          if (posted)
            await rest.patch(Routes.channelMessage(posted.channelId, posted.messageId), { body: { content: text } });
        },
        remove: async () => {
          if (posted) await rest.delete(Routes.channelMessage(posted.channelId, posted.messageId));
        },
      },
      {
        intervalMs: this.options.intervalMs,
        firstDelayMs: 0,
        after,
        shown: reopened?.text,
        onError: (error) => logger.warn({ err: loggable(error), key: id }, 'lesson status message update failed'),
      },
    );
  }
}
