import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { log, logLevelFrom, logToFile } from './log.ts';

describe('MYVLM_LOG_LEVEL', () => {
  it('takes the valid levels in any case, and answers anything else with one line naming them', () => {
    const said: string[] = [];
    expect(logLevelFrom('WARN', (line) => said.push(line))).toBe('warn');
    expect(logLevelFrom('loud', (line) => said.push(line))).toBe('silent'); // the default under vitest
    expect(said).toEqual([
      'MYVLM_LOG_LEVEL "loud" is not a log level; use one of trace, debug, info, warn, error, fatal, silent. Logging at silent.',
    ]);
  });

  it('a process started with MYVLM_LOG_LEVEL=loud says so in one plain line and goes on at info', () => {
    const script = "import { log } from './src/log.ts'; log.info('still logging'); console.log(log.level);";
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: path.resolve(import.meta.dirname, '..'),
      env: { ...process.env, VITEST: '', MYVLM_LOG_LEVEL: 'loud' },
      encoding: 'utf8',
    });
    expect(run.status).toBe(0);
    expect(run.stdout).toBe('info\n');
    const lines = run.stderr.split('\n').filter((l) => l && !l.startsWith('{'));
    expect(lines).toEqual([
      'MYVLM_LOG_LEVEL "loud" is not a log level; use one of trace, debug, info, warn, error, fatal, silent. Logging at info.',
    ]);
    expect(run.stderr).not.toMatch(/\bat .*\(.*:\d+:\d+\)/);
  });
});

describe('logToFile (the terminal chat)', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    delete process.env.MYVLM_LOG_FILE;
  });

  it('sends every line to the file, and only warnings and errors to stderr, as one plain line each', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'myvlm-log-')), 'logs', 'myvlm.log');
    const written: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => written.push(String(chunk)) > 0);
    logToFile(file);
    log.level = 'info';
    log.info({ module: 'adapters' }, 'started Telegram');
    log.warn('Discord commands are not registered');
    expect(written).toEqual([`warning: Discord commands are not registered (more in ${file})\n`]);
    const lines = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg: string });
    expect(lines.map((l) => l.msg)).toEqual(['started Telegram', 'Discord commands are not registered']);
    expect(process.env.MYVLM_LOG_FILE).toBe(file);
  });
});
