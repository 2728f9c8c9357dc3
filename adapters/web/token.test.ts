import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isLoopback, resolveWebAccess } from './token.ts';

describe('web access', () => {
  it('knows the addresses that reach this machine only', () => {
    expect(['127.0.0.1', '127.1.2.3', '::1', 'localhost'].map(isLoopback)).toEqual([true, true, true, true]);
    expect(['0.0.0.0', '::', '192.168.1.5', 'example.com'].map(isLoopback)).toEqual([false, false, false, false]);
  });

  it('asks for no token on loopback, unless the operator set one', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'myvlm-token-'));
    expect((await resolveWebAccess({ host: '127.0.0.1', port: 0, token: null }, dataDir)).token).toBeNull();
    const set = await resolveWebAccess({ host: '127.0.0.1', port: 0, token: 'an-operator-token' }, dataDir);
    expect(set).toMatchObject({ token: 'an-operator-token', created: false });
  });

  it('makes a token beyond loopback once, and reads it back (or the one the operator put there)', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'myvlm-token-'));
    const lan = { host: '0.0.0.0', port: 0, token: null };
    const first = await resolveWebAccess(lan, dataDir);
    expect(first.created).toBe(true);
    expect(await resolveWebAccess(lan, dataDir)).toEqual({ ...first, created: false });
    writeFileSync(first.file, '  a-token-written-by-hand  \n');
    expect((await resolveWebAccess(lan, dataDir)).token).toBe('a-token-written-by-hand');
    expect(readFileSync(first.file, 'utf8')).toBe('  a-token-written-by-hand  \n');
  });
});
