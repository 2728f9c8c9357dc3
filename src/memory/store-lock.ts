// One writer per store folder. Version checks and photo clean-up are exact
// only inside one process, so a second process (or a second store object in
// this one) opening the same folder is refused. A lock left by a process that
// died is taken over.
import { open, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { InternalError, OperatorError } from '../errors.ts';

const LOCK_FILE = 'store.lock';
const openHere = new Set<string>();

/** Claims `directory` for this store object; the returned function gives it back. */
export async function claimStoreDirectory(directory: string): Promise<() => Promise<void>> {
  const resolved = path.resolve(directory);
  if (openHere.has(resolved)) {
    // One store object per folder is this program's own rule; breaking it is a bug.
    throw new InternalError(`The concept store in ${resolved} is already open in this process.`);
  }
  const file = path.join(resolved, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, 'wx', 0o600);
      try {
        await handle.writeFile(String(process.pid));
      } finally {
        await handle.close();
      }
      openHere.add(resolved);
      return async () => {
        openHere.delete(resolved);
        await rm(file, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number.parseInt(await readFile(file, 'utf8').catch(() => ''), 10);
      if (Number.isSafeInteger(holder) && holder !== process.pid && isAlive(holder)) {
        throw new OperatorError(`The concept store in ${resolved} is in use by process ${holder}.`, {
          hint: 'Stop that process first (two processes writing one store could lose updates), or give this one another MYVLM_DATA_DIR.',
        });
      }
      await rm(file, { force: true });
    }
  }
  throw new OperatorError(`Could not lock the concept store in ${resolved}; another process keeps claiming it.`, {
    hint: 'Stop the other process that uses this folder, or give this one another MYVLM_DATA_DIR.',
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
