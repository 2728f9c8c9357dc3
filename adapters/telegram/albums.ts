// Telegram delivers an album (a media group) as one message per photo, in
// separate updates, with the caption on only one of them. These two helpers
// put albums back together: one gathers an album that is still arriving into
// a single turn; the other remembers recent albums, so that a reply to one
// photo of an album ("/teach Anna" replying to it) brings the whole album.
import type { Message } from 'grammy/types';

/**
 * How long an album may stay quiet before it counts as complete. Telegram
 * sends the parts within a few hundred milliseconds of each other; waiting a
 * little longer costs one short pause per album and never splits one.
 */
export const ALBUM_QUIET_MS = 800;

/** Gathers the messages of each media group until no new part arrived for `quietMs`. */
export class AlbumGatherer {
  private readonly open = new Map<string, { messages: Message[]; timer: NodeJS.Timeout }>();

  constructor(
    private readonly onAlbum: (messages: Message[]) => void,
    private readonly quietMs: number = ALBUM_QUIET_MS,
  ) {}

  /** Adds one part; the album is handed over once it has been quiet long enough. */
  add(message: Message): void {
    const key = albumKey(message);
    if (key === null) return this.onAlbum([message]);
    const album = this.open.get(key);
    if (album) clearTimeout(album.timer);
    const messages = [...(album?.messages ?? []), message];
    this.open.set(key, { messages, timer: setTimeout(() => this.close(key), this.quietMs) });
  }

  /** Albums still arriving. */
  get pending(): number {
    return this.open.size;
  }

  /** Albums of one chat still arriving. */
  pendingIn(chatId: number): number {
    return [...this.open.keys()].filter((key) => key.startsWith(`${chatId}:`)).length;
  }

  /** Hands over every open album now (at shutdown). */
  flush(): void {
    for (const key of [...this.open.keys()]) this.close(key);
  }

  private close(key: string): void {
    const album = this.open.get(key);
    if (!album) return;
    clearTimeout(album.timer);
    this.open.delete(key);
    this.onAlbum([...album.messages].sort((a, b) => a.message_id - b.message_id));
  }
}

/** Albums kept for replies; old ones are dropped first. */
export const REMEMBERED_ALBUMS = 500;

/** Remembers recent albums per chat, so replying to one part can bring all parts. */
export class RecentAlbums {
  private readonly albums = new Map<string, Message[]>();

  constructor(private readonly capacity: number = REMEMBERED_ALBUMS) {}

  remember(message: Message): void {
    const key = albumKey(message);
    if (key === null) return;
    const parts = this.albums.get(key) ?? [];
    if (!parts.some((m) => m.message_id === message.message_id)) parts.push(message);
    // Re-insert so the most recently used album is the last to be evicted.
    this.albums.delete(key);
    this.albums.set(key, parts);
    while (this.albums.size > this.capacity) this.albums.delete(this.albums.keys().next().value as string);
  }

  /** The replied message with the other parts of its album, in the order they were sent. */
  withAlbum(message: Message): Message[] {
    const key = albumKey(message);
    const parts = key === null ? [] : (this.albums.get(key) ?? []);
    const all = parts.some((m) => m.message_id === message.message_id) ? parts : [...parts, message];
    return [...all].sort((a, b) => a.message_id - b.message_id);
  }
}

/**
 * What a `/teach` from an album says when only one of its photos reached the
 * bot. In a group with privacy mode on (BotFather's default) Telegram gives
 * a bot only messages meant for it: of an album, just the photo that carries
 * the /teach caption. An album always has two parts or more, so one part
 * alone means the others were withheld.
 */
export const MISSING_ALBUM_PHOTOS_NOTE =
  'Only 1 photo of your album reached me: in a group, Telegram shows me just the photo with the caption while my privacy mode is on. ' +
  'To teach me from all of them, send them to me in a private chat, or ask whoever runs me to make me an admin of this group, ' +
  'or to turn my privacy mode off (@BotFather, /setprivacy, Disable) and add me to the group again.';

/** Whether `parts` (one album as it arrived, or a replied photo with its remembered album) lack photos Telegram withheld. */
export function missesAlbumPhotos(parts: readonly Message[]): boolean {
  return parts.length === 1 && albumKey(parts[0]) !== null && parts[0].chat.type !== 'private';
}

function albumKey(message: Message): string | null {
  return message.media_group_id ? `${message.chat.id}:${message.media_group_id}` : null;
}
