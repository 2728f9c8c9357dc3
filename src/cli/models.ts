// `myvlm models`: what models the assistant knows, their licences, and whether
// their files are here; `myvlm models fetch <id>` downloads one (licence
// first, then progress and checksums).
import { loadSettings } from '../config/settings.ts';
import { UserError } from '../errors.ts';
import { VLM_MODELS, vlmFiles } from '../models/catalog/vlm.ts';
import { uniformDtypes } from '../onnx/layout.ts';
import { type VlmDtype } from '../config/settings.ts';
import { parseFlags } from './flags.ts';
import { isResearchOnly, formatLicenceNotice, type LicenceNotice } from '../models/licence.ts';
import { allModels } from '../models/registry.ts';
import { resolveModel, resolveOptionsFrom, terminalProgress } from '../models/resolve.ts';

const FETCH_USAGE = 'Usage: myvlm models fetch <id> [--dtype fp32|fp16|q8|int8|uint8|q4|q4f16|bnb4]';

export async function modelsCommand(
  args: string[],
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  const settings = loadSettings(process.env);
  const base = resolveOptionsFrom(settings);
  if (args[0] === 'fetch') {
    const { values, positionals } = parseFlags(args.slice(1), { dtype: { type: 'string' } }, FETCH_USAGE);
    const id = positionals[0];
    const found = allModels().find((e) => e.id === id);
    if (!found) throw new UserError(`Unknown model "${id ?? ''}". Run \`myvlm models\` to list them.`);
    let entry = found;
    if (values.dtype !== undefined) {
      const vlm = VLM_MODELS.find((e) => e.id === id);
      if (!vlm)
        throw new UserError(`${id} is not a vision-language model; --dtype picks the precision of a VLM's graphs.`);
      if (!(vlm.dtypes as readonly string[]).includes(values.dtype))
        throw new UserError(`${id} comes in ${vlm.dtypes.join(', ')}; there is no ${values.dtype} version of it.`);
      entry = { ...vlm, files: vlmFiles(vlm, uniformDtypes(values.dtype as VlmDtype)) };
    }
    const onLicence = (notice: LicenceNotice) => err.write(`${formatLicenceNotice(notice)}\n`);
    const onProgress = err === process.stderr ? terminalProgress() : undefined;
    const resolved = await resolveModel(entry, { ...base, allowDownload: !settings.offline, onProgress, onLicence });
    out.write(`${entry.id}: ready in ${resolved.directory}\n`);
    return 0;
  }
  for (const entry of allModels()) {
    const status = await resolveModel(entry, { ...base, allowDownload: false }).then(
      (r) => `here (${r.directory})`,
      () => {
        if (entry.source.kind === 'manual') return 'missing (place by hand)';
        if (entry.source.kind === 'generated') return `generated on demand (\`${entry.source.command}\`)`;
        return 'missing (downloads on first use)';
      },
    );
    const tags = [entry.testOnly ? '[test model]' : '', isResearchOnly(entry) ? '[research use only]' : '']
      .filter(Boolean)
      .join(' ');
    out.write(`${entry.id.padEnd(28)} ${entry.task.padEnd(17)} ${status}${tags ? `  ${tags}` : ''}\n`);
  }
  return 0;
}
