// The Discord commands: one slash command per core command, with attachment
// options for photos, and the message command "Describe with my concepts".
// Registration is a separate step (Discord keeps commands between runs):
// `registerDiscordCommands`, wired to `npx myvlm discord register`.
import {
  ApplicationCommandType,
  ApplicationIntegrationType,
  ContextMenuCommandBuilder,
  InteractionContextType,
  REST,
  Routes,
  SlashCommandBuilder,
  type RESTPutAPIApplicationCommandsJSONBody,
} from 'discord.js';
import { TEACH_NAMES_MAX_LENGTH } from '../../src/assistant/names.ts';
import { COMMANDS, type CommandName } from '../../src/assistant/turn.ts';
import { ConfigError } from '../../src/errors.ts';
import type { Settings } from '../../src/config/settings.ts';
import { explainDiscordFailure, restOptions } from './connection.ts';

/** The message command: describe the photos of any message, naming known people and things. */
export const DESCRIBE_MESSAGE_COMMAND = 'Describe with my concepts';

/** Photos a /teach may carry, as the core accepts at most four teaching photos per turn. */
export const TEACH_PHOTO_OPTIONS = ['photo1', 'photo2', 'photo3', 'photo4'] as const;

function help(name: CommandName): string {
  return COMMANDS.find((c) => c.name === name)?.help ?? name;
}

function slash(name: CommandName): SlashCommandBuilder {
  return new SlashCommandBuilder()
    .setName(name)
    .setDescription(help(name))
    .setContexts(InteractionContextType.Guild, InteractionContextType.BotDM)
    .setIntegrationTypes(ApplicationIntegrationType.GuildInstall);
}

/** Every command as the JSON Discord's bulk-overwrite endpoint takes. */
export function discordCommands(): RESTPutAPIApplicationCommandsJSONBody {
  const teach = slash('teach')
    .addStringOption((o) =>
      o
        .setName('name')
        .setDescription('Who or what this is, e.g. Anna; for a group photo, names left to right: Anna, Bob, Carol')
        .setRequired(true)
        .setMaxLength(TEACH_NAMES_MAX_LENGTH),
    )
    .addAttachmentOption((o) => o.setName('photo1').setDescription('A photo of them').setRequired(true))
    .addStringOption((o) =>
      o
        .setName('kind')
        .setDescription('A person (recognized by face) or an object or pet')
        .addChoices({ name: 'person', value: 'person' }, { name: 'object or pet', value: 'object' }),
    );
  for (const photo of TEACH_PHOTO_OPTIONS.slice(1))
    teach.addAttachmentOption((o) => o.setName(photo).setDescription('Another photo of them'));

  const notIt = slash('notit')
    .addStringOption((o) =>
      o.setName('name').setDescription('The thing these photos are NOT, e.g. Rex').setRequired(true).setMaxLength(40),
    )
    .addAttachmentOption((o) => o.setName('photo1').setDescription('A photo of something else').setRequired(true));
  for (const photo of TEACH_PHOTO_OPTIONS.slice(1))
    notIt.addAttachmentOption((o) => o.setName(photo).setDescription('Another photo of something else'));

  const commands = [
    teach,
    notIt,
    slash('ask')
      .addStringOption((o) =>
        o
          .setName('question')
          .setDescription('Your question, e.g. what is Rex holding?')
          .setRequired(true)
          .setMaxLength(500),
      )
      // Optional: a question without a photo about someone known is answered from what I remember.
      .addAttachmentOption((o) => o.setName('photo').setDescription('The photo to ask about')),
    slash('caption').addAttachmentOption((o) =>
      o.setName('photo').setDescription('The photo to describe').setRequired(true),
    ),
    slash('refer')
      .addStringOption((o) =>
        o.setName('name').setDescription('Who or what to find').setRequired(true).setMaxLength(40),
      )
      .addAttachmentOption((o) => o.setName('photo').setDescription('The photo to look in').setRequired(true)),
    slash('concepts'),
    slash('remember')
      .addStringOption((o) =>
        o.setName('name').setDescription('Who or what the fact is about').setRequired(true).setMaxLength(40),
      )
      .addStringOption((o) =>
        o.setName('fact').setDescription('The fact, e.g. loves horses').setRequired(true).setMaxLength(300),
      ),
    slash('facts').addStringOption((o) =>
      o.setName('name').setDescription('Who or what to list the facts of').setRequired(true).setMaxLength(40),
    ),
    slash('forget_fact')
      .addStringOption((o) =>
        o.setName('name').setDescription('Who or what the fact is about').setRequired(true).setMaxLength(40),
      )
      .addStringOption((o) =>
        o.setName('fact').setDescription('Its number in /facts, or its words').setRequired(true).setMaxLength(300),
      ),
    slash('rename')
      .addStringOption((o) =>
        o.setName('name').setDescription('Who or what to rename').setRequired(true).setMaxLength(40),
      )
      .addStringOption((o) => o.setName('new_name').setDescription('The new name').setRequired(true).setMaxLength(40)),
    slash('merge')
      .addStringOption((o) =>
        o.setName('name').setDescription('The name to give up, e.g. Annie').setRequired(true).setMaxLength(40),
      )
      .addStringOption((o) =>
        o.setName('into').setDescription('The name to keep, e.g. Anna').setRequired(true).setMaxLength(40),
      ),
    slash('forget').addStringOption((o) =>
      o.setName('name').setDescription('Who or what to forget').setRequired(true).setMaxLength(40),
    ),
    slash('who')
      .addIntegerOption((o) => o.setName('number').setDescription('The number /who gave the person').setMinValue(1))
      .addStringOption((o) => o.setName('name').setDescription('Who they are, e.g. Anna').setMaxLength(40)),
    slash('settings')
      .addStringOption((o) =>
        o
          .setName('setting')
          .setDescription("The setting to change (admins only): remember faces I don't know")
          .addChoices({ name: 'remember-faces', value: 'remember-faces' }),
      )
      .addStringOption((o) =>
        o
          .setName('value')
          .setDescription('on or off')
          .addChoices({ name: 'on', value: 'on' }, { name: 'off', value: 'off' }),
      ),
    slash('help'),
  ].map((builder) => builder.toJSON());

  const describe = new ContextMenuCommandBuilder()
    .setName(DESCRIBE_MESSAGE_COMMAND)
    .setType(ApplicationCommandType.Message)
    .setContexts(InteractionContextType.Guild, InteractionContextType.BotDM)
    .setIntegrationTypes(ApplicationIntegrationType.GuildInstall)
    .toJSON();
  return [...commands, describe];
}

export interface RegisteredCommands {
  /** 'global' (all servers and DMs) or the server id (appears at once; useful while testing). */
  scope: string;
  names: string[];
}

/**
 * Registers (overwrites) the bot's commands with Discord. Global commands
 * reach every server and DM; `guildId` registers them in one server only.
 */
export async function registerDiscordCommands(
  settings: Pick<Settings, 'discord'>,
  options: { guildId?: string } = {},
): Promise<RegisteredCommands> {
  const discord = settings.discord;
  if (!discord)
    throw new ConfigError(
      'DISCORD_TOKEN',
      'set DISCORD_TOKEN and DISCORD_APPLICATION_ID to register the Discord commands',
    );
  const rest = new REST(restOptions(discord)).setToken(discord.token);
  const route = options.guildId
    ? Routes.applicationGuildCommands(discord.applicationId, options.guildId)
    : Routes.applicationCommands(discord.applicationId);
  try {
    const registered = (await rest.put(route, { body: discordCommands() })) as Array<{ name: string }>;
    return { scope: options.guildId ?? 'global', names: registered.map((c) => c.name) };
  } catch (error) {
    throw explainDiscordFailure(error);
  }
}
