// Models described as data: what a model is for, which files make it, where
// they come from, how to check them, and how to feed it. Task-specific
// settings live in each task's catalog file (src/models/catalog/).
import type { Preprocess } from '../image/tensor.ts';
import type { PackagedWeights } from './packaged.ts';

export type ModelTask = 'face-detection' | 'face-recognition' | 'image-features' | 'vlm';

/**
 * What a model's licence lets its users do, as the notice before its first
 * download tells them: `permissive` (any use, with attribution), or
 * `research-only` (research or evaluation; no commercial use without the
 * licensor's permission).
 */
export type LicenceUse = 'permissive' | 'research-only';

export interface ModelFile {
  /** Path inside the model's directory, e.g. `onnx/decoder_model_merged.onnx`. */
  path: string;
  /** Path at the source when it differs from `path` (hub file names vary). */
  remotePath?: string;
  /** Exact size when known; checked after download. */
  bytes?: number;
  /** sha256 (hex) when known; checked after download and reported on mismatch. */
  sha256?: string;
}

/** Where a model's files come from when they are not on this machine. */
export type ModelSource =
  | { kind: 'hub'; repo: string; revision: string }
  | { kind: 'url'; baseUrl: string }
  /** Licence terms (or packaging) require the user to fetch and place the files themselves. */
  | { kind: 'manual'; instructions: string }
  /** The project generates the files itself (tiny test models). */
  | { kind: 'generated'; command: string };

export interface ModelEntryBase {
  id: string;
  task: ModelTask;
  /** Architecture family, e.g. `yunet`, `scrfd`, `arcface`, `clip`, `llava`. */
  family: string;
  description: string;
  licence: string;
  /** What the licence allows; unset, a licence text naming research or non-commercial use counts as research-only. */
  licenceUse?: LicenceUse;
  /**
   * A permissively licensed stand-in for a research-only model (a registry id
   * of the same task, and why it fits), named in its licence notice and in the
   * message about its missing files.
   */
  alternative?: { id: string; why: string };
  /**
   * Approximate download of `files` in bytes, for entries whose file sizes
   * are not all known exactly (hub pages show "308 MB", not bytes); shown
   * before a download starts.
   */
  approxBytes?: number;
  /** Folder under MYVLM_MODELS_DIR or the cache that holds `files`. */
  directory: string;
  files: ModelFile[];
  source: ModelSource;
  /**
   * Set when the weights come with `npm install` inside a package: resolving
   * the model converts them into `files` in the cache on first use, offline.
   */
  packaged?: PackagedWeights;
  /** True for the small models that tests use; false for what real users should run. */
  testOnly?: boolean;
}

/** A single-graph vision model: one ONNX file, one image input. */
export interface VisionModelEntry extends ModelEntryBase {
  preprocess: Preprocess;
  /** Name of the image input tensor. */
  input: string;
}
