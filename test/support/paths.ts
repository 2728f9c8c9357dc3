// Where the shared real models and photos live: ../shared beside the
// repository (never copied into it). Tests and benchmarks read them in place.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SHARED_DIR = process.env.MYVLM_SHARED_DIR ?? path.resolve(REPO_ROOT, '../shared');
export const SHARED_MODELS = path.join(SHARED_DIR, 'models');
export const SHARED_DATA = path.join(SHARED_DIR, 'data');

export function sharedPhoto(...parts: string[]): string {
  return path.join(SHARED_DATA, 'photos', ...parts);
}
