// Who a Telegram message is for. In private chats every message is for the
// bot. In groups the bot answers only what is addressed to it, the same rule
// Telegram's privacy mode applies: commands (not those meant for another bot
// via /cmd@otherbot), @mentions of the bot, and replies to the bot's messages.
// With privacy mode off the bot sees every message, so it must apply the rule
// itself; with it on, the rule costs nothing.
import type { Message, MessageEntity } from 'grammy/types';

export interface BotIdentity {
  id: number;
  username: string;
}

export interface Addressing {
  /** The message is for the bot and should become a turn. */
  forBot: boolean;
  /** The text or caption with `@botname` removed from commands and mentions. */
  text: string;
}

/** Decides whether `message` is addressed to the bot and cleans its text for the core. */
export function readAddressing(message: Message, bot: BotIdentity): Addressing {
  const raw = message.text ?? message.caption ?? '';
  const entities = message.entities ?? message.caption_entities ?? [];
  const handle = `@${bot.username}`.toLowerCase();

  const command = /^\/([A-Za-z0-9_]+)(@([A-Za-z0-9_]+))?/.exec(raw);
  const commandForOtherBot = command?.[3] !== undefined && command[3].toLowerCase() !== bot.username.toLowerCase();
  const isCommand = command !== null && !commandForOtherBot;

  const mentions = entities.filter((e) => isMentionOf(e, raw, handle, bot.id));
  const mentioned = mentions.length > 0 || (entities.length === 0 && raw.toLowerCase().includes(handle));
  const repliesToBot = message.reply_to_message?.from?.id === bot.id;

  const privateChat = message.chat.type === 'private';
  const forBot = privateChat ? !commandForOtherBot : isCommand || mentioned || repliesToBot;
  return { forBot, text: forBot ? cleanText(raw, mentions, handle) : raw };
}

function isMentionOf(entity: MessageEntity, text: string, handle: string, botId: number): boolean {
  if (entity.type === 'text_mention') return entity.user.id === botId;
  if (entity.type !== 'mention') return false;
  return text.slice(entity.offset, entity.offset + entity.length).toLowerCase() === handle;
}

function cleanText(raw: string, mentions: readonly MessageEntity[], handle: string): string {
  // Cut mentions from the end backwards so earlier offsets stay valid.
  let text = raw;
  for (const entity of [...mentions].sort((a, b) => b.offset - a.offset)) {
    text = text.slice(0, entity.offset) + text.slice(entity.offset + entity.length);
  }
  if (mentions.length === 0) text = text.replace(new RegExp(escapeRegExp(handle), 'ig'), '');
  // "/teach@mybot Anna" -> "/teach Anna"
  text = text.replace(/^(\s*\/[A-Za-z0-9_]+)@[A-Za-z0-9_]+/, '$1');
  return text
    .replace(/^[\s,:]+/, '')
    .replace(/[ \t]{2,}/g, ' ')
    .trim();
}

function escapeRegExp(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
