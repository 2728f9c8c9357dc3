// From Telegram messages to the core's turns and back: decides which
// messages are for the bot, puts albums together, brings the photos of a
// replied-to message, downloads them, asks the core, shows status by editing
// one message, and sends the answer as a reply to the user's message.
// Notices of background lessons go to their chat's own status message.
import type { Api } from 'grammy';
import type { Message } from 'grammy/types';
import { parseCommand } from '../../src/assistant/command.ts';
import type { ConversationCore, IncomingImage, Notice, Turn } from '../../src/assistant/turn.ts';
import { messageFor } from '../../src/errors.ts';
import { logFailure, moduleLogger } from '../../src/log.ts';
import type { StatusBook } from '../shared/status-book.ts';
import { readAddressing, type BotIdentity } from './addressing.ts';
import { AlbumGatherer, ALBUM_QUIET_MS, MISSING_ALBUM_PHOTOS_NOTE, missesAlbumPhotos, RecentAlbums } from './albums.ts';
import { TelegramNotices } from './notices.ts';
import { downloadImage, imageFileOf, type FileEndpoint } from './photos.ts';
import { sendReply } from './reply.ts';
import { STATUS_EDIT_INTERVAL_MS, STATUS_FIRST_DELAY_MS, StatusMessage, type StatusTarget } from './status.ts';
import { TurnQueue } from './turn-queue.ts';
import { loggable } from './loggable.ts';

const logger = moduleLogger('telegram');

/** How long a group member's admin status is trusted before asking Telegram again. */
export const ADMIN_CACHE_MS = 60_000;
/** Past this many cached answers, expired ones are dropped. */
const MAX_CACHED_ADMINS = 1_000;

export interface TelegramConversationOptions {
  core: ConversationCore;
  api: Api;
  bot: BotIdentity;
  files: FileEndpoint;
  /** Default ALBUM_QUIET_MS. */
  albumQuietMs?: number;
  /** Default STATUS_EDIT_INTERVAL_MS. */
  statusIntervalMs?: number;
  /** Default STATUS_FIRST_DELAY_MS. */
  statusDelayMs?: number;
  /** The lesson status messages still open, kept across restarts. */
  book: StatusBook;
}

/** The conversation scope of a Telegram chat: every group and private chat is its own. */
export function telegramScope(chatId: number): string {
  return `telegram:chat:${chatId}`;
}

export function telegramUser(userId: number): string {
  return `telegram:user:${userId}`;
}

/** Turns Telegram messages into turns of the core and sends the answers. */
export class TelegramConversation {
  private readonly queue = new TurnQueue();
  private readonly albums: AlbumGatherer;
  private readonly recent = new RecentAlbums();
  private readonly admins = new Map<string, { admin: boolean; until: number }>();
  private readonly notices: TelegramNotices;

  constructor(private readonly options: TelegramConversationOptions) {
    this.albums = new AlbumGatherer((messages) => this.accept(messages), options.albumQuietMs ?? ALBUM_QUIET_MS);
    this.notices = new TelegramNotices({
      api: options.api,
      intervalMs: options.statusIntervalMs ?? STATUS_EDIT_INTERVAL_MS,
      firstDelayMs: options.statusDelayMs ?? STATUS_FIRST_DELAY_MS,
      afterTurns: (chatId) => this.queue.after(String(chatId)),
      book: options.book,
    });
  }

  /** Takes one incoming message; returns at once, the turn runs behind. */
  receive(message: Message): void {
    this.recent.remember(message);
    this.albums.add(message);
  }

  /** Resolves when no album is still gathering and no turn is running. */
  async idle(): Promise<void> {
    while (this.albums.pending > 0 || this.queue.size > 0) {
      if (this.albums.pending > 0) await new Promise((resolve) => setTimeout(resolve, 50));
      await this.queue.idle();
    }
  }

  /** Resolves when no album of the chat is gathering and the chat's turns queued so far have finished. */
  async chatIdle(chatId: number): Promise<void> {
    while (this.albums.pendingIn(chatId) > 0) await new Promise((resolve) => setTimeout(resolve, 50));
    await this.queue.after(String(chatId));
  }

  /** Starts albums still gathering now and waits for every running turn and pending status edit. */
  async finish(): Promise<void> {
    this.albums.flush();
    await this.queue.idle();
    await this.notices.settle();
  }

  /** Shows a notice of background work in its chat's status message; returns at once. */
  notify(notice: Notice): void {
    this.notices.show(notice);
  }

  private accept(messages: Message[]): void {
    const lead = messages.find((m) => (m.text ?? m.caption ?? '').trim() !== '') ?? messages[0];
    const addressing = readAddressing(lead, this.options.bot);
    const forBot = addressing.forBot || messages.some((m) => m !== lead && readAddressing(m, this.options.bot).forBot);
    if (!forBot) return;
    this.queue.run(String(lead.chat.id), () => this.runTurn(messages, lead, addressing.text));
  }

  private async runTurn(messages: Message[], lead: Message, text: string): Promise<void> {
    const target: StatusTarget = {
      chatId: lead.chat.id,
      replyTo: lead.message_id,
      ...(lead.is_topic_message && lead.message_thread_id !== undefined ? { threadId: lead.message_thread_id } : {}),
    };
    const status = new StatusMessage(this.options.api, target, {
      intervalMs: this.options.statusIntervalMs,
      firstDelayMs: this.options.statusDelayMs,
    });
    const command = parseCommand(text).name;
    const endTeaching = command === 'teach' ? this.notices.teachingIn(target) : null;
    try {
      const { turn, missedPhotos } = await this.buildTurn(messages, lead, text);
      logger.info({ scope: turn.scope, photos: turn.images.length, command: text.split(/\s/, 1)[0] }, 'turn');
      const reply = await this.options.core.handle(turn, { onStatus: (update) => status.update(update) });
      await status.settle();
      const teachesFromPhotos = command === 'teach' || command === 'notit';
      await sendReply(this.options.api, target, {
        ...reply,
        text: missedPhotos && teachesFromPhotos ? `${reply.text}\n${MISSING_ALBUM_PHOTOS_NOTE}` : reply.text,
      });
      // The answer is there: the "working on it" message would only be stale now.
      await status.remove();
    } catch (error) {
      logFailure(logger, loggable(error), 'Telegram turn failed', { chat: lead.chat.id });
      await status.remove();
      await sendReply(this.options.api, target, { text: messageFor(error, 'chat'), images: [] }).catch(
        (sendError: unknown) =>
          logger.error({ err: loggable(sendError), chat: lead.chat.id }, 'could not send the error answer'),
      );
    } finally {
      endTeaching?.();
    }
  }

  /** The turn of `messages`, and whether Telegram withheld photos of an album it came with (group privacy mode). */
  private async buildTurn(
    messages: Message[],
    lead: Message,
    text: string,
  ): Promise<{ turn: Turn; missedPhotos: boolean }> {
    const from = lead.from;
    const chat = lead.chat;
    const images: IncomingImage[] = [];
    const sources = [...messages];
    let missedPhotos = missesAlbumPhotos(messages);
    // "/teach Anna" replying to photos: the replied message (and its album) joins the turn.
    const replied = lead.reply_to_message;
    if (replied && imageFileOf(replied)) {
      const album = this.recent.withAlbum(replied);
      sources.push(...album);
      missedPhotos ||= missesAlbumPhotos(album);
    }
    for (const source of sources) {
      const file = imageFileOf(source);
      if (file) images.push(await downloadImage(this.options.api, this.options.files, file));
    }
    const turn: Turn = {
      scope: telegramScope(chat.id),
      user: telegramUser(from?.id ?? chat.id),
      userName: from ? [from.first_name, from.last_name].filter(Boolean).join(' ') : undefined,
      isScopeAdmin: await this.isScopeAdmin(lead),
      text,
      images,
    };
    return { turn, missedPhotos };
  }

  /** Private chats belong to their user; in groups, the creator and administrators administer. */
  private async isScopeAdmin(message: Message): Promise<boolean> {
    if (message.chat.type === 'private') return true;
    // An administrator posting anonymously "as the group" is an administrator.
    if (message.sender_chat?.id === message.chat.id) return true;
    const userId = message.from?.id;
    if (userId === undefined) return false;
    const key = `${message.chat.id}:${userId}`;
    const cached = this.admins.get(key);
    if (cached && cached.until > Date.now()) return cached.admin;
    let admin = false;
    try {
      const member = await this.options.api.getChatMember(message.chat.id, userId);
      admin = member.status === 'creator' || member.status === 'administrator';
    } catch (error) {
      logger.warn(
        { err: loggable(error), chat: message.chat.id },
        'could not read chat membership; treating the user as a member',
      );
    }
    const now = Date.now();
    if (this.admins.size >= MAX_CACHED_ADMINS)
      for (const [k, v] of this.admins) if (v.until <= now) this.admins.delete(k);
    this.admins.set(key, { admin, until: now + ADMIN_CACHE_MS });
    return admin;
  }
}
