// The licence notice a user sees before a model's first download: what the
// licence is, and for research-only licences a plain warning and, when the
// registry knows one, a permissively licensed alternative.
import type { ModelEntryBase } from './entry.ts';

export interface LicenceNotice {
  modelId: string;
  licence: string;
  researchOnly: boolean;
  /** The warning for research-only licences, null for permissive ones. */
  warning: string | null;
  /** A permissive stand-in from the registry entry, or null. */
  alternative: string | null;
}

/** Licence texts that limit use to research or non-commercial purposes. */
const RESTRICTIVE = /research|non-commercial|noncommercial/i;

/** Whether a model may only be used for research, from its entry (explicit, or read from the licence text). */
export function isResearchOnly(entry: ModelEntryBase): boolean {
  if (entry.licenceUse !== undefined) return entry.licenceUse === 'research-only';
  return RESTRICTIVE.test(entry.licence);
}

export function licenceNotice(entry: ModelEntryBase): LicenceNotice {
  const researchOnly = isResearchOnly(entry);
  return {
    modelId: entry.id,
    licence: entry.licence,
    researchOnly,
    warning: researchOnly
      ? `${entry.id} is licensed for research and evaluation only: do not use it in a commercial product or service without the licensor's permission.`
      : null,
    alternative: researchOnly ? (entry.alternative ?? null) : null,
  };
}

/** The notice as lines for a terminal or a log. */
export function formatLicenceNotice(notice: LicenceNotice): string {
  const lines = [`Licence of ${notice.modelId}: ${notice.licence}.`];
  if (notice.warning) lines.push(`Warning: ${notice.warning}`);
  if (notice.alternative) lines.push(`Permissive alternative: ${notice.alternative}`);
  return lines.join('\n');
}
