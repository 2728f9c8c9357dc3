// What the paper's evaluation costs (`myvlm eval caption`, src/eval/caption/):
// one fold of one concept on the sharp tiny replica against its two
// references measured in the same run: a plain lesson on the same photos and
// settings (what a fold's teaching adds to it: the concept head), and one
// personalized caption of a held-out photo (what a fold's answering costs per
// photo: the forced, untaught-vector and vanilla captions and the LLM-guided
// rewrite). A whole run is folds x concepts of these.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EVALUATION } from '../src/config/defaults.ts';
import { loadSettings } from '../src/config/settings.ts';
import { decodeImage } from '../src/image/decode.ts';
import { loadCaptionDataset } from '../src/eval/caption/dataset.ts';
import { openEvaluationHeads } from '../src/eval/caption/heads.ts';
import { EVALUATION_MODEL_ID, evaluationConcept, runPersonalization } from '../src/eval/caption/run.ts';
import { defaultTraining, teachLesson } from '../src/teach/job.ts';
import { TeachableExport } from '../src/teach/teachable-export.ts';
import { PersonalVlm } from '../src/vlm/personal-vlm.ts';
import { SHARED_DATA, SHARED_MODELS } from '../test/support/paths.ts';
import { REPLICAS_DIR } from '../test/support/replicas.ts';
import { table, type BenchSection } from './harness.ts';

const SHOTS = 4;
const STEPS = 10;
const HELD_OUT = 4;

export default async function evaluationBenchmark(): Promise<BenchSection> {
  const cacheDir = mkdtempSync(path.join(tmpdir(), 'myvlm-bench-eval-'));
  const settings = { ...loadSettings({ ...process.env, MYVLM_MODELS_DIR: SHARED_MODELS }), cacheDir };
  const dataset = loadCaptionDataset(path.join(SHARED_DATA, 'myvlm/concepts'), ['billy_dog', 'bo']);
  const vlm = await TeachableExport.open(path.join(REPLICAS_DIR, 'llava-interleave-qwen-tiny-sharp'), {
    cacheDir,
    dtype: 'fp32',
  });
  const heads = await openEvaluationHeads('mobilenet-v3-small-576', settings);
  try {
    const [fold] = await runPersonalization({ vlm, objects: heads.objects }, dataset, {
      task: 'caption',
      shots: SHOTS,
      folds: 1,
      seed: 0,
      steps: STEPS,
      identifier: 'sks',
      hardNegatives: new Map(),
      runDir: path.join(cacheDir, 'run'),
      settingsKey: 'bench',
      heldOut: HELD_OUT,
      maxNewTokens: EVALUATION.maxAnswerTokens,
    });

    // The references, on the fold's own photos and settings.
    const photo = (name: string) => path.join(SHARED_DATA, 'myvlm/concepts', fold.concept, name);
    const images = await Promise.all(
      fold.trainPhotos.map(async (name) => decodeImage(new Uint8Array(readFileSync(photo(name))))),
    );
    const captions = dataset.concepts[0].photos;
    let started = performance.now();
    const lesson = await teachLesson(vlm, {
      concept: { identifier: 'sks', name: fold.concept, kind: 'object', classPhrase: 'dog' },
      task: 'caption',
      training: { ...defaultTraining('caption', vlm.model.family, 0), steps: STEPS },
      photos: images.map((image, i) => ({
        image,
        caption: captions.find((p) => path.basename(p.file) === fold.trainPhotos[i])?.captions[0] ?? null,
      })),
    });
    const lessonSeconds = (performance.now() - started) / 1000;
    const heldOut = await decodeImage(new Uint8Array(readFileSync(photo(fold.rows[0].photo))));
    const answering = new PersonalVlm(EVALUATION_MODEL_ID, vlm.model);
    started = performance.now();
    await answering.caption({
      image: heldOut,
      maxNewTokens: EVALUATION.maxAnswerTokens,
      concepts: [evaluationConcept('sks', lesson.state.vector)],
    });
    const captionSeconds = (performance.now() - started) / 1000;
    const perPhoto = fold.answerSeconds / fold.rows.length;
    return {
      title: 'The personalization evaluation (eval caption), one fold against a lesson and a caption',
      markdown: [
        `llava-interleave-qwen-tiny-sharp fp32, concept ${fold.concept}, ${SHOTS} teaching photos, ${STEPS} steps, ` +
          `${fold.rows.length} held-out photos, object head on mobilenet-v3-small-576 (${heads.objects ? 'present' : 'absent'}), ` +
          `captions of at most ${EVALUATION.maxAnswerTokens} tokens (random weights never stop early). One run each.`,
        '',
        table(
          ['part', 'seconds', 'reference', 'reference seconds', 'ratio'],
          [
            [
              "fold's teaching (head + lesson)",
              fold.teachSeconds,
              'the same lesson alone',
              lessonSeconds,
              fold.teachSeconds / lessonSeconds,
            ],
            [
              'answering, per held-out photo',
              perPhoto,
              'one personalized caption',
              captionSeconds,
              perPhoto / captionSeconds,
            ],
          ],
        ),
        '',
        'A held-out photo gets four captions (concept forced, untaught vector, vanilla, and the LLM-guided rewrite of ' +
          'the vanilla caption, the vanilla two kept per photo across folds), so its ratio is about four on the first fold. ' +
          'A whole run costs concepts x folds x (teaching + held-out photos x answering).',
      ].join('\n'),
    };
  } finally {
    await heads.dispose();
    await vlm.release();
    rmSync(cacheDir, { recursive: true, force: true });
  }
}
