// Conformance driver for Telegram: the real grammY bot against the fake Bot
// API. Places are a private chat and two supergroups; photos go as an album
// with the command as caption (a file that is not an image goes as a
// document, as Telegram would only accept it that way).
import type { Chat, Message, User } from 'grammy/types';
import { startTelegram, type TelegramHandle } from '../../../adapters/telegram/telegram.ts';
import type { ConversationCore } from '../../../src/assistant/turn.ts';
import { FakeTelegramServer } from '../../fakes/telegram-server.ts';
import {
  actionPhotos,
  actionText,
  type Action,
  type Answer,
  type ChatDriver,
  type Person,
  type Place,
} from '../driver.ts';

const people: Record<Person, User> = {
  owner: { id: 11, is_bot: false, first_name: 'Olivia' },
  member: { id: 12, is_bot: false, first_name: 'Max' },
  admin: { id: 13, is_bot: false, first_name: 'Ada' },
};

const groups: Record<Exclude<Place, 'private'>, Chat> = {
  groupA: { id: -1001001, type: 'supergroup', title: 'Family' },
  groupB: { id: -1001002, type: 'supergroup', title: 'Friends' },
};

export async function createTelegramDriver(core: ConversationCore): Promise<ChatDriver> {
  const fake = await FakeTelegramServer.start();
  for (const group of Object.values(groups)) fake.setMemberStatus(group.id, people.admin.id, 'administrator');
  const bot: TelegramHandle = await startTelegram({
    core,
    token: fake.token,
    apiRoot: fake.apiRoot,
    albumQuietMs: 150,
    statusIntervalMs: 100,
    statusDelayMs: 50,
    pollingTimeoutSeconds: 5,
  });

  return {
    platform: 'telegram',
    multiUser: true,
    async send(place: Place, person: Person, action: Action): Promise<Answer> {
      const from = people[person];
      const chat: Chat =
        place === 'private' ? { id: from.id, type: 'private', first_name: from.first_name } : groups[place];
      const photos = actionPhotos(action);
      const text = actionText(action);
      const broken = photos.find((p) => p.broken);
      let sent: Message[];
      if (broken)
        sent = fake.sendAsUser({
          chat,
          from,
          text,
          document: { bytes: broken.bytes, fileName: broken.name, mimeType: 'image/jpeg' },
        });
      else sent = fake.sendAsUser({ chat, from, text, photos: photos.map((p) => p.bytes) });
      const lead = sent[0].message_id;
      await fake.waitForBotMessage((m) => m.replyTo === lead && !m.silent, `the answer to ${text}`, 30_000);
      await bot.idle();
      const answers = fake.botMessages.filter((m) => m.replyTo === lead && !m.silent);
      return {
        text: answers.map((m) => m.text).join('\n'),
        images: answers.flatMap((m) => (m.photo ? [new Uint8Array(m.photo)] : [])),
        messages: answers.length,
      };
    },
    async close() {
      await bot.stop();
      await fake.close();
    },
  };
}
