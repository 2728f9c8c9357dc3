// The project's error family says who must act on a failure:
// - `UserError`: the person chatting can fix it (a bad photo, an unknown
//   name, a missing permission). Its message is written for a chat and shown
//   as it is.
// - `OperatorError`: only the person running the assistant can fix it
//   (configuration, model files, the disk). The console and the log get the
//   message with its hint; a chat user gets a short notice instead.
// - `InternalError`: a broken invariant, that is, a bug. Logged with its
//   cause; the chat gets a short apology.
// Anything else thrown (a library's error, a RangeError) counts as internal.

/** Something the user can fix; the message is written for a chat. */
export class UserError extends Error {
  override readonly name: string = 'UserError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A command typed wrongly (an unknown flag, a missing argument); one-shot commands exit 2 on it. */
export class UsageError extends UserError {
  override readonly name: string = 'UsageError';
}

/**
 * Something only the person running the assistant can fix: a model export
 * that is not what the configuration says, a file the process cannot read, a
 * setting out of range. `hint` says what to do about it.
 */
export class OperatorError extends Error {
  override readonly name: string = 'OperatorError';
  readonly hint: string | undefined;
  constructor(message: string, options?: { cause?: unknown; hint?: string }) {
    super(message, options);
    this.hint = options?.hint;
  }
}

/** Bad configuration; names the environment variable and what is wrong with it. */
export class ConfigError extends OperatorError {
  override readonly name = 'ConfigError';
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`, { hint: 'Fix it in the environment or in .env (see .env.example).' });
  }
}

/** A model's files are not on this machine and cannot be downloaded. */
export class ModelMissingError extends OperatorError {
  override readonly name = 'ModelMissingError';
  constructor(
    readonly modelId: string,
    readonly missing: readonly string[],
    hint: string,
  ) {
    super(`Model "${modelId}" is missing ${missing.length} file(s): ${missing.join(', ')}.`, { hint });
  }
}

/** A broken invariant: the code, not the user or the operator, is wrong. */
export class InternalError extends Error {
  override readonly name = 'InternalError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Two writers raced on one record; the loser must re-read and retry. */
export class ConflictError extends Error {
  override readonly name = 'ConflictError';
}

/** Who must act on an error. */
export type Actor = 'user' | 'operator' | 'developer';

export function whoMustAct(error: unknown): Actor {
  if (error instanceof UserError) return 'user';
  if (error instanceof OperatorError) return 'operator';
  return 'developer';
}

export function isUserError(error: unknown): error is UserError {
  return error instanceof UserError;
}

/**
 * Who reads a reply: someone in a chat, or the operator at the console (the
 * terminal chat, a one-shot command).
 */
export type Audience = 'chat' | 'operator';

/** The operator's view of an operator error: the problem, then what to do. */
export function operatorMessage(error: OperatorError): string {
  if (!error.hint) return error.message;
  return `${/[.!?:]$/.test(error.message) ? error.message : `${error.message}.`} ${error.hint}`;
}

export const OPERATOR_NOTICE =
  "Sorry, I can't do that right now: something on my side needs the attention of whoever runs me. They will find the details in the console.";
export const APOLOGY = 'Sorry, something went wrong on my side. The details are in the log.';

/** The text a reader should see for any error. */
export function messageFor(error: unknown, audience: Audience): string {
  if (error instanceof UserError) return error.message;
  if (error instanceof OperatorError) return audience === 'operator' ? operatorMessage(error) : OPERATOR_NOTICE;
  return APOLOGY;
}
