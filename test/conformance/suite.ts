// The adapter conformance suite, written once and run against every adapter
// (terminal, Telegram, Discord) with the real conversation core, the real
// SQLite store and the small real face models on real photos. It tells one
// story in order: teach, use, refuse, isolate, forget.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedPhoto } from '../support/paths.ts';
import { testAssistant } from '../support/assistant.ts';
import type { Answer, ChatDriver, DriverFactory, Photo } from './driver.ts';

function photo(file: string): Photo {
  return { name: file, bytes: new Uint8Array(readFileSync(sharedPhoto('ageitgey', file))) };
}

const JPEG_SIGNATURE = [0xff, 0xd8, 0xff];

/** Why a driver without several people skips the permission tests. */
const SINGLE_USER = 'this chat has one user (the terminal); permissions between members need a group chat';

/** Registers the conformance suite for one adapter. */
export function describeConformance(platform: string, createDriver: DriverFactory): void {
  describe(`adapter conformance: ${platform}`, () => {
    let runtime: Awaited<ReturnType<typeof testAssistant>>;
    let driver: ChatDriver;
    const obamaPhotos = ['obama.jpg', 'obama2.jpg', 'obama3.jpg', 'obama_small.jpg'].map(photo);
    const twoPeople = photo('two_people.jpg');
    const brokenPhoto: Photo = {
      name: 'notes.jpg',
      bytes: new TextEncoder().encode('a text file, renamed to .jpg\n'),
      broken: true,
    };

    beforeAll(async () => {
      runtime = await testAssistant();
      driver = await createDriver(runtime.assistant);
    });
    afterAll(async () => {
      await driver?.close();
      await runtime?.close();
    });

    it('teaches a person from 4 photos in one turn', async () => {
      const answer = await driver.send('groupA', 'owner', { command: 'teach', name: 'Obama', photos: obamaPhotos });
      expect(answer.text).toMatch(/^Nice to meet Obama! I learned their face from 4 photo\(s\)\./);
      expect(answer.messages).toBe(1);
    });

    it('answers a question about a photo by name', async () => {
      const answer = await driver.send('groupA', driver.multiUser ? 'member' : 'owner', {
        command: 'ask',
        question: 'who is on the left?',
        photo: twoPeople,
      });
      expect(answer.text).toMatch(/I see Obama \(left\)\. There is 1 other person I don't know\./);
    });

    it('captions a photo, naming who it knows', async () => {
      const answer = await driver.send('groupA', 'owner', {
        command: 'caption',
        photo: photo('test__obama_and_biden.jpg'),
      });
      expect(answer.text).toMatch(/^I see Obama \((left|centre|right)\)/);
    });

    it('marks where someone is with a box drawn on the photo', async () => {
      const answer = await driver.send('groupA', 'owner', { command: 'refer', name: 'Obama', photo: twoPeople });
      expect(answer.text).toMatch(/^Obama is here \(on the left\), marked on the photo\./);
      expect(answer.images).toHaveLength(1);
      // A JPEG every messenger takes: the photo shown at most 2048 px on its long side, not a full-size PNG.
      expect([...answer.images[0].subarray(0, 3)]).toEqual(JPEG_SIGNATURE);
      expect(answer.images[0].byteLength).toBeLessThan(2 * 1024 * 1024);
    });

    it('remembers facts and lists what it knows here', async () => {
      const remembered = await driver.send('groupA', 'owner', {
        command: 'remember',
        name: 'Obama',
        fact: 'likes basketball',
      });
      expect(remembered.text).toBe("I'll remember that about Obama.");
      const listed = await driver.send('groupA', 'owner', { command: 'concepts' });
      expect(listed.text).toBe('I know 1 here:\n• Obama (person, 4 photos; likes basketball)');
    });

    it('explains a file that is not a photo', async () => {
      const answer = await driver.send('groupA', 'owner', { command: 'teach', name: 'Notes', photos: [brokenPhoto] });
      expect(answer.text).toMatch(
        /^I could not use any of the photos:\nphoto 1 \(notes\.jpg\): That does not look like a photo/,
      );
      expect((await driver.send('groupA', 'owner', { command: 'concepts' })).text).not.toMatch(/Notes/);
    });

    it('refuses politely when a member who did not teach someone asks to forget them', async (context) => {
      if (!driver.multiUser) return context.skip(SINGLE_USER);
      const answer = await driver.send('groupA', 'member', { command: 'forget', name: 'Obama' });
      expect(answer.text).toBe(
        'Sorry, only the person who taught me Obama (or an admin here) can make me forget Obama.',
      );
      expect((await driver.send('groupA', 'member', { command: 'concepts' })).text).toMatch(/• Obama \(person/);
    });

    it('keeps every group to itself: never recognized, listed or forgettable elsewhere', async () => {
      const taughtElsewhere = await driver.send('groupB', 'owner', {
        command: 'teach',
        name: 'Biden',
        photos: [photo('biden.jpg')],
      });
      expect(taughtElsewhere.text).toMatch(/^Nice to meet Biden!/);
      // two_people.jpg shows Obama (left) and Biden (right).
      const expectedSight = {
        groupB: /^I see Biden \(right\)\. There is 1 other person I don't know\./,
        private: /^I see 2 people I don't know\./,
      };
      for (const place of ['groupB', 'private'] as const) {
        const listed = await driver.send(place, 'owner', { command: 'concepts' });
        expect(listed.text).not.toMatch(/Obama/);
        const seen = await driver.send(place, 'owner', { command: 'caption', photo: twoPeople });
        expect(seen.text).not.toMatch(/Obama/);
        expect(seen.text).toMatch(expectedSight[place]);
        const forgotten = await driver.send(place, 'owner', { command: 'forget', name: 'Obama' });
        expect(forgotten.text).toBe("I don't know anyone or anything called Obama here. /concepts lists who I know.");
      }
      expect((await driver.send('groupA', 'owner', { command: 'concepts' })).text).not.toMatch(/Biden/);
    });

    it('lets a group administrator forget any concept of the group', async (context) => {
      if (!driver.multiUser) return context.skip(SINGLE_USER);
      await driver.send('groupA', 'owner', {
        command: 'teach',
        name: 'Kit',
        photos: [photo('kit_harington__john1.jpeg')],
      });
      const answer = await driver.send('groupA', 'admin', { command: 'forget', name: 'Kit' });
      expect(answer.text).toMatch(/^Done: I forgot Kit, with 1 photo/);
    });

    it('forgets someone for good when their owner asks', async () => {
      const answer: Answer = await driver.send('groupA', 'owner', { command: 'forget', name: 'Obama' });
      expect(answer.text).toBe('Done: I forgot Obama, with 4 photos and everything I learned from them.');
      const listed = await driver.send('groupA', 'owner', { command: 'concepts' });
      expect(listed.text).toMatch(/^I don't know anyone or anything here yet/);
      const seen = await driver.send('groupA', 'owner', { command: 'caption', photo: twoPeople });
      expect(seen.text).not.toMatch(/Obama/);
    });
  });
}
