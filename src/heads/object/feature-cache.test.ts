import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FeatureCache } from './feature-cache.ts';

const sha = (n: number) => n.toString(16).padStart(64, '0');
const key = (n: number, view = 'id') => ({ extractor: 'mobilenet-v3-small-576', sha256: sha(n), view });

let dir: string | null = null;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = null;
});

describe('FeatureCache', () => {
  it('keeps at most maxEntries vectors, dropping the least recently used', async () => {
    const cache = new FeatureCache({ maxEntries: 2 });
    await cache.set(key(1), Float32Array.of(1));
    await cache.set(key(2), Float32Array.of(2));
    await cache.get(key(1), 1);
    await cache.set(key(3), Float32Array.of(3));
    expect(cache.size).toBe(2);
    expect(await cache.get(key(2), 1)).toBeUndefined();
    expect(Array.from((await cache.get(key(1), 1)) ?? [])).toEqual([1]);
    expect(await cache.get(key(1, 'f'), 1)).toBeUndefined();
  });

  it('keeps features on disk across instances and ignores files of the wrong size', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'myvlm-features-'));
    await new FeatureCache({ directory: dir }).set(key(7, 'fr30'), Float32Array.of(0.5, -2, 3));
    const fresh = new FeatureCache({ directory: dir });
    expect(Array.from((await fresh.get(key(7, 'fr30'), 3)) ?? [])).toEqual([0.5, -2, 3]);
    expect(await fresh.get(key(7, 'fr30'), 4)).toBeUndefined();
    const file = path.join(dir, 'mobilenet-v3-small-576', sha(7).slice(0, 2), `${sha(7)}.fr30.f32`);
    await writeFile(file, Uint8Array.of(1, 2, 3));
    expect(await new FeatureCache({ directory: dir }).get(key(7, 'fr30'), 3)).toBeUndefined();
  });

  it('never turns odd keys into paths', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'myvlm-features-'));
    const cache = new FeatureCache({ directory: dir });
    await cache.set({ extractor: '../escape', sha256: sha(1), view: 'id' }, Float32Array.of(1));
    expect(await readdir(dir)).toEqual([]);
    expect(Array.from((await cache.get({ extractor: '../escape', sha256: sha(1), view: 'id' }, 1)) ?? [])).toEqual([1]);
  });
});
