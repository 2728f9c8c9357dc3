// The licence notice a user sees before a model's first download: what the
// licence is, how much will be downloaded, and for research-only licences a
// plain warning and, when the registry knows one, a permissively licensed
// alternative.
import type { ModelEntryBase, ModelFile } from './entry.ts';

export interface LicenceNotice {
  modelId: string;
  licence: string;
  researchOnly: boolean;
  /** The warning for research-only licences, null for permissive ones. */
  warning: string | null;
  /** A permissive stand-in from the registry entry ("<id> (<why>)"), or null. */
  alternative: string | null;
  /** What the download weighs, in words ("227 KB", "about 0.9 GB"); null when nothing says. */
  size: string | null;
}

/** Licence texts that limit use to research or non-commercial purposes. */
const RESTRICTIVE = /research|non-commercial|noncommercial/i;

/** Whether a model may only be used for research, from its entry (explicit, or read from the licence text). */
export function isResearchOnly(entry: ModelEntryBase): boolean {
  if (entry.licenceUse !== undefined) return entry.licenceUse === 'research-only';
  return RESTRICTIVE.test(entry.licence);
}

/** Bytes in the units a download dialog uses (decimal: what hub pages show). */
export function formatBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  if (bytes >= 1e6) return `${Math.round(bytes / 1e6)} MB`;
  return `${Math.max(1, Math.round(bytes / 1e3))} KB`;
}

/**
 * The size of downloading `files` of `entry`: exact when every file's size
 * is known, else the entry's approximation, else null.
 */
export function downloadSize(entry: ModelEntryBase, files: readonly ModelFile[] = entry.files): string | null {
  if (files.length > 0 && files.every((f) => f.bytes !== undefined))
    return formatBytes(files.reduce((sum, f) => sum + (f.bytes as number), 0));
  return entry.approxBytes === undefined ? null : `about ${formatBytes(entry.approxBytes)}`;
}

export function licenceNotice(entry: ModelEntryBase, files: readonly ModelFile[] = entry.files): LicenceNotice {
  const researchOnly = isResearchOnly(entry);
  return {
    modelId: entry.id,
    licence: entry.licence,
    researchOnly,
    warning: researchOnly
      ? `${entry.id} is licensed for research and evaluation only: do not use it in a commercial product or service without the licensor's permission.`
      : null,
    alternative: researchOnly && entry.alternative ? `${entry.alternative.id} (${entry.alternative.why})` : null,
    size: downloadSize(entry, files),
  };
}

/** The notice as lines for a terminal or a log. */
export function formatLicenceNotice(notice: LicenceNotice): string {
  const lines = [`Licence of ${notice.modelId}: ${notice.licence}.${notice.size ? ` Download: ${notice.size}.` : ''}`];
  if (notice.warning) lines.push(`Warning: ${notice.warning}`);
  if (notice.alternative) lines.push(`Permissive alternative: ${notice.alternative}`);
  return lines.join('\n');
}
