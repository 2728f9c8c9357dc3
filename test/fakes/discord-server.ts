// A fake Discord on 127.0.0.1: the REST API (gateway discovery, command
// registration, interaction callbacks, webhook edits of the original
// response and follow-ups, channel messages and their edits, DM channels, a
// CDN for attachments) and the gateway over
// WebSocket (hello, identify, ready, heartbeat ack, dispatches). The real
// discord.js client runs against it through its REST `api` option; the
// gateway URL is whatever GET /gateway/bot answers. Tests dispatch
// interactions as users would trigger them and read back what the bot did.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { listenOnLoopback, parseMultipart, readBody, sendJson, waitUntil, type LoopbackServer } from './http.ts';

export interface FakeDiscordUser {
  id: string;
  username: string;
}

export interface FakeAttachmentInput {
  bytes: Uint8Array;
  filename: string;
  contentType: string;
}

/** A message the bot wrote through an interaction's webhook. */
export interface FakeWebhookMessage {
  id: string;
  content: string;
  /** Every content the message had, first to last. */
  history: string[];
  files: Array<{ name: string; bytes: Buffer }>;
}

/** A message the bot posted in a channel with its own token (not through an interaction). */
export interface FakeChannelMessage extends FakeWebhookMessage {
  channelId: string;
  sentAt: number;
}

/** One interaction and everything the bot did with it. */
export interface FakeInteraction {
  id: string;
  token: string;
  dispatchedAt: number;
  /** Interaction callback types in order (5 = deferred channel message). */
  callbacks: Array<{ type: number; at: number }>;
  original: FakeWebhookMessage | null;
  followups: FakeWebhookMessage[];
  /** The shard whose gateway connection received it. */
  shard?: number;
}

export interface DispatchCommon {
  user: FakeDiscordUser;
  /** In a server when set; a DM with the bot otherwise. */
  guildId?: string;
  /** The member's permission bits in the channel (servers only). Default: none. */
  permissions?: bigint;
}

export interface SlashCommandInput extends DispatchCommon {
  name: string;
  options?: Array<
    | { name: string; type: 'string'; value: string }
    | { name: string; type: 'integer'; value: number }
    | { name: string; type: 'attachment'; file: FakeAttachmentInput }
  >;
}

export interface MessageCommandInput extends DispatchCommon {
  name: string;
  /** The attachments of the message the command was used on. */
  target: FakeAttachmentInput[];
}

/** Discord answers an interaction callback later than this with "Unknown interaction". */
export const INTERACTION_DEADLINE_MS = 3_000;

export class FakeDiscordServer {
  readonly interactions = new Map<string, FakeInteraction>();
  /** Registered commands: key 'global' or the guild id. */
  readonly commands = new Map<string, Array<Record<string, unknown>>>();
  readonly requests: Array<{ method: string; path: string; status: number; at: number }> = [];
  /** Messages the bot posted in channels, oldest first. */
  readonly channelMessages: FakeChannelMessage[] = [];
  /** DM channels the bot opened: user id -> channel id. */
  readonly dmChannels = new Map<string, string>();
  identified = 0;
  /** The [shard id, shard count] of every identify, in order (a client without sharding sends [0, 1]). */
  readonly identifiedShards: Array<[number, number]> = [];
  /** What GET /gateway/bot recommends as `shards`. */
  recommendedShards = 1;
  heartbeats = 0;

  private readonly sockets = new Set<WebSocket>();
  private readonly files = new Map<string, { bytes: Buffer; contentType: string }>();
  private readonly failures: Array<{ method: string; pattern: RegExp; retryAfter: number }> = [];
  private sequence = 0;
  private nextSnowflake = 1_100_000_000_000_000_000n;

  private constructor(
    private readonly http: LoopbackServer,
    private readonly gateway: WebSocketServer,
    readonly token: string,
    readonly applicationId: string,
    readonly botUser: FakeDiscordUser,
  ) {}

  static async start(options: { token?: string; applicationId?: string } = {}): Promise<FakeDiscordServer> {
    const token = options.token ?? 'fake-discord-bot-token.abcdef.1234567890';
    const applicationId = options.applicationId ?? '900000000000000001';
    let fake: FakeDiscordServer | null = null;
    const http = await listenOnLoopback((req, res) => fake!.route(req, res));
    const gateway = new WebSocketServer({ server: http.server, path: '/gateway' });
    fake = new FakeDiscordServer(http, gateway, token, applicationId, { id: applicationId, username: 'MyVLM' });
    gateway.on('connection', (socket) => fake.onConnection(socket));
    return fake;
  }

  /** The value for discord.js's REST `api` option (and DISCORD_API_URL). */
  get apiUrl(): string {
    return `${this.http.origin}/api`;
  }

  get gatewayUrl(): string {
    return `ws://127.0.0.1:${this.http.port}/gateway`;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.terminate();
    await new Promise<void>((resolve) => this.gateway.close(() => resolve()));
    await this.http.close();
  }

  // ---- test-facing API -------------------------------------------------

  /** The next request matching method and path answers 429 with `retry_after` seconds, once. */
  failNextWith429(method: string, pathPattern: RegExp, retryAfterSeconds: number): void {
    this.failures.push({ method: method.toUpperCase(), pattern: pathPattern, retryAfter: retryAfterSeconds });
  }

  /** A user runs a slash command; returns the interaction to watch. */
  dispatchSlashCommand(input: SlashCommandInput): FakeInteraction {
    const resolved: Record<string, unknown> = {};
    const options = (input.options ?? []).map((option) => {
      if (option.type === 'string') return { name: option.name, type: 3, value: option.value };
      if (option.type === 'integer') return { name: option.name, type: 4, value: option.value };
      const attachment = this.storeAttachment(option.file);
      resolved[attachment.id] = attachment;
      return { name: option.name, type: 11, value: attachment.id };
    });
    return this.dispatchInteraction(input, {
      id: this.snowflake(),
      name: input.name,
      type: 1,
      options,
      ...(Object.keys(resolved).length > 0 ? { resolved: { attachments: resolved } } : {}),
    });
  }

  /** A user picks a message command ("Describe with my concepts") on a message with attachments. */
  dispatchMessageCommand(input: MessageCommandInput): FakeInteraction {
    const channelId = this.channelFor(input);
    const messageId = this.snowflake();
    const author = { id: '42', username: 'someone', discriminator: '0', global_name: null, avatar: null };
    const message = {
      id: messageId,
      channel_id: channelId,
      author,
      content: '',
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      tts: false,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      attachments: input.target.map((file) => this.storeAttachment(file)),
      embeds: [],
      pinned: false,
      type: 0,
      flags: 0,
      components: [],
    };
    return this.dispatchInteraction(input, {
      id: this.snowflake(),
      name: input.name,
      type: 3,
      target_id: messageId,
      resolved: { messages: { [messageId]: message } },
    });
  }

  /** Waits until the bot has finished with `interaction` as `done` says. */
  waitFor<T>(probe: () => T | undefined, what: string, timeoutMs = 15_000): Promise<T> {
    return waitUntil(probe, what, timeoutMs);
  }

  requestsTo(method: string, pathPattern: RegExp): Array<{ method: string; path: string; status: number; at: number }> {
    return this.requests.filter((r) => r.method === method.toUpperCase() && pathPattern.test(r.path));
  }

  // ---- gateway ---------------------------------------------------------

  private onConnection(socket: WebSocket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.send(JSON.stringify({ op: 10, d: { heartbeat_interval: 41_250 }, s: null, t: null }));
    socket.on('message', (raw) => {
      const text = (Array.isArray(raw) ? Buffer.concat(raw) : Buffer.isBuffer(raw) ? raw : Buffer.from(raw)).toString(
        'utf8',
      );
      const payload = JSON.parse(text) as { op: number; d: Record<string, unknown> };
      if (payload.op === 1) {
        this.heartbeats++;
        socket.send(JSON.stringify({ op: 11, d: null, s: null, t: null }));
      } else if (payload.op === 2) {
        if (payload.d.token !== this.token) return socket.close(4004, 'Authentication failed.');
        this.identified++;
        const shard = (payload.d.shard as [number, number] | undefined) ?? [0, 1];
        this.identifiedShards.push(shard);
        (socket as WebSocket & { ready?: boolean; shard?: [number, number] }).ready = true;
        (socket as WebSocket & { shard?: [number, number] }).shard = shard;
        this.send(socket, 'READY', {
          v: 10,
          user: { ...this.botUser, discriminator: '0', global_name: null, avatar: null, bot: true, flags: 0 },
          guilds: [],
          session_id: randomUUID(),
          resume_gateway_url: this.gatewayUrl,
          shard,
          application: { id: this.applicationId, flags: 0 },
        });
      } else if (payload.op === 6) {
        // Resuming is not kept: ask for a fresh identify, as Discord does for an expired session.
        socket.send(JSON.stringify({ op: 9, d: false, s: null, t: null }));
      }
    });
  }

  private send(socket: WebSocket, event: string, data: unknown): void {
    socket.send(JSON.stringify({ op: 0, t: event, s: ++this.sequence, d: data }));
  }

  private dispatchInteraction(input: DispatchCommon, data: Record<string, unknown>): FakeInteraction {
    const ready = [...this.sockets].filter((s) => (s as WebSocket & { ready?: boolean }).ready);
    if (ready.length === 0) throw new Error('no bot is connected to the fake gateway');
    const interaction: FakeInteraction = {
      id: this.snowflake(),
      token: `itoken-${randomUUID()}`,
      dispatchedAt: Date.now(),
      callbacks: [],
      original: null,
      followups: [],
    };
    this.interactions.set(interaction.token, interaction);
    const user = {
      id: input.user.id,
      username: input.user.username,
      discriminator: '0',
      global_name: input.user.username,
      avatar: null,
    };
    const channelId = this.channelFor(input);
    const place = input.guildId
      ? {
          guild_id: input.guildId,
          channel: { id: channelId, type: 0, guild_id: input.guildId, name: 'general' },
          member: {
            user,
            roles: [],
            joined_at: new Date(0).toISOString(),
            deaf: false,
            mute: false,
            flags: 0,
            permissions: String(input.permissions ?? 0n),
          },
          context: 0,
          authorizing_integration_owners: { 0: input.guildId },
        }
      : {
          user,
          channel: { id: channelId, type: 1, recipients: [user] },
          context: 1,
          authorizing_integration_owners: { 0: '0' },
        };
    // As Discord does: a server's events go to shard (guild_id >> 22) % shard count, DMs to shard 0.
    const shardOf = (socket: WebSocket) => (socket as WebSocket & { shard?: [number, number] }).shard ?? [0, 1];
    const target =
      ready.find((socket) => {
        const [id, count] = shardOf(socket);
        return id === (input.guildId ? Number((BigInt(input.guildId) >> 22n) % BigInt(count)) : 0);
      }) ?? ready[0];
    interaction.shard = shardOf(target)[0];
    this.send(target, 'INTERACTION_CREATE', {
      id: interaction.id,
      application_id: this.applicationId,
      type: 2,
      data,
      channel_id: channelId,
      token: interaction.token,
      version: 1,
      app_permissions: '2248473465835073',
      locale: 'en-US',
      entitlements: [],
      ...place,
    });
    return interaction;
  }

  /** The channel an interaction of `input` happens in: the server's "general", or the user's DM channel. */
  channelFor(input: DispatchCommon): string {
    return input.guildId ? `${input.guildId}1` : `7${input.user.id}`;
  }

  // ---- REST ------------------------------------------------------------

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.http.origin);
    const method = (req.method ?? 'GET').toUpperCase();
    const body = await readBody(req);
    const answer = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      this.requests.push({ method, path: decodeURIComponent(url.pathname), status, at: Date.now() });
      if (status === 204) {
        res.writeHead(204, headers).end();
        return;
      }
      sendJson(res, status, payload, headers);
    };
    const cdn = /^\/cdn\/attachments\/(\d+)\//.exec(url.pathname);
    if (cdn && method === 'GET') {
      const file = this.files.get(cdn[1]);
      if (!file) return answer(404, { message: 'Not Found' });
      this.requests.push({ method, path: url.pathname, status: 200, at: Date.now() });
      res.writeHead(200, { 'content-type': file.contentType, 'content-length': file.bytes.length });
      res.end(file.bytes);
      return;
    }
    const path = decodeURIComponent(url.pathname).replace(/^\/api(\/v\d+)?/, '');
    const failure = this.failures.findIndex((f) => f.method === method && f.pattern.test(path));
    if (failure !== -1) {
      const { retryAfter } = this.failures.splice(failure, 1)[0];
      return answer(
        429,
        { message: 'You are being rate limited.', retry_after: retryAfter, global: false },
        {
          'retry-after': String(retryAfter),
          'x-ratelimit-scope': 'user',
          'x-ratelimit-limit': '5',
          'x-ratelimit-remaining': '0',
          'x-ratelimit-reset-after': String(retryAfter),
          'x-ratelimit-bucket': 'fake-bucket',
        },
      );
    }
    const webhookRoute = /^\/(interactions|webhooks)\//.test(path);
    if (!webhookRoute && req.headers.authorization !== `Bot ${this.token}`)
      return answer(401, { message: '401: Unauthorized', code: 0 });
    try {
      const [status, payload] = this.rest(method, path, url, body, req.headers['content-type'] ?? '');
      answer(status, payload);
    } catch (error) {
      answer(400, { message: 'Invalid Form Body', code: 50035, errors: String(error) });
    }
  }

  private rest(method: string, path: string, url: URL, body: Buffer, contentType: string): [number, unknown] {
    let match: RegExpExecArray | null;
    if (method === 'GET' && path === '/gateway/bot') {
      return [
        200,
        {
          url: this.gatewayUrl,
          shards: this.recommendedShards,
          session_start_limit: { total: 1000, remaining: 999, reset_after: 14_400_000, max_concurrency: 1 },
        },
      ];
    }
    if (method === 'GET' && path === '/gateway') return [200, { url: this.gatewayUrl }];
    if (method === 'POST' && path === '/users/@me/channels') {
      const { recipient_id } = JSON.parse(body.toString('utf8')) as { recipient_id?: string | number };
      const recipient = String(recipient_id ?? '');
      if (!/^\d+$/.test(recipient)) return [400, { message: 'Invalid Form Body', code: 50035 }];
      const channelId = this.channelFor({ user: { id: recipient, username: `user${recipient}` } });
      this.dmChannels.set(recipient, channelId);
      const user = { id: recipient, username: `user${recipient}`, discriminator: '0', global_name: null, avatar: null };
      return [200, { id: channelId, type: 1, last_message_id: null, recipients: [user] }];
    }
    if ((match = /^\/channels\/(\d+)\/messages(?:\/(\d+))?$/.exec(path))) {
      const [, channelId, messageId] = match;
      if (method === 'POST' && !messageId) {
        const { json, files } = readMessageBody(body, contentType);
        const posted: FakeChannelMessage = { ...this.message(json, files, null), channelId, sentAt: Date.now() };
        this.channelMessages.push(posted);
        return [200, this.channelApiMessage(posted)];
      }
      const target = this.channelMessages.find((m) => m.channelId === channelId && m.id === messageId);
      if (!target) return [404, { message: 'Unknown Message', code: 10008 }];
      if (method === 'PATCH') {
        const { json, files } = readMessageBody(body, contentType);
        this.message(json, files, target);
        return [200, { ...this.channelApiMessage(target), edited_timestamp: new Date().toISOString() }];
      }
    }
    if ((match = /^\/applications\/(\d+)(?:\/guilds\/(\d+))?\/commands$/.exec(path))) {
      if (match[1] !== this.applicationId) return [403, { message: 'Missing Access', code: 50001 }];
      const key = match[2] ?? 'global';
      if (method === 'GET') return [200, this.commands.get(key) ?? []];
      if (method === 'PUT') {
        const list = (JSON.parse(body.toString('utf8')) as Array<Record<string, unknown>>).map((c) => ({
          ...c,
          id: this.snowflake(),
          application_id: this.applicationId,
          version: this.snowflake(),
        }));
        this.commands.set(key, list);
        return [200, list];
      }
    }
    if (method === 'POST' && (match = /^\/interactions\/(\d+)\/([^/]+)\/callback$/.exec(path))) {
      const interaction = this.interactions.get(match[2]);
      if (
        !interaction ||
        interaction.id !== match[1] ||
        Date.now() - interaction.dispatchedAt > INTERACTION_DEADLINE_MS
      )
        return [404, { message: 'Unknown interaction', code: 10062 }];
      if (interaction.callbacks.length > 0)
        return [400, { message: 'Interaction has already been acknowledged.', code: 40060 }];
      const { json, files } = readMessageBody(body, contentType);
      interaction.callbacks.push({ type: Number(json.type), at: Date.now() });
      if (json.type === 4) interaction.original = this.message(json.data as Record<string, unknown>, files, null);
      else interaction.original = { id: this.snowflake(), content: '', history: [], files: [] };
      if (url.searchParams.get('with_response') === 'true') {
        return [
          200,
          {
            interaction: { id: interaction.id, type: 2, response_message_loading: json.type === 5 },
            resource: { type: json.type, message: this.apiMessage(interaction.original) },
          },
        ];
      }
      return [204, null];
    }
    if ((match = /^\/webhooks\/(\d+)\/([^/]+)(?:\/messages\/([^/]+))?$/.exec(path))) {
      const interaction = this.interactions.get(match[2]);
      if (!interaction || match[1] !== this.applicationId) return [404, { message: 'Unknown Webhook', code: 10015 }];
      const messageId = match[3];
      if (method === 'POST' && !messageId) {
        const { json, files } = readMessageBody(body, contentType);
        const followup = this.message(json, files, null);
        interaction.followups.push(followup);
        return [200, this.apiMessage(followup)];
      }
      const target =
        messageId === '@original' ? interaction.original : interaction.followups.find((f) => f.id === messageId);
      if (!target) return [404, { message: 'Unknown Message', code: 10008 }];
      if (method === 'GET') return [200, this.apiMessage(target)];
      if (method === 'PATCH') {
        const { json, files } = readMessageBody(body, contentType);
        this.message(json, files, target);
        return [200, this.apiMessage(target)];
      }
    }
    return [404, { message: '404: Not Found', code: 0 }];
  }

  /** Applies a message body (content, attachments) to a new or existing webhook message. */
  private message(
    json: Record<string, unknown>,
    files: Map<number, { name: string; bytes: Buffer }>,
    existing: FakeWebhookMessage | null,
  ): FakeWebhookMessage {
    const message = existing ?? { id: this.snowflake(), content: '', history: [], files: [] };
    if (typeof json.content === 'string') {
      if (json.content.length > 2000) throw new Error('content: Must be 2000 or fewer in length.');
      message.content = json.content;
      message.history.push(json.content);
    }
    const attachments = json.attachments as Array<{ id: number | string; filename?: string }> | undefined;
    if (attachments)
      message.files = attachments.map(
        (a) => files.get(Number(a.id)) ?? { name: a.filename ?? 'file', bytes: Buffer.alloc(0) },
      );
    else if (files.size > 0) message.files = [...files.values()];
    return message;
  }

  private apiMessage(message: FakeWebhookMessage): Record<string, unknown> {
    return {
      id: message.id,
      type: 0,
      channel_id: '1',
      content: message.content,
      author: {
        id: this.applicationId,
        username: this.botUser.username,
        discriminator: '0',
        global_name: null,
        avatar: null,
        bot: true,
      },
      attachments: message.files.map((f, i) => ({
        id: `${message.id}${i}`,
        filename: f.name,
        size: f.bytes.length,
        url: `${this.http.origin}/cdn/none/${f.name}`,
        proxy_url: '',
      })),
      embeds: [],
      mentions: [],
      mention_roles: [],
      mention_everyone: false,
      pinned: false,
      tts: false,
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      flags: 0,
      components: [],
      webhook_id: this.applicationId,
      application_id: this.applicationId,
    };
  }

  /** A channel message as the API returns it: in its channel, written by the bot user, not by a webhook. */
  private channelApiMessage(message: FakeChannelMessage): Record<string, unknown> {
    const { webhook_id: _webhook, application_id: _application, ...rest } = this.apiMessage(message);
    return { ...rest, channel_id: message.channelId };
  }

  private storeAttachment(file: FakeAttachmentInput): { id: string } & Record<string, unknown> {
    const id = this.snowflake();
    this.files.set(id, { bytes: Buffer.from(file.bytes), contentType: file.contentType });
    const url = `${this.http.origin}/cdn/attachments/${id}/${encodeURIComponent(file.filename)}`;
    return {
      id,
      filename: file.filename,
      size: file.bytes.length,
      url,
      proxy_url: url,
      content_type: file.contentType,
    };
  }

  private snowflake(): string {
    return String(this.nextSnowflake++);
  }
}

/** A JSON body, or multipart with `payload_json` and `files[n]` parts, as discord.js sends them. */
function readMessageBody(
  body: Buffer,
  contentType: string,
): { json: Record<string, unknown>; files: Map<number, { name: string; bytes: Buffer }> } {
  const files = new Map<number, { name: string; bytes: Buffer }>();
  if (body.length === 0) return { json: {}, files };
  if (!contentType.includes('multipart/form-data'))
    return { json: JSON.parse(body.toString('utf8')) as Record<string, unknown>, files };
  let json: Record<string, unknown> = {};
  for (const part of parseMultipart(body, contentType)) {
    if (part.name === 'payload_json') json = JSON.parse(part.data.toString('utf8')) as Record<string, unknown>;
    const index = /^files\[(\d+)\]$/.exec(part.name);
    if (index) files.set(Number(index[1]), { name: part.filename ?? `file${index[1]}`, bytes: part.data });
  }
  return { json, files };
}
