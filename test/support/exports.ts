// Opening an export folder the way the product does (VlmExport on a session
// pool), for tests that drive the session loop or the renderer directly.
import { SessionPool } from '../../src/models/session.ts';
import { VlmExport, type OpenExportOptions } from '../../src/vlm/export/vlm-export.ts';

/** An opened export and the function that closes its sessions. */
export interface OpenedExport {
  model: VlmExport;
  close(): Promise<void>;
}

export async function openExport(
  dir: string,
  options: Omit<OpenExportOptions, 'sessions'> = {},
): Promise<OpenedExport> {
  const sessions = new SessionPool();
  try {
    const model = await VlmExport.open(dir, { ...options, sessions });
    return { model, close: () => sessions.dispose() };
  } catch (error) {
    await sessions.dispose();
    throw error;
  }
}

/** Replaces every image placeholder by `count` copies (what the renderer does for one photo). */
export function expandPlaceholders(ids: readonly number[], imageTokenId: number, count: number): number[] {
  return ids.flatMap((id) => (id === imageTokenId ? new Array<number>(count).fill(imageTokenId) : [id]));
}
