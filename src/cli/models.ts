// `myvlm models`: what models the assistant knows, their licences, and whether
// their files are here; `myvlm models fetch <id>` downloads one (licence and
// size first, then progress and checksums); `myvlm models fetch --defaults`
// prepares every model the settings use, so the assistant then works offline.
import { loadSettings, type Settings } from '../config/settings.ts';
import { messageFor, OperatorError, UsageError } from '../errors.ts';
import { VLM_MODELS, vlmFiles } from '../models/catalog/vlm.ts';
import type { ModelEntryBase } from '../models/entry.ts';
import { uniformDtypes } from '../onnx/layout.ts';
import { type VlmDtype } from '../config/settings.ts';
import { log } from '../log.ts';
import { parseFlags } from './flags.ts';
import { isResearchOnly, formatLicenceNotice, type LicenceNotice } from '../models/licence.ts';
import { configuredModels } from '../models/readiness.ts';
import { allModels } from '../models/registry.ts';
import { findModelFiles, resolveModel, resolveOptionsFrom, terminalProgress } from '../models/resolve.ts';

const FETCH_USAGE =
  'Usage: myvlm models fetch <id> [--dtype fp32|fp16|q8|int8|uint8|q4|q4f16|bnb4] | myvlm models fetch --defaults';

export async function modelsCommand(
  args: string[],
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  const settings = loadSettings(process.env);
  const base = resolveOptionsFrom(settings);
  if (args[0] === 'fetch') {
    // The licence, the progress and one line per model say it all; routine logs would interleave.
    if (!process.env.MYVLM_LOG_LEVEL) log.level = 'warn';
    const { values, positionals } = parseFlags(
      args.slice(1),
      { dtype: { type: 'string' }, defaults: { type: 'boolean' } },
      FETCH_USAGE,
    );
    const onLicence = (notice: LicenceNotice) => err.write(`${formatLicenceNotice(notice)}\n`);
    const onProgress = err === process.stderr ? terminalProgress() : undefined;
    const entries = values.defaults ? configuredModels(settings) : [chosenModel(positionals[0], values.dtype)];
    let failed = 0;
    for (const entry of entries) {
      try {
        const resolved = await resolveModel(entry, { ...base, onProgress, onLicence });
        out.write(`${entry.id}: ready in ${resolved.directory}\n`);
      } catch (error) {
        // One model placed by hand must not keep the others from being fetched.
        if (!values.defaults || !(error instanceof OperatorError)) throw error;
        failed++;
        err.write(`${entry.id}: ${messageFor(error, 'operator')}\n`);
      }
    }
    return failed === 0 ? 0 : 1;
  }
  for (const entry of allModels()) {
    const here = findModelFiles(entry, base);
    const status = here ? `here (${here.directory})` : absent(entry, settings);
    const tags = [entry.testOnly ? '[test model]' : '', isResearchOnly(entry) ? '[research use only]' : '']
      .filter(Boolean)
      .join(' ');
    out.write(`${entry.id.padEnd(28)} ${entry.task.padEnd(17)} ${status}${tags ? `  ${tags}` : ''}\n`);
  }
  return 0;
}

/** `fetch <id> [--dtype]`: the registry entry, with a VLM's files at the precision asked. */
function chosenModel(id: string | undefined, dtype: string | undefined): ModelEntryBase {
  const found = allModels().find((e) => e.id === id);
  if (!found) throw new UsageError(`Unknown model "${id ?? ''}". Run \`myvlm models\` to list them.`);
  if (dtype === undefined) return found;
  const vlm = VLM_MODELS.find((e) => e.id === id);
  if (!vlm)
    throw new UsageError(`${id} is not a vision-language model; --dtype picks the precision of a VLM's graphs.`);
  if (!(vlm.dtypes as readonly string[]).includes(dtype))
    throw new UsageError(`${id} comes in ${vlm.dtypes.join(', ')}; there is no ${dtype} version of it.`);
  // The entry's approximate size is that of its own precision.
  const { approxBytes: _ownPrecision, ...rest } = vlm;
  return { ...rest, files: vlmFiles(vlm, uniformDtypes(dtype as VlmDtype)) };
}

function absent(entry: ModelEntryBase, settings: Settings): string {
  if (entry.packaged) return `made from ${entry.packaged.package} on first use (no download)`;
  switch (entry.source.kind) {
    case 'manual':
      return 'missing (place by hand)';
    case 'generated':
      return `generated on demand (\`${entry.source.command}\`)`;
    default:
      return settings.offline ? 'missing (MYVLM_OFFLINE=1: no download)' : 'missing (downloads on first use)';
  }
}
