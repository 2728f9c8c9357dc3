// The model registry: every model the assistant knows, looked up by id.
import { OperatorError } from '../errors.ts';
import type { ModelEntryBase } from './entry.ts';
import { FACE_DETECTORS, FACE_RECOGNIZERS, type FaceDetectorEntry, type FaceRecognizerEntry } from './catalog/faces.ts';
import { IMAGE_FEATURE_EXTRACTORS, type ImageFeaturesEntry } from './catalog/features.ts';
import { VLM_MODELS, type VlmEntry } from './catalog/vlm.ts';

export interface EntryByTask {
  'face-detection': FaceDetectorEntry;
  'face-recognition': FaceRecognizerEntry;
  'image-features': ImageFeaturesEntry;
  vlm: VlmEntry;
}

const BY_TASK: { [T in keyof EntryByTask]: readonly EntryByTask[T][] } = {
  'face-detection': FACE_DETECTORS,
  'face-recognition': FACE_RECOGNIZERS,
  'image-features': IMAGE_FEATURE_EXTRACTORS,
  vlm: VLM_MODELS,
};

/** All entries of every task, for listings (`myvlm models`). */
export function allModels(): ModelEntryBase[] {
  return Object.values(BY_TASK).flat();
}

/** Looks a model up by id within a task; an unknown id (a setting or a flag) lists the known ones. */
export function findModel<T extends keyof EntryByTask>(task: T, id: string): EntryByTask[T] {
  const entries = BY_TASK[task] as readonly EntryByTask[T][];
  const entry = entries.find((e) => e.id === id);
  if (!entry) {
    throw new OperatorError(`Unknown ${task} model "${id}". Known: ${entries.map((e) => e.id).join(', ')}.`, {
      hint: 'Choose one of the known ids; `npx myvlm models` lists every model and whether its files are here.',
    });
  }
  return entry;
}
