import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.ts';
import { loadSettings } from './settings.ts';

/** A token of the shape @BotFather gives. */
const TOKEN = '123456:abcdefghijklmnopqrstuvwxyz';

function failure(env: Record<string, string>): ConfigError {
  try {
    loadSettings(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadSettings', () => {
  it('has working defaults with an empty environment', () => {
    const settings = loadSettings({});
    expect(settings.executionProvider).toBe('cpu');
    expect(settings.dataDir).toMatch(/concepts$/);
    expect(settings.telegram).toBeNull();
    expect(settings.discord).toBeNull();
    expect(settings.vlm).toBeNull();
    expect(settings.faceThresholds).toBe('global');
    expect(loadSettings({ MYVLM_FACE_THRESHOLDS: 'per-person' }).faceThresholds).toBe('per-person');
  });

  it('takes MYVLM_STORE_URL for SQLite, Redis and PostgreSQL only', () => {
    expect(loadSettings({}).storeUrl).toBeNull();
    expect(loadSettings({ MYVLM_STORE_URL: 'redis://127.0.0.1:6379' }).storeUrl).toBe('redis://127.0.0.1:6379');
    expect(loadSettings({ MYVLM_STORE_URL: 'postgres://u@db/myvlm' }).storeUrl).toBe('postgres://u@db/myvlm');
    expect(failure({ MYVLM_STORE_URL: 'mysql://db' }).message).toBe(
      'MYVLM_STORE_URL: expected a sqlite://, redis:// or postgres:// URL, got "mysql://db"',
    );
  });

  it("reads the operations settings: the webhook instances' Redis, the health port and the shutdown grace", () => {
    const defaults = loadSettings({ TELEGRAM_BOT_TOKEN: TOKEN });
    expect([defaults.telegram?.redisUrl, defaults.healthPort, defaults.shutdownGraceSeconds]).toEqual([null, null, 60]);
    const set = loadSettings({
      TELEGRAM_BOT_TOKEN: TOKEN,
      MYVLM_REDIS_URL: 'redis://cache:6379/2',
      MYVLM_HEALTH_PORT: '9090',
      MYVLM_SHUTDOWN_GRACE_SECONDS: '20',
    });
    expect([set.telegram?.redisUrl, set.healthPort, set.shutdownGraceSeconds]).toEqual([
      'redis://cache:6379/2',
      9090,
      20,
    ]);
    expect(failure({ TELEGRAM_BOT_TOKEN: TOKEN, MYVLM_REDIS_URL: 'postgres://db' }).message).toBe(
      'MYVLM_REDIS_URL: expected a redis:// or rediss:// URL, got "postgres://db"',
    );
    expect(failure({ MYVLM_HEALTH_PORT: 'on' }).message).toMatch(/^MYVLM_HEALTH_PORT: expected a whole number/);
  });

  it('takes MYVLM_QUEUE_URL for Redis only, and the stall time of queued lessons', () => {
    expect(loadSettings({}).queueUrl).toBeNull();
    expect(loadSettings({}).queueStallMs).toBe(30_000);
    expect(loadSettings({ MYVLM_QUEUE_URL: 'redis://q:6379/2', MYVLM_QUEUE_STALL_MS: '2000' })).toMatchObject({
      queueUrl: 'redis://q:6379/2',
      queueStallMs: 2000,
    });
    expect(failure({ MYVLM_QUEUE_URL: 'postgres://db' }).message).toBe(
      'MYVLM_QUEUE_URL: expected a redis:// or rediss:// URL, got "postgres://db"',
    );
  });

  it('names the variable and the problem', () => {
    expect(failure({ MYVLM_THREADS: 'many' }).message).toBe(
      'MYVLM_THREADS: expected a whole number from 0 to 256, got "many"',
    );
    expect(failure({ MYVLM_EXECUTION_PROVIDER: 'tpu' }).variable).toBe('MYVLM_EXECUTION_PROVIDER');
    expect(failure({ MYVLM_OFFLINE: 'maybe' }).message).toMatch(/^MYVLM_OFFLINE: expected 1\/0/);
    expect(failure({ MYVLM_FACE_THRESHOLD: '3' }).variable).toBe('MYVLM_FACE_THRESHOLD');
    expect(failure({ MYVLM_FACE_THRESHOLDS: 'each' }).message).toBe(
      'MYVLM_FACE_THRESHOLDS: expected one of global, per-person, got "each"',
    );
    expect(failure({ TELEGRAM_BOT_TOKEN: 'oops' }).variable).toBe('TELEGRAM_BOT_TOKEN');
    expect(failure({ DISCORD_TOKEN: 'x'.repeat(30) }).variable).toBe('DISCORD_APPLICATION_ID');
    expect(failure({ MYVLM_HF_ENDPOINT: 'ftp://mirror' }).variable).toBe('MYVLM_HF_ENDPOINT');
  });

  it('serves the web app on this machine only by default, and not at all with MYVLM_WEB_PORT=off', () => {
    expect(loadSettings({}).web).toEqual({ host: '127.0.0.1', port: 8437, token: null });
    expect(loadSettings({ MYVLM_WEB_PORT: 'off' }).web).toBeNull();
    expect(loadSettings({ MYVLM_WEB_PORT: 'OFF' }).web).toBeNull();
    expect(
      loadSettings({ MYVLM_WEB_HOST: '0.0.0.0', MYVLM_WEB_PORT: '0', MYVLM_WEB_TOKEN: 'a-long-enough-token' }).web,
    ).toEqual({ host: '0.0.0.0', port: 0, token: 'a-long-enough-token' });
    expect(loadSettings({ MYVLM_WEB_HOST: '[::1]' }).web?.host).toBe('::1');
  });

  it('refuses a bad web address, port or token', () => {
    expect(failure({ MYVLM_WEB_PORT: '70000' }).message).toBe(
      'MYVLM_WEB_PORT: expected a whole number from 0 to 65535, got "70000"',
    );
    expect(failure({ MYVLM_WEB_HOST: 'http://my.host/' }).variable).toBe('MYVLM_WEB_HOST');
    expect(failure({ MYVLM_WEB_TOKEN: 'short' }).message).toBe(
      'MYVLM_WEB_TOKEN: expected at least 16 characters without spaces',
    );
  });

  it('reads messenger settings when tokens are present', () => {
    const settings = loadSettings({
      TELEGRAM_BOT_TOKEN: '123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ_abc',
      DISCORD_TOKEN: 'discord-token-value',
      DISCORD_APPLICATION_ID: '123456789012345678',
      MYVLM_OFFLINE: 'yes',
    });
    expect(settings.telegram?.webhookPort).toBe(8443);
    expect(settings.discord?.applicationId).toBe('123456789012345678');
    expect(settings.offline).toBe(true);
  });
});
