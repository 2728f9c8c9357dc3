// Exports of the same weights name their tensors differently (`input` in one,
// `input.1` in another), so a registry name falls back to a graph's only one.

/** The registry's tensor name, or the graph's only tensor of that kind. */
export function pickTensorName(names: readonly string[], wanted: string, what: 'input' | 'output'): string {
  if (names.includes(wanted)) return wanted;
  if (names.length === 1) return names[0];
  throw new Error(`the model has no ${what} "${wanted}" (it has ${names.join(', ')})`);
}
