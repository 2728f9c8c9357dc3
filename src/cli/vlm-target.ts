// The model a one-shot command works on, from its --vlm and --dtype flags and
// the settings: checked, located (downloaded when allowed, with progress and
// the licence notice on stderr), with the precision and the session options
// to open it with. `myvlm teach` and `myvlm bench teach` share it, so both
// open a model exactly as a lesson would; `caption`, `ask` and `refer` locate
// the model they were told to use with it before answering.
// Locating loads the model registry and the hub client, so it is imported
// only once the arguments are known to be right.
import type { Settings } from '../config/settings.ts';
import { UsageError } from '../errors.ts';
import type { RuntimeOptions } from '../models/session.ts';
import type { GraphDtypes } from '../onnx/layout.ts';
import { VLM_DTYPES, type VlmDtype } from '../config/settings.ts';
import type { LocatedVlm } from '../vlm/load.ts';

/** A located model and how to open it. */
export interface VlmTarget {
  settings: Settings;
  located: LocatedVlm;
  /** --dtype, else MYVLM_VLM_DTYPE, else the registry's choice; null: the most exact files present. */
  dtype: VlmDtype | GraphDtypes | null;
  runtime: RuntimeOptions;
}

/** The --dtype flag, checked. */
export function dtypeFlag(raw: string | undefined): VlmDtype | null {
  if (raw !== undefined && !(VLM_DTYPES as readonly string[]).includes(raw))
    throw new UsageError(`--dtype takes one of ${VLM_DTYPES.join(', ')}, not "${raw}".`);
  return (raw as VlmDtype | undefined) ?? null;
}

/**
 * Finds the model `spec` names (a registry id, downloaded when allowed, or an
 * export's folder). A model that was asked for and is not there is the
 * command's failure, an OperatorError: a one-shot command never quietly
 * answers without the model it was told to use.
 */
export async function locateNamedVlm(
  spec: string,
  dtype: VlmDtype | null,
  settings: Settings,
  quiet: boolean,
): Promise<LocatedVlm> {
  const [{ locateVlm }, { resolveOptionsFrom, terminalProgress }, { formatLicenceNotice }] = await Promise.all([
    import('../vlm/load.ts'),
    import('../models/resolve.ts'),
    import('../models/licence.ts'),
  ]);
  return locateVlm(spec, {
    dtype,
    resolve: resolveOptionsFrom(settings, {
      onProgress: quiet ? undefined : terminalProgress(),
      onLicence: (notice) => process.stderr.write(`${formatLicenceNotice(notice)}\n`),
    }),
  });
}

/** The model a command that needs one must use: --vlm, else MYVLM_VLM; naming none is a usage mistake. */
export function requiredVlm(flag: string | undefined, settings: Settings, usage: string): string {
  const spec = flag ?? settings.vlm;
  if (!spec) throw new UsageError(`Name the model with --vlm (or set MYVLM_VLM).\n${usage}`);
  return spec;
}

/** Locates `spec` in the precision `dtype` (else MYVLM_VLM_DTYPE); `quiet`: no download progress on stderr, for --json. */
export async function vlmTarget(
  spec: string,
  dtype: VlmDtype | null,
  quiet: boolean,
  settings: Settings,
): Promise<VlmTarget> {
  const { log } = await import('../log.ts');
  // Routine logs would mix with the report; warnings still show.
  if (!process.env.MYVLM_LOG_LEVEL) log.level = 'warn';
  const chosen = dtype ?? settings.vlmDtype;
  const located = await locateNamedVlm(spec, chosen, settings, quiet);
  return {
    settings,
    located,
    dtype: chosen ?? located.entry?.dtype ?? null,
    runtime: {
      executionProvider: settings.executionProvider,
      intraOpThreads: settings.intraOpThreads,
      interOpThreads: 0,
    },
  };
}
