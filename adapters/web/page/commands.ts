// The command buttons under the message box: each puts its slash command at
// the start of the message (keeping what was typed after any other command)
// and says what else the command needs, so nobody has to remember the syntax.

export interface CommandButton {
  command: 'teach' | 'ask' | 'caption' | 'refer';
  label: string;
  /** What to type and attach next, shown under the message box. */
  hint: string;
}

export const COMMAND_BUTTONS: readonly CommandButton[] = [
  {
    command: 'teach',
    label: 'Teach',
    hint: 'Type the name after /teach (add "person" or "object" if you like) and add 1 to 4 photos of them.',
  },
  {
    command: 'ask',
    label: 'Ask',
    hint: 'Type your question after /ask and add a photo, or ask about someone you taught me without one.',
  },
  { command: 'caption', label: 'Caption', hint: 'Add a photo and send: I describe it, naming who and what I know.' },
  { command: 'refer', label: 'Refer', hint: 'Type the name after /refer and add a photo: I mark where they are.' },
];

/** The message with `command` in front: "/ask what is Rex holding?" with refer becomes "/refer what is Rex holding?". */
export function withCommand(message: string, command: CommandButton['command']): string {
  const rest = message.replace(/^\s*\/[A-Za-z_]+(?:@\S+)?/, '').trim();
  return rest === '' ? `/${command} ` : `/${command} ${rest}`;
}

/** A fresh id for one turn, so the server's status events find their way to its reply (works on plain-HTTP LAN pages too). */
export function newTurnId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}
