// A fake Telegram Bot API on 127.0.0.1: enough of the real API (getMe,
// getUpdates with long polling, webhooks, sendMessage, editMessageText,
// sendPhoto, getFile and file download, setMyCommands, getChatMember, ...) for
// the real grammY client to run unchanged against it. Tests inject updates as
// users would send them and read back what the bot sent.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BotCommand, Chat, Message, PhotoSize, Update, User } from 'grammy/types';
import { listenOnLoopback, sendJson, waitUntil, type LoopbackServer } from './http.ts';
import { entitiesOf, readPayload } from './telegram-payload.ts';

export interface FakeTelegramOptions {
  /** The one token the server accepts; others get 401. */
  token?: string;
  botUsername?: string;
}

/** One API call as the server saw it, with the HTTP status it answered. */
export interface TelegramCall {
  method: string;
  payload: Record<string, unknown>;
  status: number;
  at: number;
}

/** A message the bot sent, with its edit history. */
export interface BotMessage {
  chatId: number;
  messageId: number;
  text: string;
  /** Every text the message had, first to last (edits append). */
  history: string[];
  photo: Buffer | null;
  replyTo: number | null;
  silent: boolean;
  sentAt: number;
  /** Whether the bot deleted it. */
  deleted: boolean;
}

export interface OutgoingUserMessage {
  chat: Chat;
  from: User;
  text?: string;
  /** One photo is one message; several become an album (one media group, caption on the first). */
  photos?: Uint8Array[];
  /** A file sent "as a document" (uncompressed). */
  document?: { bytes: Uint8Array; fileName: string; mimeType: string };
  replyTo?: Message;
}

interface StoredFile {
  bytes: Buffer;
  path: string;
  uniqueId: string;
}

const THUMBNAIL_BYTES = Buffer.from('thumbnail placeholder, not a decodable image');

export class FakeTelegramServer {
  readonly calls: TelegramCall[] = [];
  readonly botMessages: BotMessage[] = [];
  /** The commands from the last setMyCommands call, or null. */
  commands: BotCommand[] | null = null;
  webhook: { url: string; secretToken: string | null } | null = null;
  /**
   * Group privacy mode (BotFather's default): in groups the bot gets only
   * messages meant for it, so of an album only the part with the caption.
   */
  privacyMode = false;
  /** How long a file download takes, as on a slow network (0: at once). */
  downloadDelayMs = 0;

  private readonly updates: Update[] = [];
  private nextUpdateId = 1;
  private nextMessageId = 1;
  private nextFileId = 1;
  private nextMediaGroup = 1;
  private readonly files = new Map<string, StoredFile>();
  private readonly memberStatus = new Map<string, string>();
  private readonly failures = new Map<string, number>();
  private readonly updateWaiters = new Set<() => void>();
  private delivering = false;

  private constructor(
    private readonly http: LoopbackServer,
    readonly token: string,
    readonly bot: User,
  ) {}

  /** Starts the fake on a free loopback port. */
  static async start(options: FakeTelegramOptions = {}): Promise<FakeTelegramServer> {
    const token = options.token ?? '123456:TEST-token-for-the-fake-bot-api';
    const bot: User = {
      id: Number(token.split(':')[0]),
      is_bot: true,
      first_name: 'MyVLM',
      username: options.botUsername ?? 'myvlm_test_bot',
    };
    let fake: FakeTelegramServer | null = null;
    const http = await listenOnLoopback((req, res) => fake!.route(req, res));
    fake = new FakeTelegramServer(http, token, bot);
    return fake;
  }

  /** The value for grammY's `client.apiRoot` (and TELEGRAM_API_ROOT). */
  get apiRoot(): string {
    return this.http.origin;
  }

  async close(): Promise<void> {
    for (const wake of this.updateWaiters) wake();
    await this.http.close();
  }

  // ---- test-facing API -------------------------------------------------

  /** Makes the next call of `method` answer 429 with `retry_after` seconds, once. */
  failNextWith429(method: string, retryAfterSeconds: number): void {
    this.failures.set(method.toLowerCase(), retryAfterSeconds);
  }

  /** What getChatMember answers for this user in this chat ('member' unless set). */
  setMemberStatus(
    chatId: number,
    userId: number,
    status: 'creator' | 'administrator' | 'member' | 'restricted' | 'left',
  ): void {
    this.memberStatus.set(`${chatId}:${userId}`, status);
  }

  /** Stores a photo as Telegram does: a small thumbnail and the full size; returns the sizes, smallest first. */
  storePhoto(bytes: Uint8Array): PhotoSize[] {
    const thumb = this.storeFile(THUMBNAIL_BYTES, 'photos');
    const full = this.storeFile(Buffer.from(bytes), 'photos');
    return [
      { file_id: thumb.id, file_unique_id: thumb.uniqueId, width: 90, height: 68, file_size: THUMBNAIL_BYTES.length },
      { file_id: full.id, file_unique_id: full.uniqueId, width: 1280, height: 960, file_size: bytes.length },
    ];
  }

  /**
   * Sends a message as a user: queues the update(s) for getUpdates or the
   * webhook and returns the message(s). Several photos become an album.
   */
  sendAsUser(message: OutgoingUserMessage): Message[] {
    const photos = message.photos ?? [];
    const mediaGroup = photos.length > 1 ? `album${this.nextMediaGroup++}` : undefined;
    const messages: Message[] = [];
    const count = Math.max(1, photos.length);
    for (let i = 0; i < count; i++) {
      const base = {
        message_id: this.nextMessageId++,
        date: Math.floor(Date.now() / 1000),
        chat: message.chat,
        from: message.from,
        ...(message.replyTo && i === 0 ? { reply_to_message: message.replyTo } : {}),
        ...(mediaGroup ? { media_group_id: mediaGroup } : {}),
      };
      const words = i === 0 ? message.text : undefined;
      let sent: Message;
      if (photos.length > 0) {
        sent = {
          ...base,
          photo: this.storePhoto(photos[i]),
          ...(words ? { caption: words, caption_entities: entitiesOf(words) } : {}),
        } as Message;
      } else if (message.document) {
        const file = this.storeFile(Buffer.from(message.document.bytes), 'documents');
        const document = {
          file_id: file.id,
          file_unique_id: file.uniqueId,
          file_name: message.document.fileName,
          mime_type: message.document.mimeType,
          file_size: message.document.bytes.length,
        };
        sent = {
          ...base,
          document,
          ...(words ? { caption: words, caption_entities: entitiesOf(words) } : {}),
        } as Message;
      } else {
        sent = { ...base, text: words ?? '', entities: entitiesOf(words ?? '') } as Message;
      }
      messages.push(sent);
      const withheld = this.privacyMode && message.chat.type !== 'private' && i > 0;
      if (!withheld) this.pushUpdate({ update_id: 0, message: sent } as Update);
    }
    return messages;
  }

  /** A message the bot sent, as a `Message` a user can reply to. */
  asMessage(sent: BotMessage, chat: Chat): Message {
    return {
      message_id: sent.messageId,
      date: Math.floor(sent.sentAt / 1000),
      chat,
      from: this.bot,
      text: sent.text,
    };
  }

  /** Waits for a bot message matching `predicate`. */
  waitForBotMessage(
    predicate: (message: BotMessage) => boolean,
    what: string,
    timeoutMs = 15_000,
  ): Promise<BotMessage> {
    return waitUntil(() => this.botMessages.find(predicate), what, timeoutMs);
  }

  /** Waits until `probe` answers something other than undefined (e.g. a message's final text). */
  waitFor<T>(probe: () => T | undefined, what: string, timeoutMs = 15_000): Promise<T> {
    return waitUntil(probe, what, timeoutMs);
  }

  callsOf(method: string): TelegramCall[] {
    return this.calls.filter((c) => c.method === method.toLowerCase());
  }

  /** Updates not yet confirmed by the bot (getUpdates offset) or delivered to its webhook. */
  get pendingUpdates(): number {
    return this.updates.length;
  }

  // ---- the Bot API -----------------------------------------------------

  private pushUpdate(update: Update): void {
    this.updates.push({ ...update, update_id: this.nextUpdateId++ });
    for (const wake of this.updateWaiters) wake();
    if (this.webhook) void this.deliverToWebhook();
  }

  private storeFile(bytes: Buffer, folder: string): { id: string; uniqueId: string } {
    const n = this.nextFileId++;
    const id = `file-${n}-${createHash('sha1').update(bytes).digest('hex').slice(0, 8)}`;
    const uniqueId = `u${n}`;
    this.files.set(id, { bytes, path: `${folder}/file_${n}.jpg`, uniqueId });
    return { id, uniqueId };
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.http.origin);
    const fileMatch = /^\/file\/bot([^/]+)\/(.+)$/.exec(url.pathname);
    if (fileMatch && req.method === 'GET') {
      if (this.downloadDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.downloadDelayMs));
      return this.download(fileMatch[1], decodeURIComponent(fileMatch[2]), res);
    }
    const apiMatch = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(url.pathname);
    if (!apiMatch) return sendJson(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
    const [, token, rawMethod] = apiMatch;
    const method = rawMethod.toLowerCase();
    const payload = await readPayload(req, url);
    const answer = (status: number, body: Record<string, unknown>) => {
      this.calls.push({ method, payload, status, at: Date.now() });
      sendJson(res, status, body);
    };
    if (token !== this.token) return answer(401, { ok: false, error_code: 401, description: 'Unauthorized' });
    const retryAfter = this.failures.get(method);
    if (retryAfter !== undefined) {
      this.failures.delete(method);
      return answer(429, {
        ok: false,
        error_code: 429,
        description: `Too Many Requests: retry after ${retryAfter}`,
        parameters: { retry_after: retryAfter },
      });
    }
    try {
      const result = await this.call(method, payload, res);
      answer(200, { ok: true, result });
    } catch (error) {
      if (error instanceof ApiRefusal)
        return answer(error.code, { ok: false, error_code: error.code, description: error.message });
      throw error;
    }
  }

  private async call(method: string, p: Record<string, unknown>, res: ServerResponse): Promise<unknown> {
    switch (method) {
      case 'getme':
        return {
          ...this.bot,
          can_join_groups: true,
          can_read_all_group_messages: false,
          supports_inline_queries: false,
        };
      case 'deletewebhook':
        this.webhook = null;
        if (p.drop_pending_updates === true) this.updates.length = 0;
        return true;
      case 'setwebhook':
        this.webhook = { url: String(p.url), secretToken: typeof p.secret_token === 'string' ? p.secret_token : null };
        void this.deliverToWebhook();
        return true;
      case 'getwebhookinfo':
        return {
          url: this.webhook?.url ?? '',
          has_custom_certificate: false,
          pending_update_count: this.updates.length,
        };
      case 'getupdates':
        return this.getUpdates(p, res);
      case 'setmycommands':
        this.commands = p.commands as BotCommand[];
        return true;
      case 'getchatmember': {
        const status = this.memberStatus.get(`${String(p.chat_id)}:${String(p.user_id)}`) ?? 'member';
        return { status, user: { id: Number(p.user_id), is_bot: false, first_name: `User ${String(p.user_id)}` } };
      }
      case 'sendchataction':
        return true;
      case 'sendmessage':
        return this.recordBotMessage(p, requiredText(p.text, 4096, 'message text'), null);
      case 'sendphoto': {
        const photo = this.resolveInputFile(p.photo);
        const caption = typeof p.caption === 'string' ? p.caption : '';
        if (caption.length > 1024) throw new ApiRefusal(400, 'Bad Request: message caption is too long');
        return this.recordBotMessage(p, caption, photo);
      }
      case 'editmessagetext': {
        const sent = this.botMessages.find(
          (m) => m.chatId === Number(p.chat_id) && m.messageId === Number(p.message_id),
        );
        if (!sent || sent.deleted) throw new ApiRefusal(400, 'Bad Request: message to edit not found');
        const text = requiredText(p.text, 4096, 'message text');
        if (text === sent.text)
          throw new ApiRefusal(
            400,
            'Bad Request: message is not modified: ' +
              'specified new message content and reply markup are exactly the same as a current content and reply markup of the message',
          );
        sent.text = text;
        sent.history.push(text);
        return {
          message_id: sent.messageId,
          date: Math.floor(sent.sentAt / 1000),
          chat: { id: sent.chatId, type: 'private' },
          from: this.bot,
          text,
          edit_date: Math.floor(Date.now() / 1000),
        };
      }
      case 'deletemessage': {
        const sent = this.botMessages.find(
          (m) => m.chatId === Number(p.chat_id) && m.messageId === Number(p.message_id) && !m.deleted,
        );
        if (!sent) throw new ApiRefusal(400, 'Bad Request: message to delete not found');
        sent.deleted = true;
        return true;
      }
      case 'getfile': {
        const file = this.files.get(String(p.file_id));
        if (!file) throw new ApiRefusal(400, 'Bad Request: invalid file_id');
        return {
          file_id: p.file_id,
          file_unique_id: file.uniqueId,
          file_size: file.bytes.length,
          file_path: file.path,
        };
      }
      default:
        throw new ApiRefusal(404, 'Not Found: method not found');
    }
  }

  private recordBotMessage(p: Record<string, unknown>, text: string, photo: Buffer | null): Message {
    const chatId = Number(p.chat_id);
    if (!Number.isFinite(chatId)) throw new ApiRefusal(400, 'Bad Request: chat not found');
    const replyParameters = p.reply_parameters as { message_id?: number } | undefined;
    const sent: BotMessage = {
      chatId,
      messageId: this.nextMessageId++,
      text,
      history: [text],
      photo,
      replyTo:
        replyParameters?.message_id ?? (typeof p.reply_to_message_id === 'number' ? p.reply_to_message_id : null),
      silent: p.disable_notification === true,
      sentAt: Date.now(),
      deleted: false,
    };
    this.botMessages.push(sent);
    const base = {
      message_id: sent.messageId,
      date: Math.floor(sent.sentAt / 1000),
      chat: { id: chatId, type: chatId > 0 ? 'private' : 'supergroup' },
      from: this.bot,
    };
    if (photo) {
      const sizes = this.storePhoto(photo);
      return { ...base, photo: sizes, ...(text ? { caption: text } : {}) } as Message;
    }
    return { ...base, text } as Message;
  }

  private resolveInputFile(value: unknown): Buffer {
    if (Buffer.isBuffer(value)) return value;
    const stored = typeof value === 'string' ? this.files.get(value) : undefined;
    if (stored) return stored.bytes;
    throw new ApiRefusal(400, 'Bad Request: wrong file identifier/HTTP URL specified');
  }

  private async getUpdates(p: Record<string, unknown>, res: ServerResponse): Promise<Update[]> {
    if (this.webhook)
      throw new ApiRefusal(
        409,
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
      );
    const offset = Number(p.offset ?? 0);
    const limit = Math.min(100, Number(p.limit ?? 100)) || 100;
    const timeoutSeconds = Number(p.timeout ?? 0);
    // Asking from an offset confirms every update before it.
    if (offset > 0) while (this.updates.length > 0 && this.updates[0].update_id < offset) this.updates.shift();
    if (this.updates.length === 0 && timeoutSeconds > 0) {
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.updateWaiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, timeoutSeconds * 1000);
        this.updateWaiters.add(wake);
        // The client gave up (grammY aborts its poll on stop).
        res.once('close', wake);
      });
    }
    return this.updates.slice(0, limit);
  }

  private async deliverToWebhook(): Promise<void> {
    if (this.delivering) return;
    this.delivering = true;
    try {
      while (this.webhook && this.updates.length > 0) {
        const update = this.updates[0];
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (this.webhook.secretToken) headers['x-telegram-bot-api-secret-token'] = this.webhook.secretToken;
        const ok = await fetch(this.webhook.url, { method: 'POST', headers, body: JSON.stringify(update) })
          .then((r) => r.ok)
          .catch(() => false);
        if (ok) this.updates.shift();
        else await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      this.delivering = false;
    }
  }

  private download(token: string, filePath: string, res: ServerResponse): void {
    const file = token === this.token ? [...this.files.values()].find((f) => f.path === filePath) : undefined;
    if (!file) return sendJson(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': file.bytes.length });
    res.end(file.bytes);
  }
}

class ApiRefusal extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

function requiredText(value: unknown, max: number, what: string): string {
  const text = typeof value === 'string' ? value : '';
  if (text.trim() === '') throw new ApiRefusal(400, `Bad Request: ${what} is empty`);
  if (text.length > max) throw new ApiRefusal(400, 'Bad Request: message is too long');
  return text;
}
