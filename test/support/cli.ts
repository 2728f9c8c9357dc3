// The `myvlm` command as a user types it: `node bin/myvlm.js ...` in a child
// process, with its exit code and both streams.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from './paths.ts';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `myvlm <args>` to the end; `env` is added to this process's environment. */
export function runMyvlm(
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): CliRun {
  const child = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin/myvlm.js'), ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...options.env },
  });
  return { code: child.status, stdout: child.stdout, stderr: child.stderr };
}

/** The environment of a run that keeps its data and cache in `scratch` and never touches the network. */
export function scratchEnvironment(scratch: string): Record<string, string> {
  return {
    MYVLM_DATA_DIR: path.join(scratch, 'data'),
    MYVLM_CACHE_DIR: path.join(scratch, 'cache'),
    MYVLM_OFFLINE: '1',
    MYVLM_LOG_LEVEL: 'warn',
  };
}
