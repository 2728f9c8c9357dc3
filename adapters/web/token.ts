// Who may open the web app. On this machine only (a loopback address) the
// person at the keyboard is trusted, as in the terminal; served beyond it
// (MYVLM_WEB_HOST=0.0.0.0) every browser must sign in with a token: the
// operator's MYVLM_WEB_TOKEN, or one generated at the first such start and
// kept in the data folder (readable by its owner only) so it survives restarts.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { OperatorError } from '../../src/errors.ts';
import type { WebSettings } from '../../src/config/settings.ts';

/** The file in the data folder that keeps a generated token. */
export const WEB_TOKEN_FILE = 'web-token';

/** Random bytes in a generated token: far beyond guessing over a network. */
const GENERATED_TOKEN_BYTES = 24;

export interface WebAccess {
  /** What a browser must sign in with, or null when the address is this machine's own and no token is set. */
  token: string | null;
  /** The token was generated at this start: shown once, then only in its file. */
  created: boolean;
  /** Where a generated token is kept. */
  file: string;
}

/** Whether `host` only reaches this machine. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

/** The token the settings call for: none on loopback (unless the operator set one), else set, kept or made now. */
export async function resolveWebAccess(web: WebSettings, dataDir: string): Promise<WebAccess> {
  const file = path.join(dataDir, WEB_TOKEN_FILE);
  if (web.token !== null || isLoopback(web.host)) return { token: web.token, created: false, file };
  const kept = await readFile(file, 'utf8').then(
    (text) => text.trim(),
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return null;
      throw new OperatorError(`Cannot read the web token in ${file}: ${error.message}`, {
        hint: 'Fix its permissions, delete it to have a new one made, or set MYVLM_WEB_TOKEN.',
        cause: error,
      });
    },
  );
  if (kept) return { token: kept, created: false, file };
  const token = randomBytes(GENERATED_TOKEN_BYTES).toString('base64url');
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  return { token, created: true, file };
}
