// The health endpoint of a long-running process (bot, Discord shard manager,
// worker): `GET /healthz` on MYVLM_HEALTH_PORT answers 200 with what runs and
// whether its memory answers, or 503 when the memory does not, so a load
// balancer or an orchestrator (Docker, Kubernetes) can route around it or
// restart it. A tiny node:http server of its own: it answers even when the
// web app is off, and every process has one.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError } from '../src/errors.ts';
import { moduleLogger } from '../src/log.ts';
import type { ConceptStore } from '../src/memory/store.ts';

const logger = moduleLogger('health');

/** A store that has not answered a probe in this long counts as unreachable (a health check must answer quickly). */
export const STORE_PROBE_TIMEOUT_MS = 2_000;

export interface HealthOptions {
  /** 0 takes any free port (tests). */
  port: number;
  /** Default all interfaces: health checks come from the orchestrator's network. */
  host?: string;
  /** What this process is: 'bot', 'discord-shards', 'worker'. */
  role: string;
  /** The memory this process reads and writes; null for a process without one (the shard manager). */
  store: Pick<ConceptStore, 'kind' | 'get'> | null;
  /** More facts for the report (shards ready, queue depth). */
  details?: () => Record<string, unknown>;
}

export interface HealthReport {
  status: 'ok' | 'unavailable';
  role: string;
  pid: number;
  uptimeSeconds: number;
  store: { kind: string; reachable: boolean } | null;
  [detail: string]: unknown;
}

export interface HealthServer {
  /** `http://<host>:<port>/healthz` */
  url: string;
  close(): Promise<void>;
}

/** The report `GET /healthz` answers with. */
export async function healthReport(options: Omit<HealthOptions, 'port' | 'host'>): Promise<HealthReport> {
  const reachable = options.store === null ? null : await probe(options.store);
  return {
    status: reachable === false ? 'unavailable' : 'ok',
    role: options.role,
    pid: process.pid,
    uptimeSeconds: Math.round(process.uptime()),
    store: options.store === null ? null : { kind: options.store.kind, reachable: reachable === true },
    ...options.details?.(),
  };
}

/** Serves `GET /healthz`; fails with a ConfigError naming MYVLM_HEALTH_PORT when the port is taken. */
export async function serveHealth(options: HealthOptions): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || new URL(req.url ?? '/', 'http://localhost').pathname !== '/healthz')
      return void res.writeHead(404).end();
    healthReport(options)
      .then((report) => {
        res.writeHead(report.status === 'ok' ? 200 : 503, { 'content-type': 'application/json' });
        res.end(JSON.stringify(report));
      })
      .catch((error: unknown) => {
        logger.error({ err: error }, 'health report failed');
        res.writeHead(500).end();
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new ConfigError('MYVLM_HEALTH_PORT', `cannot listen on port ${options.port}: ${error.code ?? error.message}`),
      ),
    );
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${options.host && options.host !== '0.0.0.0' ? options.host : '127.0.0.1'}:${port}/healthz`;
  logger.info({ url, role: options.role }, 'health endpoint ready');
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Whether the store answers a read of a record that never exists, within STORE_PROBE_TIMEOUT_MS. */
async function probe(store: Pick<ConceptStore, 'get'>): Promise<boolean> {
  const read = store.get('health:probe', 'none').then(
    () => true,
    (error: unknown) => {
      logger.warn({ err: error }, 'the store did not answer the health probe');
      return false;
    },
  );
  return Promise.race([read, sleep(STORE_PROBE_TIMEOUT_MS, false, { ref: false })]);
}
