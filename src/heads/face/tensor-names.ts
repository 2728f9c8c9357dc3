// Exports of the same weights name their tensors differently (`input` in one,
// `input.1` in another), so a registry name falls back to a graph's only one.
import { OperatorError } from '../../errors.ts';

/**
 * A face model whose graph is not what its catalog entry says. Only the
 * operator can fix that: the files placed or downloaded are another export.
 */
export function wrongFaceExport(problem: string): OperatorError {
  return new OperatorError(problem, {
    hint: 'Use the export its entry in src/models/catalog/faces.ts describes, or choose another model with MYVLM_FACE_DETECTOR or MYVLM_FACE_RECOGNIZER.',
  });
}

/** The registry's tensor name, or the graph's only tensor of that kind. */
export function pickTensorName(names: readonly string[], wanted: string, what: 'input' | 'output'): string {
  if (names.includes(wanted)) return wanted;
  if (names.length === 1) return names[0];
  throw wrongFaceExport(`The face model has no ${what} "${wanted}" (it has ${names.join(', ')}).`);
}
