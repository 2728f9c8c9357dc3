// Unknown faces grouped by person, one photo at a time (`/settings
// remember-faces on`). A face joins the cluster holding its nearest key when
// that key is similar enough, otherwise it starts a cluster of its own. Pure
// functions over embeddings, so the benchmark that chose the numbers
// (bench/face-clusters.bench.ts) runs exactly what the assistant runs.
import { FACE } from '../../config/defaults.ts';
import type { FaceCluster } from '../../memory/scope-memory.ts';
import type { FaceHeadParams } from '../../memory/concept.ts';
import { cosine, nearestKeySimilarity, toFaceHeadParams, unpackKeys } from './keys.ts';
import { DUPLICATE_KEY_SIMILARITY, normalizedMean } from './teach.ts';

/** An unknown face of the photo being placed. */
export interface UnknownFace {
  /** L2-normalized, from `recognizer`. */
  embedding: Float32Array;
  /** A small JPEG of the face (base64), kept when it starts a cluster. */
  thumbnail: string;
}

export interface ClusteringOptions {
  /** Registry id of the recognizer that embedded the faces. */
  recognizer: string;
  /** A face joins a cluster when its similarity to the cluster's nearest key reaches this. */
  joinSimilarity: number;
  keysPerCluster: number;
  recentPhotos: number;
  maxClusters: number;
}

/** The clusters after a photo, and where each of its faces went (index of `faces`). */
export interface Placement {
  clusters: FaceCluster[];
  placed: Array<{ clusterId: string; created: boolean }>;
}

/** The options for `recognizer`: its measured join similarity, else its matching threshold. */
export function clusteringOptions(recognizer: string, matchThreshold: number): ClusteringOptions {
  const { joinSimilarity, keysPerCluster, recentPhotos, maxClusters } = FACE.unknownFaces;
  return {
    recognizer,
    joinSimilarity: (joinSimilarity as Readonly<Record<string, number>>)[recognizer] ?? matchThreshold,
    keysPerCluster,
    recentPhotos,
    maxClusters,
  };
}

/**
 * Places the unknown faces of one photo (`photo` is its sha256). Two faces of
 * one photo are two people, so each cluster takes at most one of them (the
 * most similar pairs first), and a photo a cluster has already counted adds
 * nothing to it. Clusters of another recognizer cannot be compared and are
 * dropped. `newId` names new clusters; `now` is an ISO date.
 */
export function placeFaces(
  existing: readonly FaceCluster[],
  faces: readonly UnknownFace[],
  photo: string,
  options: ClusteringOptions,
  newId: () => string,
  now: string,
): Placement {
  const clusters = existing.filter((c) => c.recognizer === options.recognizer).map((c) => ({ ...c }));
  const pairs = faces.flatMap((face, f) =>
    clusters.map((cluster, c) => ({ f, c, similarity: nearestKey(face.embedding, cluster) })),
  );
  pairs.sort((a, b) => b.similarity - a.similarity);
  const clusterOf = new Map<number, number>();
  const taken = new Set<number>();
  for (const { f, c, similarity } of pairs) {
    if (similarity < options.joinSimilarity) break;
    if (clusterOf.has(f) || taken.has(c)) continue;
    clusterOf.set(f, c);
    taken.add(c);
  }
  const placed = faces.map((face, f) => {
    const c = clusterOf.get(f);
    if (c === undefined) {
      const cluster = newCluster(face, photo, options, newId(), now);
      clusters.push(cluster);
      return { clusterId: cluster.id, created: true };
    }
    clusters[c] = joined(clusters[c], face, photo, options, now);
    return { clusterId: clusters[c].id, created: false };
  });
  return { clusters: bounded(clusters, options.maxClusters), placed };
}

/** Clusters seen in at least `minPhotos` photos, most photos first (then oldest first): what /who lists. */
export function listedClusters(
  clusters: readonly FaceCluster[],
  minPhotos = FACE.unknownFaces.minPhotos,
): FaceCluster[] {
  return clusters
    .filter((c) => c.photos >= minPhotos)
    .sort((a, b) => b.photos - a.photos || a.firstSeen.localeCompare(b.firstSeen) || a.id.localeCompare(b.id));
}

/** Similarity of a face to the nearest key of a cluster. */
export function nearestKey(embedding: Float32Array, cluster: FaceCluster): number {
  return nearestKeySimilarity(embedding, asKeys(cluster));
}

/** A cluster's keys as face head parameters: the shape a person taught from it gets. */
export function asKeys(cluster: FaceCluster): FaceHeadParams {
  return { type: 'face', recognizer: cluster.recognizer, dims: cluster.dims, keys: cluster.keys };
}

function newCluster(
  face: UnknownFace,
  photo: string,
  options: ClusteringOptions,
  id: string,
  now: string,
): FaceCluster {
  return {
    id,
    recognizer: options.recognizer,
    dims: face.embedding.length,
    keys: Float32Array.from(face.embedding),
    photos: 1,
    recentPhotos: [photo],
    thumbnail: face.thumbnail,
    firstSeen: now,
    lastSeen: now,
  };
}

function joined(
  cluster: FaceCluster,
  face: UnknownFace,
  photo: string,
  options: ClusteringOptions,
  now: string,
): FaceCluster {
  if (cluster.recentPhotos.includes(photo)) return cluster;
  let keys = unpackKeys(asKeys(cluster));
  if (!keys.some((k) => cosine(face.embedding, k) >= DUPLICATE_KEY_SIMILARITY)) keys.push(face.embedding);
  // Past the cap, the key least like the others goes: the cluster keeps its most typical faces.
  while (keys.length > options.keysPerCluster) {
    const mean = normalizedMean(keys);
    const similarities = keys.map((k) => cosine(k, mean));
    keys = keys.filter((_, i) => i !== similarities.indexOf(Math.min(...similarities)));
  }
  return {
    ...cluster,
    keys: toFaceHeadParams(cluster.recognizer, cluster.dims, keys).keys,
    photos: cluster.photos + 1,
    recentPhotos: [...cluster.recentPhotos, photo].slice(-options.recentPhotos),
    lastSeen: now,
  };
}

/** At most `max` clusters: the ones seen in the fewest photos go first, the longest unseen among them. */
function bounded(clusters: FaceCluster[], max: number): FaceCluster[] {
  if (clusters.length <= max) return clusters;
  const keep = new Set(
    [...clusters]
      .sort((a, b) => b.photos - a.photos || b.lastSeen.localeCompare(a.lastSeen))
      .slice(0, max)
      .map((c) => c.id),
  );
  return clusters.filter((c) => keep.has(c.id));
}
