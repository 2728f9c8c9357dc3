// One file from the network into the model cache: redirects followed by hand
// so the hub token reaches the hub's own origin only, connect and idle
// timeouts, and a part file of this process's own, renamed into place once
// its size and sha256 check out, so concurrent downloaders never share one.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { once } from 'node:events';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { OperatorError } from '../errors.ts';
import type { ModelFile } from './entry.ts';

/**
 * How long a request may wait for response headers (the whole redirect
 * chain): a server that accepts the connection and then says nothing is as
 * good as down, and half a minute covers a slow hub's first byte.
 */
export const DOWNLOAD_CONNECT_TIMEOUT_MS = 30_000;
/**
 * How long a transfer may deliver no bytes before it counts as stalled (a
 * dead connection or a wedged proxy); a minute outlasts the pauses of a slow
 * but working link.
 */
export const DOWNLOAD_IDLE_TIMEOUT_MS = 60_000;
/** Redirect hops followed before giving up; the hub needs one or two (resolve, then its CDN). */
const MAX_REDIRECTS = 10;

/** Why a transfer failed, sorted by what the user can do about it. */
export type TransferFailure = 'auth' | 'not-found' | 'server' | 'http' | 'network' | 'connect-timeout' | 'idle-timeout';

/** A failed transfer before any message is written: the caller knows the model and words the hint. */
export class TransferError extends Error {
  override readonly name = 'TransferError';
  constructor(
    readonly kind: TransferFailure,
    message: string,
    readonly detail: { status?: number; code?: string; host: string; timeoutMs?: number },
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface DownloadRequest {
  url: string;
  /** Final path; the bytes go to a part file beside it first. */
  target: string;
  /** Size and sha256 to check, when known. */
  file: ModelFile;
  /** `<model id>/<file>`, for messages. */
  label: string;
  /** A bearer token sent to `origin` only (never to the CDN hosts the hub redirects to). */
  auth?: { origin: string; token: string } | null;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  onBytes?: (receivedBytes: number, totalBytes: number | null) => void;
}

/** Downloads `request.url` to `request.target`, verified; throws TransferError, or OperatorError for a corrupt or unwritable file. */
export async function downloadFile(request: DownloadRequest): Promise<void> {
  const { target, file } = request;
  await mkdir(path.dirname(target), { recursive: true });
  await removeStaleParts(target);
  const partial = `${target}.${process.pid}-${randomBytes(4).toString('hex')}.part`;
  const controller = new AbortController();
  let timedOut: 'connect-timeout' | 'idle-timeout' | null = null;
  const arm = (kind: 'connect-timeout' | 'idle-timeout', ms: number) =>
    setTimeout(() => {
      timedOut = kind;
      controller.abort();
    }, ms);
  const host = new URL(request.url).host;

  let timer = arm('connect-timeout', request.connectTimeoutMs);
  let response: Response;
  try {
    response = await fetchFollowingRedirects(request, controller.signal);
  } catch (error) {
    throw timedOut ? timeoutError(timedOut, request, host) : networkError(error, host);
  } finally {
    clearTimeout(timer);
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel().catch(() => undefined);
    throw httpError(response.status, request.url, new URL(response.url || request.url).host);
  }

  const header = Number(response.headers.get('content-length'));
  const totalBytes = file.bytes ?? (Number.isFinite(header) && header > 0 ? header : null);
  const hash = createHash('sha256');
  const out = createWriteStream(partial);
  let writeError: Error | null = null;
  out.on('error', (error) => {
    writeError = error;
    controller.abort();
  });
  let receivedBytes = 0;
  timer = arm('idle-timeout', request.idleTimeoutMs);
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      clearTimeout(timer);
      hash.update(chunk);
      receivedBytes += chunk.byteLength;
      if (!out.write(chunk)) await once(out, 'drain');
      request.onBytes?.(receivedBytes, totalBytes);
      timer = arm('idle-timeout', request.idleTimeoutMs);
    }
    clearTimeout(timer);
    out.end();
    await once(out, 'finish');
  } catch (error) {
    clearTimeout(timer);
    // Read before destroying: a stream destroyed while still opening reports that as an error of its own.
    const failedWrite = writeError;
    out.destroy();
    await rm(partial, { force: true });
    if (failedWrite) throw unwritable(target, failedWrite);
    throw timedOut ? timeoutError(timedOut, request, host) : networkError(error, host);
  }

  const digest = hash.digest('hex');
  if (
    (file.bytes !== undefined && receivedBytes !== file.bytes) ||
    (file.sha256 !== undefined && digest !== file.sha256)
  ) {
    await rm(partial, { force: true });
    throw new OperatorError(
      `The download of ${request.label} is corrupt: got ${receivedBytes} bytes with sha256 ${digest}, ` +
        `expected ${file.bytes ?? '?'} bytes with sha256 ${file.sha256 ?? '?'}. It was deleted.`,
      { hint: 'Try again; if it keeps happening, a proxy or the mirror (MYVLM_HF_ENDPOINT) is changing the file.' },
    );
  }
  try {
    // Atomic on one file system: readers see no file or the whole, checked file.
    await rename(partial, target);
  } catch (error) {
    await rm(partial, { force: true });
    // Another process finished the same file first (Windows refuses to rename over it); its copy passed the same checks.
    if (!existsSync(target)) throw unwritable(target, error as Error);
  }
}

/** Follows redirects itself so the Authorization header is sent to the token's own origin and nowhere else. */
async function fetchFollowingRedirects(request: DownloadRequest, signal: AbortSignal): Promise<Response> {
  let url = new URL(request.url);
  for (let hop = 0; ; hop++) {
    const headers: Record<string, string> = {};
    if (request.auth && url.origin === request.auth.origin) headers.authorization = `Bearer ${request.auth.token}`;
    const response = await fetch(url, { redirect: 'manual', headers, signal });
    const location = response.headers.get('location');
    if (response.status < 300 || response.status >= 400 || location === null) return response;
    await response.body?.cancel().catch(() => undefined);
    if (hop >= MAX_REDIRECTS)
      throw new TransferError('http', `more than ${MAX_REDIRECTS} redirects`, {
        status: response.status,
        host: url.host,
      });
    url = new URL(location, url);
  }
}

/** Part files left by processes that died mid-download; a live process's part is left alone. */
async function removeStaleParts(target: string): Promise<void> {
  const dir = path.dirname(target);
  const base = path.basename(target);
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    if (name === `${base}.part`) {
      // The single shared part name of older versions.
      await rm(path.join(dir, name), { force: true });
      continue;
    }
    const match = name.startsWith(`${base}.`) ? /\.(\d+)-[0-9a-f]+\.part$/.exec(name) : null;
    if (match && !processAlive(Number(match[1]))) await rm(path.join(dir, name), { force: true });
  }
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function httpError(status: number, url: string, host: string): TransferError {
  const detail = { status, host };
  if (status === 401 || status === 403) return new TransferError('auth', `HTTP ${status} for ${url}`, detail);
  if (status === 404) return new TransferError('not-found', `HTTP 404 for ${url}`, detail);
  if (status >= 500) return new TransferError('server', `HTTP ${status} for ${url}`, detail);
  return new TransferError('http', `HTTP ${status} for ${url}`, detail);
}

function timeoutError(kind: 'connect-timeout' | 'idle-timeout', request: DownloadRequest, host: string): TransferError {
  const ms = kind === 'connect-timeout' ? request.connectTimeoutMs : request.idleTimeoutMs;
  return new TransferError(
    kind,
    `${kind === 'connect-timeout' ? 'no response' : 'no data'} from ${host} for ${ms} ms`,
    { host, timeoutMs: ms },
  );
}

/** DNS, refused, reset and other socket failures: the machine cannot reach the server. */
function networkError(error: unknown, host: string): TransferError {
  if (error instanceof TransferError) return error;
  const cause = (error as { cause?: unknown } | null)?.cause;
  const code = errorCode(cause) ?? errorCode(error);
  const message = cause instanceof Error ? cause.message : error instanceof Error ? error.message : String(error);
  return new TransferError('network', message, { host, ...(code ? { code } : {}) }, { cause: error });
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function unwritable(target: string, error: Error): OperatorError {
  return new OperatorError(`Could not write ${target} (${error.message}).`, {
    cause: error,
    hint: 'Check the free space and permissions of the model cache (MYVLM_CACHE_DIR).',
  });
}
