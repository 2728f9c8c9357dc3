// Finding a model's files: an explicit folder, then MYVLM_MODELS_DIR, then the
// download cache, then (when allowed) a download from the Hugging Face hub or
// the model's URL, verified by size and sha256, its licence and size shown
// first; weights that came inside an npm package are converted into the
// cache instead, without the network. Offline, a clear error names the
// missing files and the command that fetches them.
import type { Settings } from '../config/settings.ts';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { InternalError, ModelMissingError, OperatorError } from '../errors.ts';
import { moduleLogger } from '../log.ts';
import { DOWNLOAD_CONNECT_TIMEOUT_MS, DOWNLOAD_IDLE_TIMEOUT_MS, downloadFile, TransferError } from './download.ts';
import type { ModelEntryBase, ModelFile, ModelTask } from './entry.ts';
import { formatLicenceNotice, licenceNotice, type LicenceNotice } from './licence.ts';
import { ensurePackagedModel } from './packaged.ts';
import { announceToWatchers, type DownloadProgress } from './progress.ts';

export { DOWNLOAD_CONNECT_TIMEOUT_MS, DOWNLOAD_IDLE_TIMEOUT_MS } from './download.ts';
export type { LicenceNotice } from './licence.ts';
export type { DownloadProgress } from './progress.ts';

const logger = moduleLogger('models');

/** The one command that prepares every model the settings use, named wherever a model is missing. */
export const FETCH_DEFAULTS_COMMAND = 'npx myvlm models fetch --defaults';

/** The setting that picks the model of each task, for messages that suggest another model. */
export const SETTING_OF_TASK: Record<ModelTask, string> = {
  'face-detection': 'MYVLM_FACE_DETECTOR',
  'face-recognition': 'MYVLM_FACE_RECOGNIZER',
  'image-features': 'MYVLM_IMAGE_FEATURES',
  vlm: 'MYVLM_VLM',
};

export interface ResolveOptions {
  /** An explicit folder holding the model's files (a command-line flag or setting). */
  path?: string | null;
  /** MYVLM_MODELS_DIR: a folder laid out as `<directory>/<file>` per registry entry. */
  modelsDir?: string | null;
  /** Where downloads go, as `<cacheDir>/<model id>/<file>`. */
  cacheDir: string;
  /** False offline (MYVLM_OFFLINE=1): never touch the network. */
  allowDownload: boolean;
  /** Hub endpoint; a local server in tests. Default https://huggingface.co. */
  hubEndpoint?: string;
  /** HF_TOKEN, for gated or private repositories: sent to the hub endpoint only, never to the hosts it redirects to or to URL sources. */
  hubToken?: string | null;
  /** Longest wait for response headers; default DOWNLOAD_CONNECT_TIMEOUT_MS. */
  connectTimeoutMs?: number;
  /** Longest stretch without a byte while streaming; default DOWNLOAD_IDLE_TIMEOUT_MS. */
  idleTimeoutMs?: number;
  onProgress?: (progress: DownloadProgress) => void;
  /** Told the model's licence before its first byte is downloaded (it is logged either way). */
  onLicence?: (notice: LicenceNotice) => void;
}

/** Where the settings say models are and whether they may be downloaded; `extra` adds the callbacks a caller shows. */
export function resolveOptionsFrom(
  settings: Pick<Settings, 'modelsDir' | 'cacheDir' | 'offline' | 'hubEndpoint' | 'hubToken'>,
  extra: Pick<ResolveOptions, 'onProgress' | 'onLicence'> = {},
): ResolveOptions {
  return {
    modelsDir: settings.modelsDir,
    cacheDir: settings.cacheDir,
    allowDownload: !settings.offline,
    hubEndpoint: settings.hubEndpoint,
    hubToken: settings.hubToken,
    ...extra,
  };
}

export interface ResolvedModel {
  /** The folder the files were found in. */
  directory: string;
  /** Absolute path of each registry file, by its `path`. */
  files: Record<string, string>;
}

/** The folder that already holds every file of a model, looked up without converting or downloading anything; null if none does. */
export function findModelFiles(entry: ModelEntryBase, options: ResolveOptions): ResolvedModel | null {
  const directory = candidateDirectories(entry, options).find((dir) =>
    entry.files.every((f) => existsSync(path.join(dir, f.path))),
  );
  return directory === undefined ? null : locate(directory, entry.files);
}

/** Locates (or converts from an installed package, or downloads) every file of a model. */
export async function resolveModel(entry: ModelEntryBase, options: ResolveOptions): Promise<ResolvedModel> {
  const found = findModelFiles(entry, options);
  if (found) return found;
  const candidates = candidateDirectories(entry, options);
  const cache = path.join(options.cacheDir, entry.id);
  const missing = entry.files.filter((f) => !existsSync(path.join(cache, f.path)));
  const hint = placementHint(entry, missing, candidates, options);
  const where = lookedIn(entry, candidates);
  // Weights that came with `npm install` are converted into the cache, without the network.
  if (entry.packaged)
    return locate(path.dirname(ensurePackagedModel(entry, entry.packaged, options.cacheDir)), entry.files);
  if (!options.allowDownload || entry.source.kind === 'manual' || entry.source.kind === 'generated') {
    throw new ModelMissingError(
      entry.id,
      missing.map((f) => f.path),
      hint,
    );
  }
  announceLicence(entry, missing, options);
  const hubEndpoint = (options.hubEndpoint ?? 'https://huggingface.co').replace(/\/$/, '');
  for (const file of missing) {
    const url = fileUrl(entry, file, hubEndpoint);
    const target = path.join(cache, file.path);
    await downloadShared(target, options.onProgress, (report) => {
      logger.info({ modelId: entry.id, file: file.path, url }, 'downloading model file');
      return downloadFile({
        url,
        target,
        file,
        label: `${entry.id}/${file.path}`,
        auth:
          entry.source.kind === 'hub' && options.hubToken
            ? { origin: new URL(hubEndpoint).origin, token: options.hubToken }
            : null,
        connectTimeoutMs: options.connectTimeoutMs ?? DOWNLOAD_CONNECT_TIMEOUT_MS,
        idleTimeoutMs: options.idleTimeoutMs ?? DOWNLOAD_IDLE_TIMEOUT_MS,
        onBytes: (receivedBytes, totalBytes) =>
          report({ modelId: entry.id, file: file.path, receivedBytes, totalBytes }),
      });
    }).catch((cause: unknown) => {
      throw downloadFailure(entry, file, url, cause, {
        hint,
        where,
        missing: missing.map((f) => f.path),
        tokenSent: Boolean(options.hubToken),
      });
    });
  }
  return locate(cache, entry.files);
}

interface Flight {
  promise: Promise<void>;
  listeners: Set<(progress: DownloadProgress) => void>;
}

/** Downloads in progress in this process, by target path: a second resolve of the same file waits for the first. */
const inFlight = new Map<string, Flight>();

async function downloadShared(
  target: string,
  onProgress: ((progress: DownloadProgress) => void) | undefined,
  start: (report: (progress: DownloadProgress) => void) => Promise<void>,
): Promise<void> {
  let flight = inFlight.get(target);
  if (!flight) {
    const listeners = new Set<(progress: DownloadProgress) => void>();
    // Another process may have finished it while this one looked at the other files.
    const run = existsSync(target)
      ? Promise.resolve()
      : start((progress) => {
          listeners.forEach((listener) => listener(progress));
          announceToWatchers({ progress });
        });
    const promise = run.finally(() => inFlight.delete(target));
    flight = { promise, listeners };
    inFlight.set(target, flight);
  }
  if (onProgress) flight.listeners.add(onProgress);
  try {
    await flight.promise;
  } finally {
    if (onProgress) flight.listeners.delete(onProgress);
  }
}

/** Tells the caller, the watchers and the log what licence the user is about to download under, and how much. */
function announceLicence(entry: ModelEntryBase, missing: readonly ModelFile[], options: ResolveOptions): void {
  const notice = licenceNotice(entry, missing);
  const text = formatLicenceNotice(notice);
  if (notice.researchOnly) logger.warn({ modelId: entry.id, licence: entry.licence }, text);
  else logger.info({ modelId: entry.id, licence: entry.licence }, text);
  options.onLicence?.(notice);
  announceToWatchers({ notice });
}

/**
 * Turns a failed transfer into an operator error (only whoever runs the
 * assistant can fix a download) whose message says what went wrong, and
 * whose hint says what to do.
 */
function downloadFailure(
  entry: ModelEntryBase,
  file: ModelFile,
  url: string,
  cause: unknown,
  context: { hint: string; where: string; missing: string[]; tokenSent: boolean },
): OperatorError {
  if (cause instanceof OperatorError) return cause;
  const label = `${entry.id}/${file.path}`;
  if (!(cause instanceof TransferError)) {
    return new ModelMissingError(
      entry.id,
      context.missing,
      `Downloading ${url} failed (${describe(cause)}); are you offline? ${context.hint}`,
    );
  }
  const { status, host, code } = cause.detail;
  const where =
    entry.source.kind === 'hub'
      ? `${file.remotePath ?? file.path} in ${entry.source.repo} at revision ${entry.source.revision}`
      : `${file.remotePath ?? file.path} at ${entry.source.kind === 'url' ? entry.source.baseUrl : url}`;
  switch (cause.kind) {
    case 'auth':
      return new OperatorError(
        `The hub refused to send ${where} (HTTP ${status}): the repository is gated or private.`,
        {
          cause,
          hint: context.tokenSent
            ? 'The HF_TOKEN that was sent does not grant access: ' +
              'accept the model terms on its hub page with the account that owns the token, or use a token with read access.'
            : 'Accept the model terms on its hub page, create a read access token in your hub settings, and set HF_TOKEN to it.',
        },
      );
    case 'not-found':
      return new OperatorError(
        `The server has no ${where} (HTTP 404 from ${host}). The model registry names a file or revision the server does not have: ` +
          'this is a problem with the registry entry (or with the mirror in MYVLM_HF_ENDPOINT), not with your connection.',
        { cause, hint: `Please report it; meanwhile you can place the files yourself. ${context.where}` },
      );
    case 'server':
      return new OperatorError(`${host} answered HTTP ${status} for ${label}: a problem on the server's side.`, {
        cause,
        hint: `Try again in a while, or place the files yourself. ${context.where}`,
      });
    case 'http':
      return status === 429
        ? new OperatorError(`${host} is rate-limiting downloads (HTTP 429) of ${label}.`, {
            cause,
            hint: `Wait a few minutes and try again${context.tokenSent ? '' : ', or set HF_TOKEN: signed-in downloads get a higher limit'}.`,
          })
        : new OperatorError(`Downloading ${label} from ${host} failed (${cause.message}).`, {
            cause,
            hint: context.where,
          });
    case 'connect-timeout':
      return new OperatorError(
        `No response from ${host} within ${duration(cause.detail.timeoutMs)} while starting the download of ${label}: ` +
          'the network or the server is down or very slow.',
        { cause, hint: `Try again later, or place the files yourself. ${context.where}` },
      );
    case 'idle-timeout':
      return new OperatorError(
        `The download of ${label} stalled: no data from ${host} for ${duration(cause.detail.timeoutMs)}. The unfinished file was deleted.`,
        { cause, hint: `Try again, or place the files yourself. ${context.where}` },
      );
    case 'network':
      return new ModelMissingError(
        entry.id,
        context.missing,
        `Could not reach ${host} (${networkPhrase(code, cause.message)}): are you offline? ${context.hint}`,
      );
  }
}

function duration(ms: number | undefined): string {
  if (ms === undefined) return 'too long';
  return ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${ms} ms`;
}

function networkPhrase(code: string | undefined, message: string): string {
  switch (code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'its name does not resolve';
    case 'ECONNREFUSED':
      return 'the connection was refused';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return 'the connection was reset';
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'the connection timed out';
    default:
      return code ? `${code}: ${message}` : message;
  }
}

function candidateDirectories(entry: ModelEntryBase, options: ResolveOptions): string[] {
  const dirs: string[] = [];
  if (options.path) dirs.push(path.resolve(options.path));
  if (options.modelsDir) {
    dirs.push(path.resolve(options.modelsDir, entry.directory));
    dirs.push(path.resolve(options.modelsDir, entry.id));
  }
  dirs.push(path.resolve(options.cacheDir, entry.id));
  return dirs;
}

function locate(directory: string, files: readonly ModelFile[]): ResolvedModel {
  return { directory, files: Object.fromEntries(files.map((f) => [f.path, path.join(directory, f.path)])) };
}

/**
 * What to do about missing files, for the model at hand only: its own files,
 * the command that fetches it, and for a research-only model placed by hand
 * the permissive model that needs no manual step.
 */
function placementHint(
  entry: ModelEntryBase,
  missing: readonly ModelFile[],
  candidates: readonly string[],
  options: ResolveOptions,
): string {
  const own = `Set MYVLM_MODELS_DIR to a folder with ${missing.map((f) => `${entry.directory}/${f.path}`).join(' and ')} inside`;
  switch (entry.source.kind) {
    case 'manual': {
      const alternative = entry.alternative
        ? ` Or use ${entry.alternative.id} instead (${entry.alternative.why}): set ${SETTING_OF_TASK[entry.task]}=${entry.alternative.id}, ` +
          `and \`${FETCH_DEFAULTS_COMMAND}\` prepares it.`
        : '';
      return `${entry.source.instructions} ${own} (looked in: ${candidates.join(', ')}).${alternative}`;
    }
    case 'generated':
      return `Generate it with \`${entry.source.command}\`. ${lookedIn(entry, candidates)}`;
    default: {
      const how = options.allowDownload
        ? `Run \`${FETCH_DEFAULTS_COMMAND}\` once with a working connection`
        : `Downloads are off (MYVLM_OFFLINE=1): run \`${FETCH_DEFAULTS_COMMAND}\` once on a machine that is online, with the same MYVLM_CACHE_DIR`;
      return `${how} (it fills ${options.cacheDir}). ${own} to use a copy of your own.`;
    }
  }
}

function lookedIn(entry: ModelEntryBase, candidates: readonly string[]): string {
  return `Looked in: ${candidates.join(', ')}. Set MYVLM_MODELS_DIR to a folder with ${entry.directory}/<file> inside.`;
}

function fileUrl(entry: ModelEntryBase, file: ModelFile, hubEndpoint: string): string {
  const remote = file.remotePath ?? file.path;
  switch (entry.source.kind) {
    case 'hub':
      return `${hubEndpoint}/${entry.source.repo}/resolve/${encodeURIComponent(entry.source.revision)}/${remote}`;
    case 'url':
      return `${entry.source.baseUrl.replace(/\/$/, '')}/${remote}`;
    default:
      // resolveModel never downloads manual or generated models.
      throw new InternalError(`Model ${entry.id} has no download source.`);
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as Error & { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message;
  }
  return String(error);
}

/** A one-line progress bar on a terminal stream, for the CLI and `npm start`. */
export function terminalProgress(stream: NodeJS.WriteStream = process.stderr): (p: DownloadProgress) => void {
  let last = 0;
  return (p) => {
    const now = Date.now();
    const done = p.totalBytes !== null && p.receivedBytes >= p.totalBytes;
    if (now - last < 200 && !done) return;
    last = now;
    const mib = (n: number) => (n / 1048576).toFixed(1);
    const share = p.totalBytes ? ` ${Math.floor((100 * p.receivedBytes) / p.totalBytes)}%` : '';
    const total = p.totalBytes ? `/${mib(p.totalBytes)}` : '';
    stream.write(`\rDownloading ${p.modelId}/${p.file}${share} ${mib(p.receivedBytes)}${total} MiB${done ? '\n' : ''}`);
  };
}
