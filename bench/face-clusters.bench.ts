// Where the join similarity of unknown-face clusters comes from
// (FACE.unknownFaces in src/config/defaults.ts; src/heads/face/clusters.ts).
// Every photo of ../shared/data/faces that shows exactly one recognizable
// face is embedded once per recognizer; the photos are split in halves by
// content hash (the split `myvlm eval faces` uses). On each half the photos
// are fed one at a time, in 5 shuffled orders, to the clustering the
// assistant runs, as if nobody had been taught. A cluster counts once it
// reaches the minimum photos (what /who lists). Purity: the share of listed
// faces that belong to their cluster's main person. Fragments: listed
// clusters per person found. Coverage: the share of all faces sitting in a
// listed cluster of their own person. The join similarity is the lowest
// (steps of 0.01, so the fewest fragments) whose purity is at least 99% in
// every order on the calibration half; the held-out half then reports it.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FACE } from '../src/config/defaults.ts';
import { decodeImage } from '../src/image/decode.ts';
import { FaceHead } from '../src/heads/face/head.ts';
import { listedClusters, placeFaces, type ClusteringOptions } from '../src/heads/face/clusters.ts';
import { loadFaceDataset, type IdentityPhotos } from '../src/heads/face/evaluation/dataset.ts';
import { splitByContent } from '../src/heads/face/evaluation/split.ts';
import { contentHash } from '../src/image/content-hash.ts';
import type { FaceCluster } from '../src/memory/scope-memory.ts';
import { FACE_RECOGNIZERS } from '../src/models/catalog/faces.ts';
import { findModel } from '../src/models/registry.ts';
import { SessionPool } from '../src/models/session.ts';
import { seededRandom } from '../src/random.ts';
import { SHARED_DATA, SHARED_MODELS } from '../test/support/paths.ts';
import { table, type BenchSection } from './harness.ts';

const DETECTOR = 'yunet-2023mar';
const SEEDS = [1, 2, 3, 4, 5];
const MIN_PURITY = 0.99;
const CANDIDATES = Array.from({ length: 100 }, (_, i) => i / 100);

interface Face {
  person: string;
  photo: string;
  embedding: Float32Array;
}

interface Quality {
  purity: number;
  fragments: number;
  coverage: number;
  found: number;
}

async function facesOf(head: FaceHead, identities: readonly IdentityPhotos[]): Promise<Face[]> {
  const faces: Face[] = [];
  for (const identity of identities) {
    for (const file of identity.photos) {
      const found = (await head.embedFaces(await decodeImage(new Uint8Array(readFileSync(file))))).filter(
        (f) => f.embedding !== null,
      );
      if (found.length === 1 && found[0].embedding)
        faces.push({ person: identity.name, photo: contentHash(file), embedding: found[0].embedding });
    }
  }
  return faces;
}

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const random = seededRandom(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** Clusters `faces` in the given order and scores the listed clusters against who is really who. */
function quality(faces: readonly Face[], options: ClusteringOptions): Quality {
  let clusters: FaceCluster[] = [];
  const members = new Map<string, string[]>();
  let next = 0;
  for (const face of faces) {
    const placement = placeFaces(
      clusters,
      [{ embedding: face.embedding, thumbnail: '-' }],
      face.photo,
      options,
      () => String(next++),
      new Date(0).toISOString(),
    );
    clusters = placement.clusters;
    const id = placement.placed[0].clusterId;
    members.set(id, [...(members.get(id) ?? []), face.person]);
  }
  let listedFaces = 0;
  let pure = 0;
  const fragments = new Map<string, number>();
  for (const cluster of listedClusters(clusters)) {
    const people = members.get(cluster.id) ?? [];
    const counts = new Map<string, number>();
    for (const p of people) counts.set(p, (counts.get(p) ?? 0) + 1);
    const [main, count] = [...counts].sort((a, b) => b[1] - a[1])[0];
    listedFaces += people.length;
    pure += count;
    fragments.set(main, (fragments.get(main) ?? 0) + 1);
  }
  const found = fragments.size;
  return {
    purity: listedFaces === 0 ? 1 : pure / listedFaces,
    fragments: found === 0 ? 0 : [...fragments.values()].reduce((a, b) => a + b, 0) / found,
    coverage: pure / faces.length,
    found,
  };
}

function runs(faces: readonly Face[], options: ClusteringOptions): Quality[] {
  return SEEDS.map((seed) => quality(shuffled(faces, seed), options));
}

const percent = (x: number) => `${(100 * x).toFixed(1)}%`;
const range = (values: number[], show: (x: number) => string) => {
  const sorted = [...values].sort((a, b) => a - b);
  return `${show(sorted[Math.floor(sorted.length / 2)])} (${show(sorted[0])}-${show(sorted[sorted.length - 1])})`;
};

export default async function faceClustersBenchmark(): Promise<BenchSection> {
  const dataset = loadFaceDataset(path.join(SHARED_DATA, 'faces'));
  const split = splitByContent(dataset);
  const cacheDir = mkdtempSync(path.join(tmpdir(), 'myvlm-bench-clusters-'));
  const sessions = new SessionPool();
  const rows: (string | number)[][] = [];
  try {
    for (const recognizer of FACE_RECOGNIZERS) {
      const head = new FaceHead({
        detector: findModel('face-detection', DETECTOR),
        recognizer,
        sessions,
        resolve: { modelsDir: SHARED_MODELS, cacheDir, allowDownload: false },
      });
      if (await head.availability()) {
        rows.push([recognizer.id, 'not measured: model files not here', '', '', '', '', '']);
        continue;
      }
      const calibration = await facesOf(head, split.calibration.identities);
      const report = await facesOf(head, split.report.identities);
      const base = {
        recognizer: recognizer.id,
        keysPerCluster: FACE.unknownFaces.keysPerCluster,
        recentPhotos: FACE.unknownFaces.recentPhotos,
        maxClusters: Number.MAX_SAFE_INTEGER,
      };
      const chosen = CANDIDATES.find((joinSimilarity) =>
        runs(calibration, { ...base, joinSimilarity }).every((q) => q.purity >= MIN_PURITY),
      );
      if (chosen === undefined) {
        rows.push([recognizer.id, `no join similarity reaches ${percent(MIN_PURITY)} purity`, '', '', '', '', '']);
        continue;
      }
      for (const [half, faces] of [
        ['calibration', calibration],
        ['held-out', report],
      ] as const) {
        const q = runs(faces, { ...base, joinSimilarity: chosen });
        rows.push([
          recognizer.id,
          chosen.toFixed(2),
          `${half} (${faces.length} faces)`,
          range(
            q.map((x) => x.purity),
            percent,
          ),
          range(
            q.map((x) => x.fragments),
            (x) => x.toFixed(2),
          ),
          range(
            q.map((x) => x.coverage),
            percent,
          ),
          range(
            q.map((x) => x.found),
            String,
          ),
        ]);
      }
    }
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
  return {
    title: 'Unknown-face clusters (join similarity per recognizer)',
    markdown: [
      `Photos of ../shared/data/faces with one recognizable face, split by content hash; ${SEEDS.length} shuffled orders per half, ` +
        `clusters listed from ${FACE.unknownFaces.minPhotos} photos. Median (min-max) over the orders.`,
      '',
      table(
        ['recognizer', 'join similarity', 'half', 'purity', 'clusters per person found', 'coverage', 'people found'],
        rows,
      ),
    ].join('\n'),
  };
}
