import type { Message } from 'grammy/types';
import { describe, expect, it, vi } from 'vitest';
import { AlbumGatherer, RecentAlbums } from './albums.ts';

const chat = { id: 1, type: 'private', first_name: 'A' } as const;
const part = (id: number, group?: string, chatId = 1) =>
  ({ message_id: id, date: 0, chat: { ...chat, id: chatId }, media_group_id: group }) as Message;

describe('AlbumGatherer', () => {
  it('hands over an album once it has been quiet, in message order, and single messages at once', () => {
    vi.useFakeTimers();
    try {
      const albums: number[][] = [];
      const gatherer = new AlbumGatherer((messages) => albums.push(messages.map((m) => m.message_id)), 500);
      gatherer.add(part(1));
      gatherer.add(part(3, 'g'));
      vi.advanceTimersByTime(400);
      gatherer.add(part(2, 'g'));
      gatherer.add(part(4, 'h', 2));
      vi.advanceTimersByTime(400);
      expect(albums).toEqual([[1]]);
      expect(gatherer.pending).toBe(2);
      vi.advanceTimersByTime(100);
      expect(albums).toEqual([[1], [2, 3], [4]]);
      gatherer.add(part(5, 'k'));
      gatherer.flush();
      expect(albums.at(-1)).toEqual([5]);
      expect(gatherer.pending).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('RecentAlbums', () => {
  it('returns the whole album of a replied part, and forgets the oldest albums first', () => {
    const recent = new RecentAlbums(2);
    [part(1, 'a'), part(2, 'a'), part(3, 'b'), part(4, 'c')].forEach((m) => recent.remember(m));
    expect(recent.withAlbum(part(2, 'a')).map((m) => m.message_id)).toEqual([2]);
    expect(recent.withAlbum(part(3, 'b')).map((m) => m.message_id)).toEqual([3]);
    expect(recent.withAlbum(part(9)).map((m) => m.message_id)).toEqual([9]);
    recent.remember(part(5, 'c'));
    expect(recent.withAlbum(part(5, 'c')).map((m) => m.message_id)).toEqual([4, 5]);
  });
});
