// Background work in Discord: a lesson learning a concept's embedding runs
// long after the `/teach` interaction was answered (and interaction tokens
// expire after 15 minutes), so its progress goes to one ordinary channel
// message per lesson, posted after the answer and edited in place as notices
// arrive, ending with the final sentence. Concepts belong to a server or a
// DM user, not to a channel: a server's lessons go to the channel of its most
// recent `/teach` (remembered in memory), a user's to their DM channel.
import { Routes, type Client, type RESTPostAPIChannelMessageResult } from 'discord.js';
import type { Notice } from '../../src/assistant/turn.ts';
import { moduleLogger } from '../../src/log.ts';
import { EditedMessage } from '../shared/edited-message.ts';
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
}

/** One channel message per piece of background work, keyed by scope and notice key. */
export class DiscordNotices {
  /** null: the key has no channel to go to, and was logged once. */
  private readonly messages = new Map<string, EditedMessage | null>();
  private readonly teaching = new Map<string, { channelId: string; turn: Promise<unknown> }>();

  constructor(private readonly options: DiscordNoticesOptions) {}

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
    let message = this.messages.get(id);
    if (message === undefined) {
      message = this.open(notice, place);
      this.messages.set(id, message);
    }
    message?.update(notice.text);
    // The message keeps its timers until the final text is shown; a later notice of the key starts a new one.
    if (notice.done) this.messages.delete(id);
  }

  /** Sends the pending edits of the messages already posted (at shutdown). */
  async settle(): Promise<void> {
    await Promise.all([...this.messages.values()].flatMap((m) => (m ? [m.settle()] : [])));
  }

  private open(notice: Notice, place: NoticePlace): EditedMessage | null {
    const taught = this.teaching.get(notice.scope);
    if (place.kind === 'guild' && !taught) {
      logger.debug(
        { scope: notice.scope },
        'no channel known for this server since the start; its lesson progress is not shown',
      );
      return null;
    }
    const rest = this.options.client.rest;
    let channelId: string | null = null;
    let messageId: string | null = null;
    return new EditedMessage(
      {
        send: async (text) => {
          channelId =
            place.kind === 'dm'
              ? (await this.options.client.users.createDM(place.userId)).id
              : (taught as { channelId: string }).channelId;
          const body = { content: text, allowed_mentions: { parse: [] } };
          messageId = (
            (await rest.post(Routes.channelMessages(channelId), { body })) as RESTPostAPIChannelMessageResult
          ).id;
        },
        edit: async (text) => {
          if (channelId !== null && messageId !== null)
            await rest.patch(Routes.channelMessage(channelId, messageId), { body: { content: text } });
        },
      },
      {
        intervalMs: this.options.intervalMs,
        firstDelayMs: 0,
        after: taught?.turn,
        onError: (error) =>
          logger.warn({ err: loggable(error), scope: notice.scope }, 'lesson status message update failed'),
      },
    );
  }
}
