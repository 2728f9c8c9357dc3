// Opening the personalized VLM from what a user configures: a registry id
// (`llava-interleave-qwen-0.5b`, `tiny-minigpt-v2`...) whose files are found or
// downloaded like every other model, or a folder holding an export; and a
// precision. The family comes from the registry or the folder's config.json.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { OperatorError } from '../errors.ts';
import { moduleLogger } from '../log.ts';
import { VLM_MODELS, vlmFiles, type VlmEntry } from '../models/catalog/vlm.ts';
import { uniformDtypes } from '../onnx/layout.ts';
import { type VlmDtype } from '../config/settings.ts';
import { resolveModel, type ResolveOptions } from '../models/resolve.ts';
import type { SessionPool } from '../models/session.ts';
import { describeDtypes } from './export/variants.ts';
import { VlmExport } from './export/vlm-export.ts';
import { VLM_FAMILIES } from './families.ts';
import { PersonalVlm } from './personal-vlm.ts';

const logger = moduleLogger('vlm');

/** Where to find models and how to run them. */
export interface OpenVlmOptions {
  resolve: ResolveOptions;
  /** The process's session pool: the three graphs (and later the teaching graph) open through it. */
  sessions: SessionPool;
  /** Precision of all three graphs; default the registry entry's choice, or for a folder the most exact one present. */
  dtype?: VlmDtype | null;
}

/** Where a VLM spec points: the registry entry (with the files resolved for the precision) or a folder. */
export interface LocatedVlm {
  /** The key concept embeddings are stored under. */
  id: string;
  dir: string;
  entry: VlmEntry | null;
}

/**
 * Resolves a registry id (downloading its files for the precision when
 * allowed) or checks a folder. The spec and precision come from the settings
 * or a command's flags: a bad one is the operator's to fix.
 */
export async function locateVlm(spec: string, options: Pick<OpenVlmOptions, 'resolve' | 'dtype'>): Promise<LocatedVlm> {
  const entry = VLM_MODELS.find((e) => e.id === spec);
  if (entry) {
    const dtypes = options.dtype ? uniformDtypes(options.dtype) : entry.dtype;
    if (options.dtype && !entry.dtypes.includes(options.dtype)) {
      throw new OperatorError(
        `${entry.id} comes in ${entry.dtypes.join(', ')}; there is no ${options.dtype} version of it.`,
        { hint: `Set MYVLM_VLM_DTYPE to one of ${entry.dtypes.join(', ')}, or leave it unset for the default.` },
      );
    }
    const resolved = await resolveModel({ ...entry, files: vlmFiles(entry, dtypes) }, options.resolve);
    return { id: entry.id, dir: resolved.directory, entry };
  }
  const dir = path.resolve(spec);
  if (existsSync(dir) && statSync(dir).isDirectory()) return { id: vlmIdForFolder(dir), dir, entry: null };
  throw new OperatorError(
    `"${spec}" is neither a known vision-language model (${VLM_MODELS.map((e) => e.id).join(', ')}) nor a model folder.`,
    { hint: 'Set MYVLM_VLM to a known model id or to the folder of an export; `npx myvlm models` lists the ids.' },
  );
}

/**
 * The embedding key of a model opened from a folder: `local:<folder name>`.
 * Concept embeddings are learned per model, so they are stored under the key
 * of the model they were learned on (whatever its precision).
 */
export function vlmIdForFolder(dir: string): string {
  return `local:${path.basename(path.resolve(dir))}`;
}

/** Opens the VLM `spec` names, in the chosen precision, through the session pool. */
export async function openVlm(spec: string, options: OpenVlmOptions): Promise<PersonalVlm> {
  const { id, dir, entry } = await locateVlm(spec, options);
  const dtype = options.dtype ? uniformDtypes(options.dtype) : (entry?.dtype ?? null);
  const model = await VlmExport.open(dir, {
    sessions: options.sessions,
    dtype,
    family: entry ? VLM_FAMILIES[entry.family] : undefined,
  });
  logger.info(
    {
      model: id,
      family: model.family.id,
      dtype: describeDtypes(model.dtypes),
      template: model.prompts.templateSource,
      dir,
    },
    'vision-language model ready',
  );
  return new PersonalVlm(id, model);
}
