// `myvlm models`: what models the assistant knows and whether their files are
// here; `myvlm models fetch <id>` downloads one (with progress and checksums).
import { loadSettings } from '../config/settings.ts';
import { UserError } from '../errors.ts';
import { allModels } from '../models/registry.ts';
import { resolveModel, terminalProgress } from '../models/resolve.ts';

export async function modelsCommand(args: string[]): Promise<number> {
  const settings = loadSettings(process.env);
  const base = { modelsDir: settings.modelsDir, cacheDir: settings.cacheDir, hubEndpoint: settings.hubEndpoint };
  if (args[0] === 'fetch') {
    const id = args[1];
    const entry = allModels().find((e) => e.id === id);
    if (!entry) throw new UserError(`Unknown model "${id ?? ''}". Run \`myvlm models\` to list them.`);
    const resolved = await resolveModel(entry, { ...base, allowDownload: !settings.offline, onProgress: terminalProgress() });
    process.stdout.write(`${entry.id}: ready in ${resolved.directory}\n`);
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
    process.stdout.write(`${entry.id.padEnd(28)} ${entry.task.padEnd(17)} ${status}${entry.testOnly ? '  [test model]' : ''}\n`);
  }
  return 0;
}
