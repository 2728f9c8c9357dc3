// Text shaping every messenger needs: progress lines and splitting long
// answers under a platform's message limit.
import type { StatusUpdate } from '../../src/assistant/turn.ts';

/** "Learning Anna's face… (40%)" */
export function formatStatus(update: StatusUpdate): string {
  const text = update.text.trim() || '…';
  if (update.progress === undefined || !Number.isFinite(update.progress)) return text;
  return `${text} (${Math.round(Math.min(1, Math.max(0, update.progress)) * 100)}%)`;
}

/** Splits text into parts of at most `limit` characters, at line breaks or spaces where possible. */
export function splitText(text: string, limit: number): string[] {
  const parts: string[] = [];
  let rest = text.trim();
  while (rest.length > limit) {
    const window = rest.slice(0, limit);
    // Prefer a line break, then a space, unless either would leave a very short part.
    const line = window.lastIndexOf('\n');
    const space = window.lastIndexOf(' ');
    const at = line >= limit * 0.3 ? line : space >= limit * 0.3 ? space : limit;
    parts.push(rest.slice(0, at).trimEnd());
    rest = rest.slice(at).trimStart();
  }
  if (rest) parts.push(rest);
  return parts;
}
