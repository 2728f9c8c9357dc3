// `npm start` as people run it: without a messenger token, the terminal chat
// and the web app in one process, on one core (each in its own scope); `--terminal`
// for the chat alone; `--terminal --web` is a usage error.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { scratchEnvironment } from '../support/cli.ts';
import { REPO_ROOT, SHARED_MODELS } from '../support/paths.ts';
import { openSession } from '../conformance/drivers/web-session.ts';

const BIN = path.join(REPO_ROOT, 'bin/myvlm.js');

function environment(): Record<string, string> {
  return {
    ...process.env,
    ...scratchEnvironment(mkdtempSync(path.join(tmpdir(), 'myvlm-start-'))),
    MYVLM_MODELS_DIR: SHARED_MODELS,
    MYVLM_FACE_RECOGNIZER: 'mobilefacenet',
    MYVLM_IMAGE_FEATURES: 'mobilenet-v3-small-576',
    MYVLM_WEB_PORT: '0',
    TELEGRAM_BOT_TOKEN: '',
    DISCORD_TOKEN: '',
    DISCORD_APPLICATION_ID: '',
  };
}

describe('npm start', () => {
  it('opens the terminal chat and the web app in one process when no messenger token is set', async () => {
    const child = spawn(process.execPath, [BIN, 'start'], { cwd: REPO_ROOT, env: environment() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const deadline = Date.now() + 60_000;
    while (!/Also in your browser: (\S+)\n/.test(stdout) && Date.now() < deadline && child.exitCode === null)
      await new Promise((resolve) => setTimeout(resolve, 100));
    const url = /Also in your browser: (http:\/\/127\.0\.0\.1:\d+\/)\n/.exec(stdout)?.[1];
    expect(url, `${stdout}\n${stderr}`).toBeDefined();
    expect(stderr).toMatch(
      /^No TELEGRAM_BOT_TOKEN or DISCORD_TOKEN set: starting the terminal chat and the web app\.$/m,
    );

    // The page answers while the terminal waits for input.
    const session = await openSession(url!);
    const answer = await session.turn('/concepts', []);
    expect(answer.text).toMatch(/^I don't know anyone or anything here yet/);
    expect((await session.request('/api/concepts')).status).toBe(200);

    child.stdin.end('/concepts\n/quit\n');
    expect(await exited).toBe(0);
    expect(stdout).toMatch(/I don't know anyone or anything here yet/);
  });

  it('opens the terminal alone with --terminal, and refuses --terminal with --web', () => {
    const terminal = spawnSync(process.execPath, [BIN, 'start', '--terminal'], {
      cwd: REPO_ROOT,
      env: environment(),
      input: '/concepts\n',
      encoding: 'utf8',
    });
    expect(terminal.status).toBe(0);
    expect(terminal.stdout).toMatch(/I don't know anyone or anything here yet/);
    expect(terminal.stdout).not.toMatch(/Also in your browser/);
    const both = spawnSync(process.execPath, [BIN, 'start', '--terminal', '--web'], {
      cwd: REPO_ROOT,
      env: environment(),
      encoding: 'utf8',
    });
    expect([both.status, both.stderr]).toEqual([
      2,
      'myvlm: Choose one of --terminal and --web (or neither, for both).\n',
    ]);
  });
});
