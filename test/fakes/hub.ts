// A fake Hugging Face hub on loopback for download tests: each route is a
// handler by exact path, anything else is a 404, and every request is kept
// (path and Authorization header) so a test can see what was asked and sent.
import type { ModelEntryBase } from '../../src/models/entry.ts';
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { listenOnLoopback, type LoopbackServer } from './http.ts';

export interface HubRequest {
  url: string;
  authorization: string | null;
}

export type HubRoute = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface FakeHub extends LoopbackServer {
  requests: HubRequest[];
  /** Adds or replaces the handler of one path. */
  route(path: string, handler: HubRoute): void;
}

export async function startFakeHub(routes: Record<string, HubRoute> = {}): Promise<FakeHub> {
  const table = new Map(Object.entries(routes));
  const requests: HubRequest[] = [];
  const server = await listenOnLoopback(async (req, res) => {
    requests.push({ url: req.url ?? '', authorization: req.headers.authorization ?? null });
    const handler = table.get(req.url ?? '');
    if (handler) await handler(req, res);
    else res.writeHead(404).end('Entry not found');
  });
  return { ...server, requests, route: (path, handler) => table.set(path, handler) };
}

/** A handler that sends `body` whole, with its length. */
export function serve(body: Buffer): HubRoute {
  return (_req, res) => {
    res.writeHead(200, { 'content-length': body.length });
    res.end(body);
  };
}

/** A deterministic payload of `size` bytes and its sha256, standing in for model weights. */
export function fakeWeights(size: number, seed = 1): { bytes: Buffer; sha256: string } {
  const bytes = Buffer.alloc(size);
  let state = seed;
  for (let i = 0; i < size; i++) {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    bytes[i] = state >> 16;
  }
  return { bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** A registry entry of one toy model file at `repo`, for resolve tests against the fake hub. */
export function toyHubEntry(
  file: { path: string; bytes: number; sha256: string },
  repo = 'someone/toy',
  revision = 'main',
): ModelEntryBase {
  return {
    id: 'toy-model',
    task: 'image-features',
    family: 'toy',
    description: 'a toy',
    licence: 'MIT',
    directory: 'toy',
    files: [file],
    source: { kind: 'hub', repo, revision },
  };
}
