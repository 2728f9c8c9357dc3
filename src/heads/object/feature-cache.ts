// Image features are the expensive part of an object head: compute them once
// per (photo, view, extractor) and keep them. A bounded in-memory map (least
// recently used goes first) serves a running assistant; an optional folder
// keeps them across runs (evaluation, retraining after a restart).
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { moduleLogger } from '../../log.ts';

const logger = moduleLogger('feature-cache');

/** What identifies one cached feature vector. */
export interface FeatureKey {
  /** Registry id of the extractor; features of different extractors never mix. */
  extractor: string;
  /** sha256 (hex) of the photo's bytes. */
  sha256: string;
  /** Which view of the photo (see views.ts `viewTag`); `id` for the photo itself. */
  view: string;
}

export interface FeatureCacheOptions {
  /** Most vectors kept in memory. Default 8192 (about 32 MiB of 1024-d features). */
  maxEntries?: number;
  /** A folder to keep features across runs, or null (default) for memory only. */
  directory?: string | null;
}

/** Default bound of the in-memory cache, in vectors. */
export const DEFAULT_FEATURE_CACHE_ENTRIES = 8192;

const SAFE = /^[A-Za-z0-9._+-]+$/;

/**
 * Features by (extractor, photo sha256, view). Reads fall back from memory to
 * the folder; writes go to both. A damaged or foreign file in the folder is
 * ignored (and recomputed by the caller), never trusted.
 */
export class FeatureCache {
  private readonly memory = new Map<string, Float32Array>();
  private readonly maxEntries: number;
  private readonly directory: string | null;

  constructor(options: FeatureCacheOptions = {}) {
    this.maxEntries = Math.max(1, options.maxEntries ?? DEFAULT_FEATURE_CACHE_ENTRIES);
    this.directory = options.directory ? path.resolve(options.directory) : null;
  }

  /** Vectors held in memory now. */
  get size(): number {
    return this.memory.size;
  }

  /** The cached vector, or undefined. `dims` guards against a file of another extractor version. */
  async get(key: FeatureKey, dims: number): Promise<Float32Array | undefined> {
    const name = memoryKey(key);
    const hit = this.memory.get(name);
    if (hit && hit.length === dims) {
      this.memory.delete(name);
      this.memory.set(name, hit);
      return hit;
    }
    if (!this.directory) return undefined;
    const file = this.filePath(key);
    if (!file) return undefined;
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch {
      return undefined;
    }
    if (bytes.byteLength !== dims * 4) {
      logger.warn({ file, bytes: bytes.byteLength, dims }, 'ignoring a cached feature file of the wrong size');
      return undefined;
    }
    const vector = new Float32Array(dims);
    new Uint8Array(vector.buffer).set(bytes);
    if (!vector.every(Number.isFinite)) return undefined;
    this.remember(name, vector);
    return vector;
  }

  /** Stores a vector in memory and, when a folder is configured, on disk. */
  async set(key: FeatureKey, vector: Float32Array): Promise<void> {
    this.remember(memoryKey(key), vector);
    if (!this.directory) return;
    const file = this.filePath(key);
    if (!file) return;
    try {
      await mkdir(path.dirname(file), { recursive: true });
      const partial = `${file}.${process.pid}.part`;
      await writeFile(partial, new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength));
      await rename(partial, file);
    } catch (cause) {
      logger.warn({ file, err: cause }, 'could not write a feature to the disk cache; keeping it in memory only');
    }
  }

  /** Drops everything held in memory (the folder is left alone). */
  clear(): void {
    this.memory.clear();
  }

  private remember(name: string, vector: Float32Array): void {
    this.memory.delete(name);
    this.memory.set(name, vector);
    while (this.memory.size > this.maxEntries) {
      const oldest = this.memory.keys().next().value as string;
      this.memory.delete(oldest);
    }
  }

  private filePath(key: FeatureKey): string | null {
    if (!this.directory || !SAFE.test(key.extractor) || !/^[0-9a-f]{64}$/.test(key.sha256) || !SAFE.test(key.view))
      return null;
    return path.join(this.directory, key.extractor, key.sha256.slice(0, 2), `${key.sha256}.${key.view}.f32`);
  }
}

function memoryKey(key: FeatureKey): string {
  return `${key.extractor}\u0000${key.sha256}\u0000${key.view}`;
}
