// Choosing the next token in the project's own generation loop: the most
// likely one (greedy, MiniGPT-v2's default), or a draw after temperature and
// top-p (nucleus) filtering from a seeded generator, so an answer repeats
// exactly under the same seed.
import { argmax } from '../onnx/session-loop.ts';

/** How the next token is picked. */
export interface TokenChoice {
  sample: boolean;
  temperature: number;
  topP: number;
}

/** Picks a token from one position's logits; `random` draws uniformly from [0, 1). */
export function chooseToken(logits: ArrayLike<number>, choice: TokenChoice, random: () => number): number {
  if (!choice.sample) return argmax(logits);
  const temperature = choice.temperature > 0 ? choice.temperature : 1;
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  const order = Array.from({ length: logits.length }, (_, i) => i);
  const weights = Float64Array.from(order, (i) => Math.exp((logits[i] - max) / temperature));
  let total = 0;
  for (const w of weights) total += w;
  order.sort((a, b) => weights[b] - weights[a] || a - b);
  // Keep the smallest set of most likely tokens whose probability reaches top-p (always at least one).
  const kept: number[] = [];
  let mass = 0;
  for (const token of order) {
    kept.push(token);
    mass += weights[token] / total;
    if (mass >= choice.topP) break;
  }
  let keptTotal = 0;
  for (const token of kept) keptTotal += weights[token];
  let draw = random() * keptTotal;
  for (const token of kept) {
    draw -= weights[token];
    if (draw < 0) return token;
  }
  return kept[kept.length - 1];
}
