// The model a one-shot teaching command works on, from its --vlm and --dtype
// flags and the settings: checked, located (downloaded when allowed, with
// progress and the licence notice on stderr), with the precision and the
// session options to open it with. `myvlm teach` and `myvlm bench teach`
// share it, so both open a model exactly as a lesson would.
import { loadSettings, type Settings } from '../config/settings.ts';
import { UserError } from '../errors.ts';
import { log } from '../log.ts';
import { formatLicenceNotice } from '../models/licence.ts';
import { resolveOptionsFrom, terminalProgress } from '../models/resolve.ts';
import type { RuntimeOptions } from '../models/session.ts';
import { type GraphDtypes } from '../onnx/layout.ts';
import { VLM_DTYPES, type VlmDtype } from '../config/settings.ts';
import { locateVlm, type LocatedVlm } from '../vlm/load.ts';

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
    throw new UserError(`--dtype takes one of ${VLM_DTYPES.join(', ')}, not "${raw}".`);
  return (raw as VlmDtype | undefined) ?? null;
}

/** Resolves --vlm and --dtype (`quiet`: no download progress on stderr, for --json). */
export async function vlmTarget(
  flags: { vlm?: string; dtype?: string },
  usage: string,
  quiet: boolean,
  settings: Settings = loadSettings(process.env),
): Promise<VlmTarget> {
  const dtype = dtypeFlag(flags.dtype);
  const spec = flags.vlm ?? settings.vlm;
  if (!spec) throw new UserError(`Name the model with --vlm (or set MYVLM_VLM).\n${usage}`);
  if (!process.env.MYVLM_LOG_LEVEL) log.level = 'warn';
  const chosen = dtype ?? settings.vlmDtype;
  const located = await locateVlm(spec, {
    dtype: chosen,
    resolve: resolveOptionsFrom(settings, {
      onProgress: quiet ? undefined : terminalProgress(),
      onLicence: (notice) => process.stderr.write(`${formatLicenceNotice(notice)}\n`),
    }),
  });
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
