// Who hears about downloads: the caller of one resolve (a command's progress
// bar), and anyone watching every download of the process (a chat turn that
// wants to show "Downloading clip-vit-b32: 40% of 352 MB" while it waits for
// a model it needs). A download is shared by everyone who waits for it, so
// the process-wide watchers are how a second waiter sees its progress too.
import { formatBytes, formatLicenceNotice, type LicenceNotice } from './licence.ts';

export interface DownloadProgress {
  modelId: string;
  file: string;
  receivedBytes: number;
  /** Null when the server sent no length and the registry knows none. */
  totalBytes: number | null;
}

export interface DownloadWatcher {
  /** The licence of a model about to be downloaded, before its first byte. */
  onLicence?: (notice: LicenceNotice) => void;
  onProgress?: (progress: DownloadProgress) => void;
}

const watchers = new Set<DownloadWatcher>();

/** Hears every download of this process until the returned function is called. */
export function watchDownloads(watcher: DownloadWatcher): () => void {
  watchers.add(watcher);
  return () => watchers.delete(watcher);
}

/** Tells every watcher (resolve.ts calls these; a watcher that throws must not break a download). */
export function announceToWatchers(event: { notice: LicenceNotice } | { progress: DownloadProgress }): void {
  for (const watcher of watchers) {
    try {
      if ('notice' in event) watcher.onLicence?.(event.notice);
      else watcher.onProgress?.(event.progress);
    } catch {
      // A display problem is the watcher's own; the download goes on.
    }
  }
}

/** One line for a chat status or a log: "Downloading clip-vit-b32 (vision_model.onnx): 40% of 352 MB". */
export function downloadStatusText(p: DownloadProgress): string {
  const what = `Downloading ${p.modelId} (${p.file})`;
  if (p.totalBytes === null) return `${what}: ${formatBytes(p.receivedBytes)} so far`;
  return `${what}: ${Math.floor((100 * p.receivedBytes) / p.totalBytes)}% of ${formatBytes(p.totalBytes)}`;
}

/** A status update as the conversation core's `onStatus` takes it (structurally: models sit below the assistant). */
export interface DownloadStatus {
  text: string;
  progress?: number;
}

/** How often a chat status may change during a download: messengers rate-limit message edits. */
export const DOWNLOAD_STATUS_INTERVAL_MS = 2000;

/**
 * Shows every download as status updates while it is watched: the licence
 * notice first, then progress at most every DOWNLOAD_STATUS_INTERVAL_MS, and
 * the end of each file. Returns the function that stops watching (call it
 * when the turn ends).
 */
export function statusWhileDownloading(
  onStatus: (update: DownloadStatus) => void | Promise<void>,
  intervalMs = DOWNLOAD_STATUS_INTERVAL_MS,
): () => void {
  let last = 0;
  const show = (update: DownloadStatus) => void Promise.resolve(onStatus(update)).catch(() => undefined);
  return watchDownloads({
    onLicence: (notice) => show({ text: formatLicenceNotice(notice) }),
    onProgress: (p) => {
      const done = p.totalBytes !== null && p.receivedBytes >= p.totalBytes;
      const now = Date.now();
      if (!done && now - last < intervalMs) return;
      last = now;
      show({
        text: downloadStatusText(p),
        ...(p.totalBytes === null ? {} : { progress: p.receivedBytes / p.totalBytes }),
      });
    },
  });
}
