import type { Message } from 'grammy/types';
import { describe, expect, it } from 'vitest';
import { entitiesOf } from '../../test/fakes/telegram-payload.ts';
import { readAddressing } from './addressing.ts';

const bot = { id: 777, username: 'myvlm_bot' };
const group = { id: -100, type: 'supergroup', title: 'Family' } as const;
const privateChat = { id: 5, type: 'private', first_name: 'Ann' } as const;

function message(text: string, chat: Message['chat'] = group, extra: Partial<Message> = {}): Message {
  return {
    message_id: 1,
    date: 0,
    chat,
    from: { id: 5, is_bot: false, first_name: 'Ann' },
    text,
    entities: entitiesOf(text),
    ...extra,
  };
}

describe('readAddressing', () => {
  it('answers everything in a private chat except commands for another bot', () => {
    expect(readAddressing(message('who is this?', privateChat), bot)).toEqual({ forBot: true, text: 'who is this?' });
    expect(readAddressing(message('/teach@myvlm_bot Anna', privateChat), bot)).toEqual({
      forBot: true,
      text: '/teach Anna',
    });
    expect(readAddressing(message('/start@other_bot', privateChat), bot).forBot).toBe(false);
  });

  it('in groups takes commands, mentions and replies to the bot, and nothing else', () => {
    expect(readAddressing(message('nice photo!'), bot).forBot).toBe(false);
    expect(readAddressing(message('/concepts'), bot)).toEqual({ forBot: true, text: '/concepts' });
    expect(readAddressing(message('/concepts@MyVLM_Bot'), bot)).toEqual({ forBot: true, text: '/concepts' });
    expect(readAddressing(message('/concepts@other_bot'), bot).forBot).toBe(false);
    expect(readAddressing(message('@myvlm_bot who is this?'), bot)).toEqual({ forBot: true, text: 'who is this?' });
    expect(readAddressing(message('hey @myvlm_bot, /ask who is left?'), bot)).toEqual({
      forBot: true,
      text: 'hey , /ask who is left?',
    });
    expect(readAddressing(message('@someone_else look'), bot).forBot).toBe(false);
    const replyToBot = message('and this one?', group, {
      reply_to_message: {
        message_id: 9,
        date: 0,
        chat: group,
        from: { id: 777, is_bot: true, first_name: 'MyVLM' },
      } as Message['reply_to_message'],
    });
    expect(readAddressing(replyToBot, bot)).toEqual({ forBot: true, text: 'and this one?' });
  });

  it('reads photo captions like texts', () => {
    const photo = {
      message_id: 2,
      date: 0,
      chat: group,
      caption: '/teach Anna',
      caption_entities: entitiesOf('/teach Anna'),
      photo: [],
    } as unknown as Message;
    expect(readAddressing(photo, bot)).toEqual({ forBot: true, text: '/teach Anna' });
  });
});
