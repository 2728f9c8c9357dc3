// Finding a model's files: an explicit folder, then MYVLM_MODELS_DIR, then the
// download cache, then (when allowed) a download from the Hugging Face hub or
// the model's URL, verified by size and sha256. Offline, a clear error names
// the missing files and where to put them.
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { ModelMissingError, UserError } from '../errors.ts';
import { moduleLogger } from '../log.ts';
import type { ModelEntryBase, ModelFile } from './entry.ts';

const logger = moduleLogger('models');

export interface DownloadProgress {
  modelId: string;
  file: string;
  receivedBytes: number;
  /** Null when the server sent no length and the registry knows none. */
  totalBytes: number | null;
}

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
  onProgress?: (progress: DownloadProgress) => void;
}

export interface ResolvedModel {
  /** The folder the files were found in. */
  directory: string;
  /** Absolute path of each registry file, by its `path`. */
  files: Record<string, string>;
}

/** Locates (or downloads) every file of a model. */
export async function resolveModel(entry: ModelEntryBase, options: ResolveOptions): Promise<ResolvedModel> {
  const candidates = candidateDirectories(entry, options);
  for (const directory of candidates) {
    if (entry.files.every((f) => existsSync(path.join(directory, f.path)))) return locate(directory, entry.files);
  }
  const cache = path.join(options.cacheDir, entry.id);
  const missing = entry.files.filter((f) => !existsSync(path.join(cache, f.path)));
  const hint = placementHint(entry, candidates);
  if (!options.allowDownload || entry.source.kind === 'manual' || entry.source.kind === 'generated') {
    throw new ModelMissingError(entry.id, missing.map((f) => f.path), hint);
  }
  for (const file of missing) {
    const url = fileUrl(entry, file, options.hubEndpoint ?? 'https://huggingface.co');
    await downloadFile(entry.id, file, url, path.join(cache, file.path), options.onProgress).catch((cause: unknown) => {
      if (cause instanceof UserError) throw cause;
      throw new ModelMissingError(entry.id, missing.map((f) => f.path), `Downloading ${url} failed (${describe(cause)}); are you offline? ${hint}`);
    });
  }
  return locate(cache, entry.files);
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

function placementHint(entry: ModelEntryBase, candidates: readonly string[]): string {
  const source =
    entry.source.kind === 'manual'
      ? entry.source.instructions
      : entry.source.kind === 'generated'
        ? `Generate it with \`${entry.source.command}\`.`
        : 'Connect to the internet once to download it, or place the files yourself.';
  return `${source} Looked in: ${candidates.join(', ')}. Set MYVLM_MODELS_DIR to a folder with ${entry.directory}/<file> inside.`;
}

function fileUrl(entry: ModelEntryBase, file: ModelFile, hubEndpoint: string): string {
  const remote = file.remotePath ?? file.path;
  switch (entry.source.kind) {
    case 'hub':
      return `${hubEndpoint.replace(/\/$/, '')}/${entry.source.repo}/resolve/${encodeURIComponent(entry.source.revision)}/${remote}`;
    case 'url':
      return `${entry.source.baseUrl.replace(/\/$/, '')}/${remote}`;
    default:
      throw new Error(`model ${entry.id} has no download source`);
  }
}

/** Streams one file to `<target>.part`, hashing as it goes, then checks and renames it into place. */
async function downloadFile(modelId: string, file: ModelFile, url: string, target: string, onProgress?: (p: DownloadProgress) => void): Promise<void> {
  await mkdir(path.dirname(target), { recursive: true });
  const partial = `${target}.part`;
  logger.info({ modelId, file: file.path, url }, 'downloading model file');
  const response = await fetch(url, { redirect: 'follow' });
  if (!response.ok || !response.body) throw new Error(`HTTP ${response.status} ${response.statusText}`);
  const header = Number(response.headers.get('content-length'));
  const totalBytes = file.bytes ?? (Number.isFinite(header) && header > 0 ? header : null);
  const hash = createHash('sha256');
  const out = createWriteStream(partial);
  let receivedBytes = 0;
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      receivedBytes += chunk.byteLength;
      if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
      onProgress?.({ modelId, file: file.path, receivedBytes, totalBytes });
    }
    await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
  } catch (error) {
    out.destroy();
    await rm(partial, { force: true });
    throw error;
  }
  const digest = hash.digest('hex');
  if ((file.bytes !== undefined && receivedBytes !== file.bytes) || (file.sha256 !== undefined && digest !== file.sha256)) {
    await rm(partial, { force: true });
    throw new UserError(
      `The download of ${modelId}/${file.path} is corrupt: got ${receivedBytes} bytes with sha256 ${digest}, expected ${file.bytes ?? '?'} bytes with sha256 ${file.sha256 ?? '?'}. It was deleted; try again.`,
    );
  }
  await rename(partial, target);
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
