// What the adapter conformance suite needs from an adapter: a way to say
// something as a given person in a given place, and the answer that came
// back. Each adapter has a small driver that does this through its real
// platform path (readline for the terminal, the real grammY and discord.js
// clients against the fake servers for Telegram and Discord).
import type { ConversationCore } from '../../src/assistant/turn.ts';

/** The suite's places: a private chat and two groups (Telegram groups, Discord servers). */
export type Place = 'private' | 'groupA' | 'groupB';

/** The suite's people: the owner teaches; the member is an ordinary member; the admin administers the groups. */
export type Person = 'owner' | 'member' | 'admin';

export interface Photo {
  /** File name as a user would send it. */
  name: string;
  bytes: Uint8Array;
  /** Not an image at all (a text file named .jpg): platforms that compress photos receive it as a file. */
  broken?: boolean;
}

/** One user action, in the shape every platform can express (slash options or typed text). */
export type Action =
  | { command: 'teach'; name: string; kind?: 'person' | 'object'; photos: Photo[] }
  | { command: 'ask'; question: string; photo: Photo }
  | { command: 'caption'; photo: Photo }
  | { command: 'refer'; name: string; photo: Photo }
  | { command: 'concepts' }
  | { command: 'remember'; name: string; fact: string }
  | { command: 'forget'; name: string };

/** Everything the bot answered to one action. */
export interface Answer {
  text: string;
  images: Uint8Array[];
  /** Separate answer messages (a split album would show up as several). */
  messages: number;
}

export interface ChatDriver {
  readonly platform: string;
  /**
   * Whether the platform has people besides the owner, with and without
   * administration rights (false for the single-user terminal).
   */
  readonly multiUser: boolean;
  send(place: Place, person: Person, action: Action): Promise<Answer>;
  close(): Promise<void>;
}

export type DriverFactory = (core: ConversationCore) => Promise<ChatDriver>;

/** The action as a chat user would type it ("/teach Obama person"), photos aside. */
export function actionText(action: Action): string {
  switch (action.command) {
    case 'teach':
      return `/teach ${action.name}${action.kind ? ` ${action.kind}` : ''}`;
    case 'ask':
      return `/ask ${action.question}`;
    case 'caption':
      return '/caption';
    case 'refer':
      return `/refer ${action.name}`;
    case 'concepts':
      return '/concepts';
    case 'remember':
      return `/remember ${action.name} ${action.fact}`;
    case 'forget':
      return `/forget ${action.name}`;
  }
}

export function actionPhotos(action: Action): Photo[] {
  if (action.command === 'teach') return action.photos;
  if (action.command === 'ask' || action.command === 'caption' || action.command === 'refer') return [action.photo];
  return [];
}
