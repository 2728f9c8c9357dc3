// Conformance driver for Discord: the real discord.js client against the
// fake Discord. Places are a DM and two servers; actions are slash commands
// with string and attachment options; the answer is the deferred response as
// last edited, plus any follow-ups.
import { PermissionFlagsBits } from 'discord.js';
import { startDiscord, type DiscordHandle } from '../../../adapters/discord/discord.ts';
import type { ConversationCore } from '../../../src/assistant/turn.ts';
import { FakeDiscordServer, type SlashCommandInput } from '../../fakes/discord-server.ts';
import type { Action, Answer, ChatDriver, Person, Photo, Place } from '../driver.ts';

const people: Record<Person, { id: string; username: string; permissions: bigint }> = {
  owner: {
    id: '21',
    username: 'olivia',
    permissions: PermissionFlagsBits.SendMessages | PermissionFlagsBits.UseApplicationCommands,
  },
  member: {
    id: '22',
    username: 'max',
    permissions: PermissionFlagsBits.SendMessages | PermissionFlagsBits.UseApplicationCommands,
  },
  admin: { id: '23', username: 'ada', permissions: PermissionFlagsBits.ManageGuild },
};

const servers: Record<Place, string | undefined> = { private: undefined, groupA: '7001', groupB: '7002' };

type Options = NonNullable<SlashCommandInput['options']>;

function attachment(name: string, photo: Photo): Options[number] {
  return { name, type: 'attachment', file: { bytes: photo.bytes, filename: photo.name, contentType: 'image/jpeg' } };
}

function text(name: string, value: string): Options[number] {
  return { name, type: 'string', value };
}

/** The slash command options a user fills in for the action. */
function optionsOf(action: Action): Options {
  switch (action.command) {
    case 'teach':
      return [
        text('name', action.name),
        ...(action.kind ? [text('kind', action.kind)] : []),
        ...action.photos.map((p, i) => attachment(`photo${i + 1}`, p)),
      ];
    case 'ask':
      return [text('question', action.question), attachment('photo', action.photo)];
    case 'caption':
      return [attachment('photo', action.photo)];
    case 'refer':
      return [text('name', action.name), attachment('photo', action.photo)];
    case 'concepts':
      return [];
    case 'remember':
      return [text('name', action.name), text('fact', action.fact)];
    case 'forget':
      return [text('name', action.name)];
  }
}

export async function createDiscordDriver(core: ConversationCore): Promise<ChatDriver> {
  const fake = await FakeDiscordServer.start();
  const bot: DiscordHandle = await startDiscord({
    core,
    token: fake.token,
    applicationId: fake.applicationId,
    apiUrl: fake.apiUrl,
    progressIntervalMs: 100,
  });

  return {
    platform: 'discord',
    multiUser: true,
    async send(place: Place, person: Person, action: Action): Promise<Answer> {
      const { permissions, ...user } = people[person];
      const guildId = servers[place];
      const interaction = fake.dispatchSlashCommand({
        user,
        ...(guildId ? { guildId, permissions } : {}),
        name: action.command,
        options: optionsOf(action),
      });
      await fake.waitFor(
        () => (interaction.callbacks.length > 0 ? true : undefined),
        `the deferral of /${action.command}`,
      );
      await bot.idle();
      const messages = [interaction.original, ...interaction.followups].filter((m) => m !== null);
      return {
        text: messages.map((m) => m.content).join('\n'),
        images: messages.flatMap((m) => m.files.map((f) => new Uint8Array(f.bytes))),
        messages: messages.length,
      };
    },
    async close() {
      await bot.stop();
      await fake.close();
    },
  };
}
