// Opens the backend a store URL names, with the photo store that goes with
// it: SQLite in a folder this process claims (photos as files beside it), or
// a Redis or PostgreSQL server shared by every process (photos as keys in it).
import { chmod, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { InternalError, OperatorError } from '../errors.ts';
import { BackendPhotos } from './backend-photos.ts';
import { PhotoBlobs, type PhotoStore } from './photo-blobs.ts';
import { PostgresBackend } from './postgres-backend.ts';
import type { RecordBackend } from './record-backend.ts';
import { RedisBackend } from './redis-backend.ts';
import { SqliteBackend } from './sqlite-backend.ts';
import { claimStoreDirectory } from './store-lock.ts';

/** File names inside an SQLite store folder (concepts/README.md describes them to users). */
export const DATABASE_FILE = 'concepts.sqlite';
export const PHOTOS_FOLDER = 'blobs';
/** The SQLite table, PostgreSQL table and Redis key index the records live in. */
const SQLITE_TABLE = 'concepts';
const POSTGRES_TABLE = 'myvlm_concepts';
const REDIS_INDEX = 'myvlm:keys';

export interface OpenedBackend {
  backend: RecordBackend;
  photos: PhotoStore;
  /** Gives back what opening claimed (an SQLite folder); call after closing the backend. */
  release: () => Promise<void>;
}

/**
 * `url` is `sqlite://<folder>`, `redis://…` (`rediss://`) or `postgres://…`
 * (`postgresql://`); null is SQLite in `directory`.
 */
export async function openBackend(url: string | null, directory: string | undefined): Promise<OpenedBackend> {
  if (url !== null && !url.startsWith('sqlite:')) {
    const backend = await openServerBackend(url);
    return { backend, photos: new BackendPhotos(backend), release: async () => {} };
  }
  const folder = path.resolve(url === null ? requireDirectory(directory) : sqliteFolder(url));
  await mkdir(folder, { recursive: true, mode: 0o700 });
  const release = await claimStoreDirectory(folder);
  try {
    const file = path.join(folder, DATABASE_FILE);
    const backend = await SqliteBackend.open(file, SQLITE_TABLE);
    await chmod(file, 0o600);
    return { backend, photos: new PhotoBlobs(path.join(folder, PHOTOS_FOLDER)), release };
  } catch (error) {
    await release();
    throw error;
  }
}

async function openServerBackend(url: string): Promise<RecordBackend> {
  const scheme = url.slice(0, url.indexOf(':'));
  if (scheme === 'redis' || scheme === 'rediss') return RedisBackend.open(url, REDIS_INDEX);
  if (scheme === 'postgres' || scheme === 'postgresql') return PostgresBackend.open(url, POSTGRES_TABLE);
  throw new OperatorError(`MYVLM_STORE_URL has an unknown scheme "${scheme}".`, {
    hint: 'Use sqlite://<folder>, redis://host:port or postgres://user@host:port/database.',
  });
}

/** `sqlite:///abs/folder` or `sqlite://relative/folder`: the folder holding concepts.sqlite and blobs/. */
function sqliteFolder(url: string): string {
  const folder = url.replace(/^sqlite:(\/\/)?/, '');
  if (folder === '') {
    throw new OperatorError('MYVLM_STORE_URL names no folder for the SQLite store.', {
      hint: 'Use sqlite://<folder>, for example sqlite:///var/lib/myvlm.',
    });
  }
  return folder;
}

function requireDirectory(directory: string | undefined): string {
  if (directory === undefined) throw new InternalError('an SQLite concept store needs a directory');
  return directory;
}
