// Files of a teaching job, written so that a crash at any instant leaves
// either the old file or the new one, never a torn one: write a temporary
// file, flush it to disk, rename it over the target (atomic on POSIX), and
// flush the folder so the rename itself survives a power cut. Files are
// created private (0600): they hold teaching photos and what was learned
// from them, like the concept store's own photo files.
import { closeSync, fchmodSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { OperatorError } from '../errors.ts';
import type { TrainingState } from './trainer.ts';

/** Mode of every file written here: read and written by the owner only. */
export const PRIVATE_FILE_MODE = 0o600;

/**
 * Writes `bytes` to `file` atomically (temp + fsync + rename + fsync of the
 * folder), as a private (0600) file. A write that fails (a full disk, a
 * folder this process may not write) is an OperatorError.
 */
export function writeFileAtomic(file: string, bytes: string | Uint8Array): void {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  try {
    const fd = openSync(temp, 'w', PRIVATE_FILE_MODE);
    try {
      // The mode given to open applies only to a new file; a leftover temp keeps its own.
      fchmodSync(fd, PRIVATE_FILE_MODE);
      writeSync(fd, typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, file);
  } catch (cause) {
    rmSync(temp, { force: true });
    throw new OperatorError(`Cannot write ${file} (${cause instanceof Error ? cause.message : String(cause)}).`, {
      cause,
      hint: 'Check the free space and the permissions of that folder.',
    });
  }
  try {
    const dir = openSync(path.dirname(file), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  } catch {
    // Some file systems refuse to open folders for syncing; the rename is still atomic.
  }
}

/** Writes a JSON document atomically. */
export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomic(file, `${JSON.stringify(value)}\n`);
}

/** Reads a JSON document, or undefined when the file does not exist. */
export function readJsonIfPresent<T>(file: string): T | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new OperatorError(`Cannot read ${file} (${cause instanceof Error ? cause.message : String(cause)}).`, {
      cause,
      hint: 'Check the permissions of that folder.',
    });
  }
  return JSON.parse(text) as T;
}

/** A training state as stored: plain number arrays (float64 round-trips exactly through JSON). */
export interface StoredCheckpoint {
  format: 1;
  /** Identifies the run the checkpoint belongs to (job id and settings); a mismatch starts over. */
  runKey: string;
  step: number;
  vector: number[];
  optimizer: { step: number; firstMoment: number[]; secondMoment: number[] };
  losses: number[];
  savedAt: string;
}

/** Serializes a training state. */
export function toCheckpoint(state: TrainingState, runKey: string): StoredCheckpoint {
  return {
    format: 1,
    runKey,
    step: state.step,
    vector: Array.from(state.vector),
    optimizer: {
      step: state.optimizer.step,
      firstMoment: Array.from(state.optimizer.firstMoment),
      secondMoment: Array.from(state.optimizer.secondMoment),
    },
    losses: [...state.losses],
    savedAt: new Date().toISOString(),
  };
}

/** Restores a training state, or undefined when the checkpoint belongs to another run or is malformed. */
export function fromCheckpoint(stored: StoredCheckpoint | undefined, runKey: string): TrainingState | undefined {
  if (!stored || stored.format !== 1 || stored.runKey !== runKey) return undefined;
  const { vector, optimizer } = stored;
  if (
    !Array.isArray(vector) ||
    vector.length === 0 ||
    optimizer?.firstMoment?.length !== vector.length ||
    optimizer.secondMoment?.length !== vector.length
  )
    return undefined;
  return {
    step: stored.step,
    vector: Float64Array.from(vector),
    optimizer: {
      step: optimizer.step,
      firstMoment: Float64Array.from(optimizer.firstMoment),
      secondMoment: Float64Array.from(optimizer.secondMoment),
    },
    losses: [...stored.losses],
  };
}
