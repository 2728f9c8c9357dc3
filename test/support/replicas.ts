// The VLM replicas in ../shared/models/vlm-replicas (random weights, written by
// the real export tools in every published precision), and the folders their
// extra decoders need: the other graphs and JSON files of the replica, with
// onnx/decoder_model_merged.onnx being the extra decoder (symbolic links, so
// nothing is copied).
import { existsSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { VLM_DTYPES, type VlmDtype } from '../../src/config/settings.ts';
import { SHARED_MODELS } from './paths.ts';

export const REPLICAS_DIR = path.join(SHARED_MODELS, 'vlm-replicas');

/** The replica folders: two families, and a Qwen one with large weights whose output depends strongly on its input. */
export const REPLICA_FOLDERS = [
  'llava-interleave-qwen-tiny',
  'llava-interleave-qwen-tiny-sharp',
  'llava-1.5-tiny',
] as const;
export type ReplicaFolder = (typeof REPLICA_FOLDERS)[number];

/** Decoders written by other tools, kept in each replica's extra/ folder. */
export const EXTRA_DECODERS = {
  ortopt: 'decoder_model_merged_ortopt.onnx',
  'genai-fp32': 'decoder_model_merged_genai_fp32.onnx',
  'genai-int4': 'decoder_model_merged_genai_int4.onnx',
} as const;
export type ExtraDecoder = keyof typeof EXTRA_DECODERS;

/** One way to open a replica: a precision of its onnx/ graphs, or an extra decoder beside its fp32 vision encoder and embeddings. */
export type ReplicaVariant =
  { folder: ReplicaFolder; dtype: VlmDtype } | { folder: ReplicaFolder; extra: ExtraDecoder };

/** Every precision and every extra decoder of every replica. */
export const ALL_REPLICA_VARIANTS: readonly ReplicaVariant[] = REPLICA_FOLDERS.flatMap((folder) => [
  ...VLM_DTYPES.map((dtype): ReplicaVariant => ({ folder, dtype })),
  ...(Object.keys(EXTRA_DECODERS) as ExtraDecoder[]).map((extra): ReplicaVariant => ({ folder, extra })),
]);

export function describeVariant(variant: ReplicaVariant): string {
  return 'dtype' in variant ? `${variant.folder} ${variant.dtype}` : `${variant.folder} ${variant.extra}`;
}

/**
 * The folder and precision that open a variant: the replica itself, or (for
 * an extra decoder) a folder under `scratch` linking the replica's files with
 * the extra decoder as its fp32 decoder.
 */
export function variantFolder(variant: ReplicaVariant, scratch: string): { dir: string; dtype: VlmDtype } {
  const replica = path.join(REPLICAS_DIR, variant.folder);
  if ('dtype' in variant) return { dir: replica, dtype: variant.dtype };
  const dir = path.join(scratch, `${variant.folder}-${variant.extra}`);
  if (existsSync(dir)) return { dir, dtype: 'fp32' };
  mkdirSync(path.join(dir, 'onnx'), { recursive: true });
  for (const entry of readdirSync(replica))
    if (entry.endsWith('.json') || entry.endsWith('.jinja'))
      symlinkSync(path.join(replica, entry), path.join(dir, entry));
  for (const graph of ['vision_encoder.onnx', 'embed_tokens.onnx'])
    symlinkSync(path.join(replica, 'onnx', graph), path.join(dir, 'onnx', graph));
  symlinkSync(
    path.join(replica, 'extra', EXTRA_DECODERS[variant.extra]),
    path.join(dir, 'onnx', 'decoder_model_merged.onnx'),
  );
  return { dir, dtype: 'fp32' };
}
