// The web adapter: the assistant in a browser, served by Hono on Node's HTTP
// server. It answers at 127.0.0.1 by default, where the person at the
// keyboard is trusted as in the terminal; served beyond this machine it asks
// for a token first (token.ts). The page is built in memory at start.
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { createAdaptorServer } from '@hono/node-server';
import type { ConversationCore, Notice } from '../../src/assistant/turn.ts';
import type { Settings, WebSettings } from '../../src/config/settings.ts';
import { OperatorError } from '../../src/errors.ts';
import { moduleLogger } from '../../src/log.ts';
import type { ConceptStore } from '../../src/memory/store.ts';
import { OPERATOR_SCOPE } from '../../src/assistant/turn.ts';
import { createWebApp } from './app.ts';
import { buildAssets } from './assets.ts';
import { EventHub } from './events.ts';
import { embeddingKey } from './gallery.ts';
import { Sessions } from './sessions.ts';
import { resolveWebAccess } from './token.ts';

const logger = moduleLogger('web');

export interface WebAdapterOptions {
  core: ConversationCore;
  /** The store the core writes to: the gallery reads the scope's concepts and photos from it. */
  store: ConceptStore;
  web: WebSettings;
  settings: Pick<Settings, 'dataDir' | 'maxImageBytes' | 'vlm'>;
  /** Default OPERATOR_SCOPE: the operator's own memory, shared with the terminal chat and the one-shot commands. */
  scope?: string;
}

export interface WebHandle {
  readonly platform: 'web';
  /** Where to open the page on this machine, e.g. http://127.0.0.1:8437/ (the real port when 0 was asked for). */
  readonly url: string;
  /** Where other devices open it, when it listens on every network (0.0.0.0): one URL per IPv4 address of this machine. */
  readonly networkUrls: string[];
  /** A token generated at this start (shown to the operator once), or null. */
  readonly newToken: string | null;
  /** Where a generated token is kept, for people: "<data folder>/web-token". */
  readonly tokenFile: string | null;
  /** Shows a notice of background work of this scope on every open page (others are ignored). */
  notify(notice: Notice): void;
  /** Stops taking requests, ends the live streams, and resolves when running turns have answered. */
  stop(): Promise<void>;
}

export async function startWeb(options: WebAdapterOptions): Promise<WebHandle> {
  const scope = options.scope ?? OPERATOR_SCOPE;
  const access = await resolveWebAccess(options.web, options.settings.dataDir);
  const events = new EventHub();
  const app = createWebApp({
    core: options.core,
    store: options.store,
    scope,
    assets: await buildAssets(),
    token: access.token,
    maxImageBytes: options.settings.maxImageBytes,
    vlmKey: await embeddingKey(options.settings.vlm),
    sessions: new Sessions(),
    events,
  });
  const server = createAdaptorServer({ fetch: app.fetch });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(listenFailure(error, options.web)));
    server.listen(options.web.port, options.web.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const everywhere = options.web.host === '0.0.0.0' || options.web.host === '::';
  const host = options.web.host.includes(':') ? `[${options.web.host}]` : options.web.host;
  const url = `http://${everywhere ? '127.0.0.1' : host}:${port}/`;
  const networkUrls = everywhere ? lanAddresses().map((address) => `http://${address}:${port}/`) : [];
  logger.info({ url, scope, token: access.token !== null }, 'web app started');

  let stopping: Promise<void> | null = null;
  return {
    platform: 'web',
    url,
    networkUrls,
    newToken: access.created ? access.token : null,
    tokenFile: access.token !== null && options.web.token === null ? access.file : null,
    notify(notice) {
      if (notice.scope === scope) events.publish({ event: 'notice', data: notice });
    },
    stop: () =>
      (stopping ??= new Promise<void>((resolve, reject) => {
        events.close();
        server.close((error) => (error ? reject(error) : resolve()));
        if ('closeIdleConnections' in server) server.closeIdleConnections();
      })),
  };
}

function listenFailure(error: NodeJS.ErrnoException, web: WebSettings): Error {
  const where = `${web.host}:${web.port}`;
  if (error.code === 'EADDRINUSE')
    return new OperatorError(`The web app cannot listen on ${where}: the port is in use.`, {
      hint: 'Set MYVLM_WEB_PORT to a free port, or MYVLM_WEB_PORT=off to run without the web app.',
      cause: error,
    });
  if (error.code === 'EADDRNOTAVAIL' || error.code === 'EACCES' || error.code === 'ENOTFOUND')
    return new OperatorError(`The web app cannot listen on ${where} (${error.code}).`, {
      hint: 'Set MYVLM_WEB_HOST to an address of this machine (127.0.0.1, or 0.0.0.0 for every network) and MYVLM_WEB_PORT to a port above 1023.',
      cause: error,
    });
  return error;
}

/** This machine's IPv4 addresses on its networks (not loopback). */
function lanAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((addresses) =>
    (addresses ?? []).filter((a) => a.family === 'IPv4' && !a.internal).map((a) => a.address),
  );
}
