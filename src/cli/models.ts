// `myvlm models`: what models the assistant knows, their licences, and whether
// their files are here; `myvlm models fetch <id>` downloads one (licence
// first, then progress and checksums).
import { loadSettings } from '../config/settings.ts';
import { UserError } from '../errors.ts';
import { isResearchOnly, formatLicenceNotice, type LicenceNotice } from '../models/licence.ts';
import { allModels } from '../models/registry.ts';
import { resolveModel, resolveOptionsFrom, terminalProgress } from '../models/resolve.ts';

export async function modelsCommand(args: string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  const settings = loadSettings(process.env);
  const base = resolveOptionsFrom(settings);
  if (args[0] === 'fetch') {
    const id = args[1];
    const entry = allModels().find((e) => e.id === id);
    if (!entry) throw new UserError(`Unknown model "${id ?? ''}". Run \`myvlm models\` to list them.`);
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
    const tags = [entry.testOnly ? '[test model]' : '', isResearchOnly(entry) ? '[research use only]' : ''].filter(Boolean).join(' ');
    out.write(`${entry.id.padEnd(28)} ${entry.task.padEnd(17)} ${status}${tags ? `  ${tags}` : ''}\n`);
  }
  return 0;
}
