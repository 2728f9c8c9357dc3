// The page's gallery: the scope's concepts as the page shows them (name, kind,
// facts, teaching photos as thumbnails, whether the VLM has learned them),
// read straight from the concept store. Changes go through the core as turns.
import sharp from 'sharp';
import type { ConceptKind } from '../../src/memory/concept.ts';
import type { ConceptStore } from '../../src/memory/store.ts';
import { VLM_MODELS } from '../../src/models/catalog/vlm.ts';

/** Longest side of a gallery thumbnail, in pixels. */
export const THUMBNAIL_SIDE = 256;

export interface GalleryConcept {
  id: string;
  name: string;
  kind: ConceptKind;
  facts: string[];
  photos: Array<{ sha256: string; url: string }>;
  /** The configured VLM has learned the concept's embedding (false without a VLM). */
  learned: boolean;
}

/**
 * The key the configured VLM's embeddings are stored under, as src/vlm/load.ts
 * locates it: a registry id, or `local:<folder name>` for a folder; null without a VLM.
 */
export async function embeddingKey(vlmSpec: string | null): Promise<string | null> {
  if (vlmSpec === null) return null;
  if (VLM_MODELS.some((entry) => entry.id === vlmSpec)) return vlmSpec;
  // Loaded only with a VLM configured: the module brings the export reader with it.
  const { vlmIdForFolder } = await import('../../src/vlm/load.ts');
  return vlmIdForFolder(vlmSpec);
}

export async function galleryConcepts(
  store: ConceptStore,
  scope: string,
  vlmKey: string | null,
): Promise<GalleryConcept[]> {
  return (await store.list(scope)).map((concept) => ({
    id: concept.id,
    name: concept.name,
    kind: concept.kind,
    facts: [...concept.facts],
    photos: concept.photos
      .filter((photo) => photo.role === 'example')
      .map((photo) => ({ sha256: photo.sha256, url: photoUrl(concept.id, photo.sha256) })),
    learned: vlmKey !== null && concept.embeddings[vlmKey] !== undefined,
  }));
}

export function photoUrl(conceptId: string, sha256: string): string {
  return `/api/concepts/${encodeURIComponent(conceptId)}/photos/${sha256}`;
}

/** A JPEG thumbnail of a teaching photo of this concept of this scope, or null when there is none. */
export async function thumbnail(
  store: ConceptStore,
  scope: string,
  conceptId: string,
  sha256: string,
): Promise<Uint8Array | null> {
  const concept = await store.get(scope, conceptId);
  if (!concept?.photos.some((photo) => photo.sha256 === sha256 && photo.role === 'example')) return null;
  const bytes = await store.getPhoto(scope, sha256);
  if (!bytes) return null;
  const jpeg = await sharp(bytes)
    .rotate()
    .resize(THUMBNAIL_SIDE, THUMBNAIL_SIDE, { fit: 'inside', withoutEnlargement: true })
    .jpeg({ quality: 80 })
    .toBuffer();
  return new Uint8Array(jpeg);
}
