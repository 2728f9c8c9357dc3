import { describe, expect, it } from 'vitest';
import { FACE } from '../../config/defaults.ts';
import type { FaceCluster } from '../../memory/scope-memory.ts';
import { clusteringOptions, listedClusters, placeFaces, type ClusteringOptions } from './clusters.ts';

const OPTIONS: ClusteringOptions = {
  recognizer: 'dlib-resnet-v1',
  joinSimilarity: 0.9,
  keysPerCluster: 3,
  recentPhotos: 2,
  maxClusters: 3,
};

/** A unit vector near axis `axis` of 4 dimensions, tilted by `tilt` towards the next axis. */
function face(axis: number, tilt = 0) {
  const v = new Float32Array(4);
  v[axis] = Math.cos(tilt);
  v[(axis + 1) % 4] = Math.sin(tilt);
  return { embedding: v, thumbnail: `thumb-${axis}-${tilt}` };
}

function photo(n: number): string {
  return n.toString(16).padStart(64, '0');
}

function run(photos: Array<Array<ReturnType<typeof face>>>, options = OPTIONS): FaceCluster[] {
  let clusters: FaceCluster[] = [];
  let next = 0;
  photos.forEach((faces, i) => {
    clusters = placeFaces(
      clusters,
      faces,
      photo(i),
      options,
      () => `c${next++}`,
      new Date(i * 1000).toISOString(),
    ).clusters;
  });
  return clusters;
}

describe('placeFaces', () => {
  it('groups one person seen in 3 photos into one cluster, apart from someone else', () => {
    const clusters = run([[face(0)], [face(0, 0.2)], [face(1)], [face(0, 0.1)]]);
    expect(clusters.map((c) => [c.id, c.photos])).toEqual([
      ['c0', 3],
      ['c1', 1],
    ]);
    expect(clusters[0].thumbnail).toBe('thumb-0-0'); // the face that started it
    expect(listedClusters(clusters).map((c) => c.id)).toEqual(['c0']);
  });

  it('counts a photo sent twice once, and two faces of one photo as two people', () => {
    let clusters = placeFaces([], [face(0)], photo(1), OPTIONS, () => 'a', 'x').clusters;
    clusters = placeFaces(clusters, [face(0)], photo(1), OPTIONS, () => 'b', 'x').clusters;
    expect(clusters.map((c) => c.photos)).toEqual([1]);
    // Twins in one photo: both are close to cluster a, but only the closer joins it.
    const placement = placeFaces(clusters, [face(0, 0.1), face(0, 0.05)], photo(2), OPTIONS, () => 'c', 'x');
    expect(placement.placed).toEqual([
      { clusterId: 'c', created: true },
      { clusterId: 'a', created: false },
    ]);
    expect(placement.clusters.map((c) => [c.id, c.photos])).toEqual([
      ['a', 2],
      ['c', 1],
    ]);
  });

  it('keeps at most keysPerCluster keys (the most typical) and recentPhotos hashes', () => {
    const [cluster] = run([[face(0)], [face(0, 0.1)], [face(0, -0.1)], [face(0, 0.4)], [face(0, 0.05)]]);
    expect(cluster.photos).toBe(5);
    expect(cluster.keys.length).toBe(3 * 4);
    // The outlier at tilt 0.4 (similarity 0.92 to the first face) joined, then lost its key to more typical ones.
    const kept = Array.from({ length: 3 }, (_, k) => cluster.keys[k * 4 + 1]);
    expect(kept.every((y) => Math.abs(y) < Math.sin(0.2))).toBe(true);
    expect(cluster.recentPhotos).toEqual([photo(3), photo(4)]);
  });

  it('drops clusters of another recognizer, and past maxClusters the one seen least and longest ago', () => {
    const clusters = run([[face(0)], [face(0, 0.1)], [face(1)], [face(2)], [face(3)]]);
    // c1, c2 and c3 were seen once each; c1 longest ago.
    expect(clusters.map((c) => c.id)).toEqual(['c0', 'c2', 'c3']);
    const other = placeFaces(
      clusters,
      [face(1)],
      photo(9),
      { ...OPTIONS, recognizer: 'mobilefacenet' },
      () => 'm',
      'x',
    );
    expect(other.clusters.map((c) => c.id)).toEqual(['m']);
  });
});

describe('clusteringOptions', () => {
  it('takes the measured join similarity, else the recognizer matching threshold', () => {
    expect(clusteringOptions('dlib-resnet-v1', 0.5).joinSimilarity).toBe(
      FACE.unknownFaces.joinSimilarity['dlib-resnet-v1'],
    );
    expect(clusteringOptions('some-new-recognizer', 0.42).joinSimilarity).toBe(0.42);
  });
});
