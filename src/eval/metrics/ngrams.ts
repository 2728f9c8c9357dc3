// N-gram counts of a tokenized caption, shared by BLEU and CIDEr (coco-caption
// counts them the same way for both: every n from 1 to 4, overlapping).
// An n-gram is keyed by its tokens joined with a space: tokens never hold one.

/** How many times each 1..maxN-gram occurs in `tokens`. */
export function ngramCounts(tokens: readonly string[], maxN: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let n = 1; n <= maxN; n++) {
    for (let start = 0; start + n <= tokens.length; start++) {
      const key = tokens.slice(start, start + n).join(' ');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return counts;
}

/** The order of an n-gram key: how many tokens it holds. */
export function ngramOrder(key: string): number {
  let order = 1;
  for (const char of key) if (char === ' ') order++;
  return order;
}
