// `myvlm eval caption` and `myvlm eval vqa` as a user types them, in a child
// process, on a real-format export and the real MyVLM photos: the paper's
// folds, heads and lessons end to end, the report's every number, the run
// folder that lets a stopped run resume, and the honest "these numbers mean
// nothing" of a model with random weights.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMyvlm, scratchEnvironment, type CliRun } from '../support/cli.ts';
import { SHARED_DATA, SHARED_MODELS } from '../support/paths.ts';
import { REPLICAS_DIR } from '../support/replicas.ts';

let scratch: string;
const CONCEPTS = path.join(SHARED_DATA, 'myvlm/concepts');
const SHARP = path.join(REPLICAS_DIR, 'llava-interleave-qwen-tiny-sharp');

function myvlm(env: Record<string, string>, ...args: string[]): CliRun {
  return runMyvlm(args, { env: { ...scratchEnvironment(scratch), ...env } });
}

const METRIC_NAMES = ['bleu1', 'bleu2', 'bleu3', 'bleu4', 'cider', 'meteor', 'rougeL'];

interface Scores {
  recall: number;
  answers: number;
  metrics: Record<string, number> | null;
}

beforeAll(() => {
  scratch = mkdtempSync(path.join(tmpdir(), 'myvlm-eval-caption-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('myvlm eval caption', () => {
  const args = (runDir: string) => [
    'eval',
    'caption',
    '--vlm',
    SHARP,
    '--data',
    CONCEPTS,
    '--concepts',
    'billy_dog,bo',
    '--shots',
    '2',
    '--folds',
    '2',
    '--steps',
    '8',
    '--held-out',
    '2',
    '--features',
    'mobilenet-v3-small-576',
    '--run-dir',
    runDir,
    '--json',
  ];

  it(
    'teaches heads and embeddings per fold, and reports recall, metrics, baselines and controls; a rerun resumes',
    { timeout: 300_000 },
    () => {
      const runDir = path.join(scratch, 'run');
      const html = path.join(scratch, 'report.html');
      const env = { MYVLM_MODELS_DIR: SHARED_MODELS };
      const run = myvlm(env, ...args(runDir), '--report', html);
      expect(run.code, run.stderr).toBe(0);
      const report = JSON.parse(run.stdout) as Record<string, unknown> & Scores;
      expect(report).toMatchObject({
        task: 'caption',
        model: 'local:llava-interleave-qwen-tiny-sharp',
        shots: 2,
        folds: 2,
        steps: 8,
        identifier: 'sks',
        heads: { extractor: 'mobilenet-v3-small-576' },
        similarity: { available: false },
      });
      // 2 concepts x 2 folds x 2 held-out photos, one caption each.
      expect(report.answers).toBe(8);
      for (const scores of [
        report,
        report.vanilla as Scores,
        (report.baselines as Record<string, Scores>).keyword,
        (report.baselines as Record<string, Scores>).llm,
        (report.controls as Record<string, Scores>).untaughtVector,
        report.withHead as Scores,
      ]) {
        expect(scores.recall).toBeGreaterThanOrEqual(0);
        expect(scores.recall).toBeLessThanOrEqual(1);
        expect(Object.keys(scores.metrics!).sort()).toEqual([...METRIC_NAMES].sort());
        for (const name of METRIC_NAMES) expect(Number.isFinite(scores.metrics![name])).toBe(true);
      }
      expect((report.withHead as { firedRate: number }).firedRate).toBeGreaterThanOrEqual(0);
      // Random weights: the vanilla captions share no words with the references, and the report says so.
      expect(report.weightsLookTrained).toMatchObject({ value: false });
      expect((report.weightsLookTrained as { reason: string }).reason).toMatch(/measure nothing/);
      expect(report.paper).toMatchObject({ recall: { llavaObjects: 94.76, llmGuidedBaseline: 46.23 } });
      const concepts = report.concepts as { name: string; answers: number; lossStart: number; lossEnd: number }[];
      expect(concepts.map((c) => [c.name, c.answers])).toEqual([
        ['billy_dog', 4],
        ['bo', 4],
      ]);
      // The sharp replica's loss moves within 8 steps: the lessons really ran.
      for (const c of concepts) expect(c.lossEnd).toBeLessThan(c.lossStart);
      expect(readdirSync(runDir).sort()).toEqual(
        [
          'billy_dog.fold0.json',
          'billy_dog.fold1.json',
          'bo.fold0.json',
          'bo.fold1.json',
          'run.json',
          'vanilla',
        ].sort(),
      );
      const page = readFileSync(html, 'utf8');
      expect(page).toContain('These numbers mean nothing');
      const fold = JSON.parse(readFileSync(path.join(runDir, 'bo.fold1.json'), 'utf8')) as {
        rows: { forced: string }[];
      };
      expect(page).toContain(fold.rows[0].forced.replace(/&/g, '&#38;').slice(0, 10));

      const again = myvlm(env, ...args(runDir));
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr).toContain(`Resuming: 4 of 4 folds are already done in ${runDir}.`);
      const resumed = JSON.parse(again.stdout) as Record<string, unknown>;
      for (const key of ['recall', 'vanilla', 'baselines', 'controls', 'withHead', 'concepts'])
        expect(resumed[key]).toEqual(report[key]);
    },
  );

  it(
    'refuses a run folder written with other settings, and measures without heads when no image features are there',
    { timeout: 120_000 },
    () => {
      const runDir = path.join(scratch, 'run');
      const clash = myvlm({ MYVLM_MODELS_DIR: SHARED_MODELS }, ...args(runDir).map((a) => (a === '8' ? '9' : a)));
      expect(clash.code).toBe(1);
      expect(clash.stderr).toContain('holds an evaluation run with other settings');
      expect(clash.stderr).toContain('--fresh');

      const bare = myvlm(
        { MYVLM_MODELS_DIR: path.join(scratch, 'no-models') },
        ...['eval', 'caption', '--vlm', SHARP, '--data', CONCEPTS, '--concepts', 'skulls_mug'],
        ...['--folds', '1', '--steps', '2', '--held-out', '1', '--json'],
      );
      expect(bare.code, bare.stderr).toBe(0);
      const report = JSON.parse(bare.stdout) as {
        withHead: unknown;
        heads: { extractor: null; problem: string };
        answers: number;
      };
      expect(report.withHead).toBeNull();
      expect(report.answers).toBe(1);
      expect(report.heads.extractor).toBeNull();
      expect(report.heads.problem).toContain('npx myvlm models fetch clip-vit-b32');
    },
  );

  it('says what is wrong with a folder that is not a caption dataset, and with a typing mistake', () => {
    const wrong = myvlm({}, 'eval', 'caption', '--vlm', SHARP, '--data', path.join(SHARED_DATA, 'myvlm'));
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('holds no concept folder with a captions.json');
    const typo = myvlm({}, 'eval', 'caption', '--vlm', SHARP);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('Name the dataset with --data');
  });
});

describe('myvlm eval vqa', () => {
  it(
    "asks the ten questions of Table 1 and scores the answers against the dataset's recorded ones",
    { timeout: 180_000 },
    () => {
      const run = myvlm(
        {},
        ...['eval', 'vqa', '--vlm', SHARP, '--data', CONCEPTS, '--concepts', 'billy_dog'],
        ...['--shots', '1', '--folds', '1', '--steps', '2', '--held-out', '1', '--json'],
      );
      expect(run.code, run.stderr).toBe(0);
      const report = JSON.parse(run.stdout) as {
        task: string;
        answers: number;
        metrics: Record<string, number> | null;
        weightsLookTrained: { value: boolean; reason: string };
        paper: unknown;
      };
      expect(report.task).toBe('vqa');
      expect(report.answers).toBe(10);
      // The paper's figures are for captions; random weights answer nothing like the recorded answers.
      expect(report.paper).toBeNull();
      expect(report.weightsLookTrained.value).toBe(false);
      expect(report.weightsLookTrained.reason).toMatch(/vanilla model's answers share almost no words/);
      // billy_dog's photos carry recorded answers to nine of the ten questions.
      expect(Object.keys(report.metrics ?? {})).toContain('bleu4');
    },
  );
});
