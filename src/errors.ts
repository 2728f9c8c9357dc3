// The project's small error family. A `UserError` carries a message that can
// be shown in a chat as it is; anything else is internal: logged with its
// cause and answered with a short apology.

/** Something the user can fix: a bad photo, an unknown name, a missing permission. */
export class UserError extends Error {
  override readonly name: string = 'UserError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Bad configuration; names the environment variable and what is wrong with it. */
export class ConfigError extends UserError {
  override readonly name = 'ConfigError';
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`);
  }
}

/**
 * Something only the person running the assistant can fix (a model export
 * that is not what the configuration says, a file the process cannot read).
 * Chat users get the short apology; the console and the log get this message.
 */
export class OperatorError extends Error {
  override readonly name = 'OperatorError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A model's files are not on this machine and cannot be downloaded. */
export class ModelMissingError extends UserError {
  override readonly name = 'ModelMissingError';
  constructor(
    readonly modelId: string,
    readonly missing: readonly string[],
    hint: string,
  ) {
    super(`Model "${modelId}" is missing ${missing.length} file(s): ${missing.join(', ')}. ${hint}`);
  }
}

/** Two writers raced on one record; the loser must re-read and retry. */
export class ConflictError extends Error {
  override readonly name = 'ConflictError';
}

export function isUserError(error: unknown): error is UserError {
  return error instanceof UserError;
}

/** The text a chat user should see for any error. */
export function messageForUser(error: unknown): string {
  if (isUserError(error)) return error.message;
  return 'Sorry, something went wrong on my side. The details are in the log.';
}
