// The platform-agnostic conversation contract. Adapters turn platform updates
// into a `Turn`, call `Assistant.handle`, and turn the `Reply` (and any status
// updates on the way) back into platform calls. Nothing here knows a platform.
import type { ImageFile } from '../image/encode.ts';
import type { Scope, UserRef } from '../memory/concept.ts';

/**
 * The operator's own scope: the terminal chat, the web app and the one-shot
 * commands all read and teach the same memory, so someone taught in one is
 * known in the others.
 */
export const OPERATOR_SCOPE: Scope = 'terminal:local';

/** A photo as it arrived: raw bytes, decoded and validated by the core. */
export interface IncomingImage {
  bytes: Uint8Array;
  /** File name or platform id, for messages ("photo 2 (IMG_0042.jpg)"). */
  name?: string;
  /** A caption the user wrote on this photo, if the platform has per-photo captions. */
  caption?: string;
}

export interface Turn {
  /** Where the conversation happens; concepts are visible only inside their scope. */
  scope: Scope;
  user: UserRef;
  /** How to address the user in replies (display name), if known. */
  userName?: string;
  /** The adapter's word that this user administers the scope (group or server admin). */
  isScopeAdmin: boolean;
  /** The message text or photo caption, with a bot mention already stripped. */
  text: string;
  /** Photos of this message, of its album, or of the message it replies to. */
  images: IncomingImage[];
}

/** An image sent back, encoded by src/image/encode.ts to fit chats (adapters fit it to their platform's limits). */
export type OutgoingImage = ImageFile;

export interface Reply {
  text: string;
  images: OutgoingImage[];
}

/**
 * Progress of long work ("Learning Rex: step 40/100"). Adapters show these by
 * editing one status message; the terminal prints them on one line.
 */
export interface StatusUpdate {
  text: string;
  /** 0..1 when the work knows how far it is. */
  progress?: number;
  /**
   * The answer so far, while a model writes it. It stands in for a status
   * and is replaced by the answer: never show it as a line of its own (a
   * terminal printing every draft shows the caption five times).
   */
  draft?: true;
}

export interface TurnOptions {
  onStatus?: (update: StatusUpdate) => void | Promise<void>;
}

/**
 * News about work that outlives the turn that started it: a background
 * lesson learning a concept's embedding ("Learning Rex: step 25 of 100 (loss
 * 0.840)", then "Learned how to talk about Rex."). Notices belong to a scope,
 * not to a turn; a messenger shows the notices of one key as one status
 * message in that scope's chat, edited in place, and the terminal prints them.
 */
export interface Notice {
  /** The conversation the work belongs to; an adapter ignores scopes it does not serve. */
  scope: Scope;
  /** One per piece of work (a lesson's job id): every notice of a key updates the same status message. */
  key: string;
  /** A complete sentence, ready to show. */
  text: string;
  /** Where step-counted work is (step `at` of `of`), while it is counting. */
  step?: { at: number; of: number };
  /** The last notice of this key: the work finished, failed or was stopped. A later notice of the same key starts a new message. */
  done: boolean;
}

/** The conversation core as adapters see it. */
export interface ConversationCore {
  handle(turn: Turn, options?: TurnOptions): Promise<Reply>;
  /**
   * Subscribes to notices of background work in every scope; returns the
   * unsubscribe function. Optional: a core without background work leaves it
   * out. Listeners are called synchronously and must not throw or block;
   * they hand the notice to their own (throttled) network work.
   */
  onNotice?(listener: (notice: Notice) => void): () => void;
}

/** Commands the core understands, with the one-line help adapters register (Telegram setMyCommands, Discord slash commands). */
export const COMMANDS = [
  {
    name: 'teach',
    args: '<name> [person|object]',
    help: 'Teach me a person or thing from 1-4 photos, or people from one group photo (names left to right)',
  },
  { name: 'notit', args: '<name>', help: 'Show me photos of things that are not it, so I confuse it less' },
  { name: 'ask', args: '<question>', help: 'Ask about a photo by name, or about someone I know' },
  { name: 'caption', args: '', help: 'Describe a photo, naming who and what I know' },
  { name: 'refer', args: '<name>', help: 'Show where someone or something is in a photo' },
  { name: 'concepts', args: '', help: 'List who and what I know here' },
  { name: 'remember', args: '<name> <fact>', help: 'Remember a fact about someone or something' },
  { name: 'facts', args: '<name>', help: 'List what I remember about someone or something, numbered' },
  { name: 'forget_fact', args: '<name> <number>', help: 'Forget one fact (its number in /facts, or its words)' },
  { name: 'rename', args: '<name> to <new name>', help: 'Call someone or something by a new name' },
  {
    name: 'merge',
    args: '<name> into <other name>',
    help: 'Make one of someone or something I learned twice, keeping the second name',
  },
  { name: 'forget', args: '<name>', help: 'Forget someone or something, with all their photos' },
  { name: 'who', args: '[<number> <name>]', help: "List people I have seen but don't know, or name one" },
  { name: 'settings', args: '[remember-faces on|off]', help: "This chat's settings (admins change them)" },
  { name: 'help', args: '', help: 'How to use me' },
] as const;

export type CommandName = (typeof COMMANDS)[number]['name'];
