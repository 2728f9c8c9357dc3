// From Discord interactions to the core's turns and back. Every command is
// deferred at once (Discord drops an interaction not answered within 3 s),
// turned into the same text a chat user would type ("/teach Anna person"),
// given its photos, and answered by editing the deferred response. A
// `/teach` also tells the notices where its server's lessons should report.
import {
  MessageFlags,
  PermissionFlagsBits,
  type ChatInputCommandInteraction,
  type Interaction,
  type MessageContextMenuCommandInteraction,
} from 'discord.js';
import type { ConversationCore, IncomingImage, Turn } from '../../src/assistant/turn.ts';
import { messageFor, UserError } from '../../src/errors.ts';
import { logFailure, moduleLogger } from '../../src/log.ts';
import { downloadAttachments, looksLikeImage } from './attachments.ts';
import type { DiscordNotices } from './notices.ts';
import { DESCRIBE_MESSAGE_COMMAND, TEACH_PHOTO_OPTIONS } from './commands.ts';
import { PROGRESS_EDIT_INTERVAL_MS, ProgressReply } from './progress.ts';
import { loggable } from './loggable.ts';

const logger = moduleLogger('discord');

/** Default cap on one attachment's size, matching the core's default image limit. */
export const DEFAULT_MAX_DOWNLOAD_BYTES = 25 * 1024 * 1024;

type CommandInteraction = ChatInputCommandInteraction | MessageContextMenuCommandInteraction;

export interface DiscordConversationOptions {
  core: ConversationCore;
  /** Attachments larger than this are refused before download. Default 25 MB. */
  maxDownloadBytes?: number;
  /** Default PROGRESS_EDIT_INTERVAL_MS. */
  progressIntervalMs?: number;
  /** Told the channel of every `/teach`, so the lesson it starts reports there. */
  notices?: DiscordNotices;
}

/** Concepts taught in a server belong to the server; in a DM, to the user. */
export function discordScope(interaction: Pick<Interaction, 'guildId' | 'user'>): string {
  return interaction.guildId ? `discord:guild:${interaction.guildId}` : `discord:dm:${interaction.user.id}`;
}

export function discordUser(userId: string): string {
  return `discord:user:${userId}`;
}

/** Server administrators (Manage Server or Administrator) administer the server's concepts; a DM belongs to its user. */
export function isDiscordScopeAdmin(interaction: Pick<Interaction, 'guildId' | 'memberPermissions'>): boolean {
  if (!interaction.guildId) return true;
  return interaction.memberPermissions?.has(PermissionFlagsBits.ManageGuild) ?? false;
}

/** Turns interactions into turns of the core and answers them. */
export class DiscordConversation {
  private readonly running = new Set<Promise<void>>();
  private stopping = false;

  constructor(private readonly options: DiscordConversationOptions) {}

  /** Takes one interaction; returns at once, the turn runs behind. */
  receive(interaction: Interaction): void {
    if (!interaction.isChatInputCommand() && !interaction.isMessageContextMenuCommand()) return;
    const work = this.stopping ? this.refuseWhileStopping(interaction) : this.run(interaction);
    // run() reaches the core only after deferring, so this is known before the lesson's first notice.
    if (!this.stopping && interaction.commandName === 'teach' && interaction.channelId)
      this.options.notices?.rememberTeach(discordScope(interaction), interaction.channelId, work);
    this.running.add(work);
    void work.finally(() => this.running.delete(work));
  }

  /** Resolves when no turn is running. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }

  /** Answers new commands with "restarting" from now on, and waits for running turns. */
  async finish(): Promise<void> {
    this.stopping = true;
    await this.idle();
  }

  private async run(interaction: CommandInteraction): Promise<void> {
    try {
      await interaction.deferReply();
    } catch (error) {
      logger.error(
        { err: loggable(error), command: interaction.commandName },
        'could not acknowledge the interaction in time',
      );
      return;
    }
    const progress = new ProgressReply(interaction, this.options.progressIntervalMs ?? PROGRESS_EDIT_INTERVAL_MS);
    try {
      const turn = await this.buildTurn(interaction);
      logger.info({ scope: turn.scope, photos: turn.images.length, command: interaction.commandName }, 'turn');
      const reply = await this.options.core.handle(turn, { onStatus: (update) => progress.update(update) });
      await progress.finish(reply);
    } catch (error) {
      logFailure(logger, loggable(error), 'Discord turn failed', { command: interaction.commandName });
      await progress
        .finish({ text: messageFor(error, 'chat'), images: [] })
        .catch((sendError: unknown) => logger.error({ err: loggable(sendError) }, 'could not send the error answer'));
    }
  }

  private async buildTurn(interaction: CommandInteraction): Promise<Turn> {
    const { text, images } = interaction.isChatInputCommand()
      ? await this.readSlashCommand(interaction)
      : await this.readMessageCommand(interaction);
    return {
      scope: discordScope(interaction),
      user: discordUser(interaction.user.id),
      userName: interaction.user.globalName ?? interaction.user.username,
      isScopeAdmin: isDiscordScopeAdmin(interaction),
      text,
      images,
    };
  }

  private async readSlashCommand(
    interaction: ChatInputCommandInteraction,
  ): Promise<{ text: string; images: IncomingImage[] }> {
    const options = interaction.options;
    const words = (...values: Array<string | null>) =>
      values.filter((v): v is string => !!v && v.trim() !== '').map((v) => v.trim());
    const photoOptions =
      interaction.commandName === 'teach' || interaction.commandName === 'notit'
        ? TEACH_PHOTO_OPTIONS
        : (['photo'] as const);
    const attachments = photoOptions.map((name) => options.getAttachment(name)).filter((a) => a !== null);
    const images = await downloadAttachments(attachments, this.options.maxDownloadBytes ?? DEFAULT_MAX_DOWNLOAD_BYTES);
    const args: Record<string, string[]> = {
      teach: words(options.getString('name'), options.getString('kind')),
      notit: words(options.getString('name')),
      ask: words(options.getString('question')),
      refer: words(options.getString('name')),
      forget: words(options.getString('name')),
      rename: words(options.getString('name'), 'to', options.getString('new_name')),
      merge: words(options.getString('name'), 'into', options.getString('into')),
      remember: words(options.getString('name'), options.getString('fact')),
      facts: words(options.getString('name')),
      forget_fact: words(options.getString('name'), options.getString('fact')),
      who: words(String(options.getInteger('number') ?? ''), options.getString('name')),
      settings: words(options.getString('setting'), options.getString('value')),
    };
    return { text: ['/' + interaction.commandName, ...(args[interaction.commandName] ?? [])].join(' '), images };
  }

  private async readMessageCommand(
    interaction: MessageContextMenuCommandInteraction,
  ): Promise<{ text: string; images: IncomingImage[] }> {
    if (interaction.commandName !== DESCRIBE_MESSAGE_COMMAND)
      throw new UserError(`I don't know the command "${interaction.commandName}".`);
    const photos = [...interaction.targetMessage.attachments.values()].filter(looksLikeImage);
    if (photos.length === 0) throw new UserError('That message has no photo I can look at.');
    return {
      text: '/caption',
      images: await downloadAttachments(photos, this.options.maxDownloadBytes ?? DEFAULT_MAX_DOWNLOAD_BYTES),
    };
  }

  private async refuseWhileStopping(interaction: CommandInteraction): Promise<void> {
    await interaction
      .reply({ content: 'I am restarting; please try again in a minute.', flags: MessageFlags.Ephemeral })
      .catch((error: unknown) => logger.warn({ err: loggable(error) }, 'could not answer during shutdown'));
  }
}
