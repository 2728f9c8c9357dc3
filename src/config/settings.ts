// Reads and validates the environment once, at start. A bad value fails with
// a ConfigError naming the variable and what is wrong; `.env.example`
// documents every variable read here.
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../errors.ts';
import { LESSON_QUEUE, SHUTDOWN_GRACE_SECONDS } from './defaults.ts';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Where ONNX Runtime runs the models (MYVLM_EXECUTION_PROVIDER); a GPU provider falls back to the CPU per node. */
export const EXECUTION_PROVIDERS = ['cpu', 'cuda', 'webgpu'] as const;
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];

/** The precisions a transformers.js-layout export can ship each graph in (MYVLM_VLM_DTYPE), by transformers.js's dtype names, most exact first. */
export const VLM_DTYPES = ['fp32', 'fp16', 'q8', 'int8', 'uint8', 'q4', 'q4f16', 'bnb4'] as const;
export type VlmDtype = (typeof VLM_DTYPES)[number];

/** How faces are matched (MYVLM_FACE_THRESHOLDS): at one global threshold, or at each person's own. */
export const FACE_THRESHOLDS = ['global', 'per-person'] as const;
export type FaceThresholds = (typeof FACE_THRESHOLDS)[number];

export interface Settings {
  /** Where concept memory lives (SQLite + photo blobs) unless storeUrl names another store. */
  dataDir: string;
  /** MYVLM_STORE_URL: `sqlite://<folder>`, `redis://…` or `postgres://…`; null keeps SQLite in dataDir. */
  storeUrl: string | null;
  /** MYVLM_QUEUE_URL: `redis://…` moves lessons onto a BullMQ queue served by `myvlm worker`; null runs them in-process. */
  queueUrl: string | null;
  /** MYVLM_QUEUE_STALL_MS: how long a silent worker holds a queued lesson before another retries it (LESSON_QUEUE.stallMs). */
  queueStallMs: number;
  /** Folder of pre-placed model files (`<directory>/<file>` per registry entry), or null. */
  modelsDir: string | null;
  /** Where downloaded models are cached. */
  cacheDir: string;
  /** Never touch the network for models. */
  offline: boolean;
  /** Hugging Face hub endpoint (a mirror, or a local server in tests). */
  hubEndpoint: string;
  /** HF_TOKEN: a hub access token for gated or private model repositories, or null. */
  hubToken: string | null;
  executionProvider: ExecutionProvider;
  intraOpThreads: number;
  faceDetector: string;
  faceRecognizer: string;
  /** Overrides the recognizer's measured threshold (cosine similarity), or null. */
  faceThreshold: number | null;
  /** One threshold for everyone, or a threshold per person from the scope's keys (docs/faces.md, "Per-person thresholds"). */
  faceThresholds: FaceThresholds;
  imageFeatures: string;
  /** Optional folder of generic photos used as extra negatives for object heads. */
  genericNegativesDir: string | null;
  /** VLM registry id or model folder; null answers from the concept heads alone. */
  vlm: string | null;
  /** Precision of the VLM's graphs (all three); null takes the registry entry's choice or, for a folder, the most exact one present. */
  vlmDtype: VlmDtype | null;
  maxImageBytes: number;
  maxImagePixels: number;
  telegram: {
    token: string;
    apiRoot: string | null;
    webhookUrl: string | null;
    webhookPort: number;
    /** MYVLM_REDIS_URL: the Redis several webhook instances share (update dedupe, per-chat order); null for one instance. */
    redisUrl: string | null;
  } | null;
  discord: { token: string; applicationId: string; apiUrl: string | null; gatewayUrl: string | null } | null;
  /** The local web app (MYVLM_WEB_*), or null when MYVLM_WEB_PORT=off. */
  web: WebSettings | null;
  /** MYVLM_HEALTH_PORT: where GET /healthz answers; null (default) serves none. */
  healthPort: number | null;
  /** MYVLM_SHUTDOWN_GRACE_SECONDS: how long a stop waits for running turns. */
  shutdownGraceSeconds: number;
}

export interface WebSettings {
  /** The address it listens on; anything but loopback needs a token. */
  host: string;
  /** 0 takes any free port (tests). */
  port: number;
  /** MYVLM_WEB_TOKEN, or null: generated and kept in the data folder when the host needs one. */
  token: string | null;
}

/** Where the web app listens unless MYVLM_WEB_HOST / MYVLM_WEB_PORT say otherwise: this machine only. */
export const DEFAULT_WEB_HOST = '127.0.0.1';
export const DEFAULT_WEB_PORT = 8437;
/** A token set by hand must resist guessing over the LAN; a generated one is far longer. */
export const MIN_WEB_TOKEN_LENGTH = 16;

type Env = Record<string, string | undefined>;

function text(env: Env, name: string): string | null {
  const value = env[name]?.trim();
  return value ? value : null;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = text(env, name);
  if (raw === null) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(name, `expected a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

function fraction(env: Env, name: string): number | null {
  const raw = text(env, name);
  if (raw === null) return null;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < -1 || value > 1) {
    throw new ConfigError(name, `expected a cosine similarity between -1 and 1, got "${raw}"`);
  }
  return value;
}

function flag(env: Env, name: string): boolean {
  const raw = text(env, name)?.toLowerCase();
  if (raw === undefined || raw === null || raw === '0' || raw === 'false' || raw === 'no') return false;
  if (raw === '1' || raw === 'true' || raw === 'yes') return true;
  throw new ConfigError(name, `expected 1/0, true/false or yes/no, got "${raw}"`);
}

function choice<T extends string>(env: Env, name: string, options: readonly T[], fallback: T): T {
  const raw = text(env, name);
  if (raw === null) return fallback;
  if (!(options as readonly string[]).includes(raw))
    throw new ConfigError(name, `expected one of ${options.join(', ')}, got "${raw}"`);
  return raw as T;
}

const URL_PROTOCOLS = ['http:', 'https:', 'ws:', 'wss:'];

function url(env: Env, name: string): string | null {
  const raw = text(env, name);
  if (raw === null) return null;
  if (!URL.canParse(raw) || !URL_PROTOCOLS.includes(new URL(raw).protocol))
    throw new ConfigError(name, `expected an http(s) or ws(s) URL, got "${raw}"`);
  return raw;
}

const STORE_SCHEMES = ['sqlite:', 'redis:', 'rediss:', 'postgres:', 'postgresql:'];

function storeUrl(env: Env, name: string): string | null {
  const raw = text(env, name);
  if (raw === null) return null;
  if (!URL.canParse(raw) || !STORE_SCHEMES.includes(new URL(raw).protocol))
    throw new ConfigError(name, `expected a sqlite://, redis:// or postgres:// URL, got "${raw}"`);
  return raw;
}

function redisUrl(env: Env, name: string): string | null {
  const raw = text(env, name);
  if (raw === null) return null;
  if (!URL.canParse(raw) || !['redis:', 'rediss:'].includes(new URL(raw).protocol))
    throw new ConfigError(name, `expected a redis:// or rediss:// URL, got "${raw}"`);
  return raw;
}

function directory(env: Env, name: string, fallback: string | null): string | null {
  const raw = text(env, name);
  return raw === null ? fallback : path.resolve(raw);
}

function webSettings(env: Env): WebSettings | null {
  if (text(env, 'MYVLM_WEB_PORT')?.toLowerCase() === 'off') return null;
  const host = text(env, 'MYVLM_WEB_HOST') ?? DEFAULT_WEB_HOST;
  // A host name or an IP address; brackets around an IPv6 address are optional.
  if (!/^(\[[0-9A-Fa-f:.]+\]|[0-9A-Fa-f:.]+|[A-Za-z0-9.-]+)$/.test(host))
    throw new ConfigError(
      'MYVLM_WEB_HOST',
      `expected a host name or IP address such as 127.0.0.1 or 0.0.0.0, got "${host}"`,
    );
  const token = text(env, 'MYVLM_WEB_TOKEN');
  if (token !== null && (token.length < MIN_WEB_TOKEN_LENGTH || /\s/.test(token)))
    throw new ConfigError('MYVLM_WEB_TOKEN', `expected at least ${MIN_WEB_TOKEN_LENGTH} characters without spaces`);
  return {
    host: host.replace(/^\[(.*)\]$/, '$1'),
    port: integer(env, 'MYVLM_WEB_PORT', DEFAULT_WEB_PORT, 0, 65535),
    token,
  };
}

/** Parses the environment into Settings; throws ConfigError on the first bad variable. */
export function loadSettings(env: Env = process.env): Settings {
  const telegramToken = text(env, 'TELEGRAM_BOT_TOKEN');
  if (telegramToken !== null && !/^\d+:[\w-]{20,}$/.test(telegramToken)) {
    throw new ConfigError(
      'TELEGRAM_BOT_TOKEN',
      'does not look like a bot token from @BotFather (digits, a colon, then at least 20 letters)',
    );
  }
  const discordToken = text(env, 'DISCORD_TOKEN');
  const discordApplication = text(env, 'DISCORD_APPLICATION_ID');
  if ((discordToken === null) !== (discordApplication === null)) {
    throw new ConfigError(
      discordToken ? 'DISCORD_APPLICATION_ID' : 'DISCORD_TOKEN',
      'Discord needs both DISCORD_TOKEN and DISCORD_APPLICATION_ID',
    );
  }
  if (discordApplication !== null && !/^\d{5,25}$/.test(discordApplication)) {
    throw new ConfigError(
      'DISCORD_APPLICATION_ID',
      `expected the numeric application id from the Discord developer portal, got "${discordApplication}"`,
    );
  }
  return {
    dataDir: directory(env, 'MYVLM_DATA_DIR', path.join(REPO_ROOT, 'concepts')) as string,
    storeUrl: storeUrl(env, 'MYVLM_STORE_URL'),
    queueUrl: redisUrl(env, 'MYVLM_QUEUE_URL'),
    queueStallMs: integer(env, 'MYVLM_QUEUE_STALL_MS', LESSON_QUEUE.stallMs, 500, 3_600_000),
    modelsDir: directory(env, 'MYVLM_MODELS_DIR', null),
    cacheDir: directory(env, 'MYVLM_CACHE_DIR', path.join(homedir(), '.cache', 'myvlm')) as string,
    offline: flag(env, 'MYVLM_OFFLINE'),
    hubEndpoint: url(env, 'MYVLM_HF_ENDPOINT') ?? 'https://huggingface.co',
    hubToken: text(env, 'HF_TOKEN'),
    executionProvider: choice(env, 'MYVLM_EXECUTION_PROVIDER', EXECUTION_PROVIDERS, 'cpu'),
    intraOpThreads: integer(env, 'MYVLM_THREADS', 0, 0, 256),
    faceDetector: text(env, 'MYVLM_FACE_DETECTOR') ?? 'yunet-2023mar',
    faceRecognizer: text(env, 'MYVLM_FACE_RECOGNIZER') ?? 'dlib-resnet-v1',
    faceThreshold: fraction(env, 'MYVLM_FACE_THRESHOLD'),
    faceThresholds: choice(env, 'MYVLM_FACE_THRESHOLDS', FACE_THRESHOLDS, 'global'),
    imageFeatures: text(env, 'MYVLM_IMAGE_FEATURES') ?? 'clip-vit-b32',
    genericNegativesDir: directory(env, 'MYVLM_GENERIC_NEGATIVES_DIR', null),
    vlm: text(env, 'MYVLM_VLM'),
    vlmDtype: text(env, 'MYVLM_VLM_DTYPE') === null ? null : choice(env, 'MYVLM_VLM_DTYPE', VLM_DTYPES, 'fp32'),
    maxImageBytes: integer(env, 'MYVLM_MAX_IMAGE_BYTES', 25 * 1024 * 1024, 1024, 512 * 1024 * 1024),
    maxImagePixels: integer(env, 'MYVLM_MAX_IMAGE_PIXELS', 50_000_000, 10_000, 1_000_000_000),
    telegram: telegramToken
      ? {
          token: telegramToken,
          apiRoot: url(env, 'TELEGRAM_API_ROOT'),
          webhookUrl: url(env, 'TELEGRAM_WEBHOOK_URL'),
          webhookPort: integer(env, 'TELEGRAM_WEBHOOK_PORT', 8443, 1, 65535),
          redisUrl: redisUrl(env, 'MYVLM_REDIS_URL'),
        }
      : null,
    discord:
      discordToken && discordApplication
        ? {
            token: discordToken,
            applicationId: discordApplication,
            apiUrl: url(env, 'DISCORD_API_URL'),
            gatewayUrl: url(env, 'DISCORD_GATEWAY_URL'),
          }
        : null,
    web: webSettings(env),
    healthPort: text(env, 'MYVLM_HEALTH_PORT') === null ? null : integer(env, 'MYVLM_HEALTH_PORT', 0, 0, 65535),
    shutdownGraceSeconds: integer(env, 'MYVLM_SHUTDOWN_GRACE_SECONDS', SHUTDOWN_GRACE_SECONDS, 1, 3600),
  };
}
