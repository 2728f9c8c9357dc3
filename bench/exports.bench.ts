// Every precision of the VLM replicas (real export formats, random weights)
// and the decoders other tools write, run the way a user runs them: `myvlm
// caption` must answer, and `myvlm teach Rex <4 photos> --steps 30 --json`
// must lower the loss of the teaching photos. Beside it, the peak memory of a
// teaching step against an answer, each in a fresh process. With
// MYVLM_BENCH_FULLSIZE naming a full-size replica (make_replicas.py
// --full-size), the same memory and times at the real model's dimensions.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InternalError } from '../src/errors.ts';
import { graphPath } from '../src/onnx/layout.ts';
import { type VlmDtype } from '../src/config/settings.ts';
import { availableDtypes } from '../src/vlm/export/variants.ts';
import {
  ALL_REPLICA_VARIANTS,
  REPLICA_FOLDERS,
  REPLICAS_DIR,
  variantFolder,
  type ReplicaVariant,
} from '../test/support/replicas.ts';
import { SHARED_DATA } from '../test/support/paths.ts';
import { table, type BenchSection } from './harness.ts';
import { PROBE_CAPTION_TOKENS, type ProbeResult } from './export-probe.ts';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PHOTOS = [1, 2, 3, 4].map((i) => path.join(SHARED_DATA, `myvlm/concepts/billy_dog/billy_dog_${i}.jpg`));
/** The check: 30 steps on 4 photos. */
const TEACH_STEPS = 30;

interface Cli {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: readonly string[], env: Record<string, string>): Cli {
  const child = spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'bin/myvlm.js'), ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { ...process.env, MYVLM_LOG_LEVEL: 'silent', ...env },
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: child.status ?? -1, stdout: child.stdout, stderr: child.stderr };
}

function probe(mode: 'answer' | 'teach', dir: string, dtype: VlmDtype, cacheDir: string): ProbeResult {
  const child = spawnSync(
    process.execPath,
    ['--import', 'tsx', path.join(REPO_ROOT, 'bench/export-probe.ts'), mode, dir, dtype, PHOTOS[0], cacheDir],
    {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      env: { ...process.env, MYVLM_LOG_LEVEL: 'silent' },
    },
  );
  // The benchmark checks the code on exports it knows work (the replicas): a failure is the code's.
  if (child.status !== 0) throw new InternalError(`The ${mode} probe failed on ${dir} ${dtype}: ${child.stderr}`);
  return JSON.parse(child.stdout) as ProbeResult;
}

/** The `--vlm` argument a reader can type: the replica folder, or the linked folder of an extra decoder. */
function shown(variant: ReplicaVariant): string {
  return 'dtype' in variant ? `$R/${variant.folder} --dtype ${variant.dtype}` : `$X/${variant.folder}-${variant.extra}`;
}

export default function exportsBenchmark(): Promise<BenchSection> {
  const scratch = mkdtempSync(path.join(tmpdir(), 'myvlm-bench-exports-'));
  const cacheDir = path.join(scratch, 'cache');
  const sections: string[] = [];
  try {
    for (const folder of REPLICA_FOLDERS) {
      const variants = ALL_REPLICA_VARIANTS.filter((v) => v.folder === folder);
      const rows: (string | number)[][] = [];
      for (const variant of variants) {
        const { dir, dtype } = variantFolder(variant, path.join(scratch, 'extras'));
        const env = { MYVLM_DATA_DIR: path.join(scratch, 'data'), MYVLM_CACHE_DIR: cacheDir };
        const caption = cli(['caption', PHOTOS[0], '--vlm', dir, '--dtype', dtype], env);
        const answered =
          caption.code === 0 && caption.stdout.trim().length > 0
            ? 'answers'
            : `**fails** (${caption.stderr.trim().split('\n').at(-1)})`;
        const teach = cli(
          ['teach', 'Rex', ...PHOTOS, '--vlm', dir, '--dtype', dtype, '--steps', String(TEACH_STEPS), '--json'],
          env,
        );
        let taught: string;
        let seconds = Number.NaN;
        if (teach.code === 0) {
          const report = JSON.parse(teach.stdout) as { lossStart: number; lossEnd: number; seconds: number };
          seconds = report.seconds;
          taught = `${report.lossStart.toFixed(4)} -> ${report.lossEnd.toFixed(4)} ${report.lossEnd < report.lossStart ? '(lower)' : '**(not lower)**'}`;
        } else {
          taught = `**fails** (${teach.stderr.trim().split('\n').at(-1)})`;
        }
        const answer = probe('answer', dir, dtype, cacheDir);
        const teaching = probe('teach', dir, dtype, cacheDir);
        rows.push([
          `\`${shown(variant)}\``,
          answered,
          taught,
          seconds,
          answer.peakMiB,
          teaching.peakMiB,
          teaching.peakMiB / answer.peakMiB,
        ]);
      }
      sections.push(
        `### ${folder}\n\n` +
          table(
            [
              '--vlm',
              '`myvlm caption $PHOTO --vlm ...`',
              `\`myvlm teach Rex $PHOTOS --vlm ... --steps ${TEACH_STEPS} --json\`: lossStart -> lossEnd`,
              'teach s',
              'answer peak MiB',
              'teaching peak MiB',
              'teaching / answer',
            ],
            rows,
          ),
      );
    }
    const fullsize = process.env.MYVLM_BENCH_FULLSIZE;
    if (fullsize && existsSync(fullsize)) sections.push(fullSizeSection(fullsize, cacheDir));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  // The probes run as child processes (spawnSync): nothing here awaits, but every section is a promise.
  return Promise.resolve({
    title: 'Every export variant: answering, teaching, and teaching memory against answering',
    markdown: [
      `R=${path.relative(REPO_ROOT, REPLICAS_DIR)}; X = folders linking a replica's files with an extra/ decoder ` +
        'as onnx/decoder_model_merged.onnx (replicas README); ' +
        '$PHOTO = billy_dog_1.jpg, $PHOTOS = billy_dog_1-4.jpg of ../shared/data/myvlm/concepts/billy_dog.',
      '"answers": `myvlm caption` exits 0 with an answer (random weights: nonsense text). ' +
        "The teach column is the command's --json lossStart and lossEnd (the loss of the 4 photos without augmentation, " +
        'each with its first target, for the initial and the learned vector; targets written by the model itself). ' +
        'Memory: growth of the peak resident set (VmHWM) of a fresh process that opens the export ' +
        `and writes a ${PROBE_CAPTION_TOKENS}-token caption, against one that opens it for teaching ` +
        '(the three graphs plus the prefix and teaching graphs, prebuilt) and takes two teaching steps on one photo.',
      '',
      ...sections,
    ].join('\n\n'),
  });
}

/** Memory and time of answering and teaching at the real model's dimensions, per precision the folder has. */
function fullSizeSection(dir: string, cacheDir: string): string {
  const rows: (string | number)[][] = [];
  for (const dtype of availableDtypes(dir)) {
    const built = performance.now();
    // Built once per decoder and cached; a fresh process, as a lesson's first start would.
    const script =
      `import { ensureTeachingGraph } from ${JSON.stringify(path.join(REPO_ROOT, 'src/teach/teaching-graph.ts'))}; ` +
      `await ensureTeachingGraph(${JSON.stringify(path.join(dir, graphPath('decoder', dtype)))}, ` +
      `${JSON.stringify(cacheDir)}, 'row');`;
    const build = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });
    if (build.status !== 0)
      throw new InternalError(`Building the teaching graph of ${dir} ${dtype} failed: ${build.stderr}`);
    const buildSeconds = (performance.now() - built) / 1000;
    const answer = probe('answer', dir, dtype, cacheDir);
    const teaching = probe('teach', dir, dtype, cacheDir);
    rows.push([
      dtype,
      buildSeconds,
      answer.ms / PROBE_CAPTION_TOKENS,
      answer.peakMiB,
      teaching.ms,
      teaching.peakMiB,
      teaching.peakMiB / answer.peakMiB,
    ]);
  }
  return (
    `### Full size: ${path.basename(dir)} (Qwen1.5-0.5B + SigLIP-so400m dimensions, random weights)\n\n` +
    table(
      [
        'dtype',
        'teaching graph build s',
        `answer ms per token (${PROBE_CAPTION_TOKENS} tokens, prefill included)`,
        'answer peak MiB',
        'teaching step ms (1 photo)',
        'teaching peak MiB',
        'teaching / answer',
      ],
      rows,
    )
  );
}
