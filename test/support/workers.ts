// `myvlm worker --lessons` child processes for the queued-lesson tests and
// the scale benchmark: started with the given environment (each in its own
// scratch data folder), with the JSON log lines they write to stderr.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './paths.ts';

export interface LogLine {
  msg: string;
  job?: string;
  resumedAt?: number;
  seconds?: number;
}

/** A `myvlm worker --lessons` child process and the JSON log lines it wrote. */
export class WorkerProcess {
  readonly child: ChildProcess;
  readonly lines: LogLine[] = [];
  private exited: Promise<void>;

  constructor(env: Record<string, string>) {
    this.child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/myvlm.js'), 'worker', '--lessons'], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env, MYVLM_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'myvlm-worker-')) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let buffer = '';
    this.child.stderr!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const parts = buffer.split('\n');
      buffer = parts.pop()!;
      for (const part of parts) if (part.startsWith('{')) this.lines.push(JSON.parse(part) as LogLine);
    });
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
  }

  said(msg: string, job?: string): LogLine | undefined {
    return this.lines.find((l) => l.msg === msg && (job === undefined || l.job === job));
  }

  async ready(): Promise<void> {
    await until(() => this.said('lesson worker ready') !== undefined, 60_000);
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    await this.exited;
  }
}

/** Polls `condition` every 50 ms until it holds; throws after `timeoutMs`. */
export async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
