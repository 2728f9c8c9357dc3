// Lessons against the real SQLite store: which stored photos a lesson learns
// from, which concepts get a lesson at start, and storing a finished lesson
// (one versioned update, only while the concept still has the photos the
// lesson learned from, re-checked when another write lands first). The
// lessons here run on a VLM whose folder is missing, so their workers fail
// at once: what is checked is what they were started with.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EMBEDDING_TRAINING } from '../config/defaults.ts';
import { ConflictError, OperatorError } from '../errors.ts';
import { encodeJpeg } from '../image/decode.ts';
import type { ConceptEmbedding, ConceptRecord, PhotoRef } from '../memory/concept.ts';
import { KeyvConceptStore } from '../memory/keyv-store.ts';
import type { ConceptStore } from '../memory/store.ts';
import { uniformDtypes } from '../onnx/layout.ts';
import { DEFAULT_RUNTIME } from '../models/session.ts';
import { defaultTraining, JOB_FILES, type EmbeddingJobSpec } from '../teach/job.ts';
import { EmbeddingJobs } from '../teach/jobs.ts';
import type { JobUpdate } from '../teach/job-updates.ts';
import { syntheticScene } from '../teach/miniature/scenes.ts';
import { VLM_FAMILIES } from '../vlm/families.ts';
import type { PersonalVlm } from '../vlm/personal-vlm.ts';
import type { VlmProvider } from '../vlm/provider.ts';
import { EmbeddingLessons, SAVE_ATTEMPTS, saveLessonEmbedding } from './lessons.ts';

const SCOPE = 'telegram:chat:42';
const MODEL = 'local:tiny-llava';
const embedding: ConceptEmbedding = {
  vector: new Float32Array([0.25, -0.5, 1]),
  steps: 100,
  finalLoss: 0.5,
  updatedAt: '2025-01-01T00:00:00.000Z',
};

let dir: string;
let store: KeyvConceptStore;
beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'myvlm-lessons-'));
  store = await KeyvConceptStore.open({ directory: dir });
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function photo(marker: string): Promise<PhotoRef> {
  const sha256 = await store.putPhoto(SCOPE, new TextEncoder().encode(`photo ${marker}`));
  return { sha256, width: 4, height: 4, caption: null, role: 'example', addedAt: new Date().toISOString() };
}

/** Rex taught from photos a and b, and the spec of a lesson that learned from them at that version. */
async function rexWithLesson(): Promise<{ rex: ConceptRecord; spec: EmbeddingJobSpec }> {
  const rex = await store.create({
    scope: SCOPE,
    name: 'Rex',
    kind: 'object',
    owner: 'telegram:user:1',
    photos: [await photo('a'), await photo('b')],
  });
  const spec: EmbeddingJobSpec = {
    id: 'job-1',
    scope: SCOPE,
    conceptId: rex.id,
    modelId: MODEL,
    modelDir: '/models/tiny-llava',
    dtype: uniformDtypes('fp32'),
    concept: { identifier: 'Rex', name: 'Rex', kind: 'object' },
    task: 'caption',
    training: defaultTraining('caption', VLM_FAMILIES['llava-vicuna']),
    photos: [],
    learnedFrom: { conceptVersion: rex.version, photos: rex.photos.map((p) => p.sha256) },
    createdAt: new Date().toISOString(),
  };
  return { rex, spec };
}

/** The store, whose next `update` first lets `intruder` write the concept (as a concurrent turn would). */
function racing(intruder: (draft: ConceptRecord) => void, times = 1): ConceptStore & { updates: number } {
  const wrapper = Object.create(store) as ConceptStore & { updates: number };
  wrapper.updates = 0;
  wrapper.update = async (scope, id, expectedVersion, change) => {
    wrapper.updates += 1;
    if (wrapper.updates <= times) await store.modify(scope, id, intruder);
    return store.update(scope, id, expectedVersion, change);
  };
  return wrapper;
}

describe('saveLessonEmbedding', () => {
  it('stores the embedding as one new version, also after other writes moved the version on', async () => {
    const { rex, spec } = await rexWithLesson();
    await store.modify(SCOPE, rex.id, (d) => void d.facts.push('loves sticks'));
    expect(await saveLessonEmbedding(store, spec, embedding)).toBe(true);
    const saved = (await store.get(SCOPE, rex.id))!;
    expect(saved.version).toBe(rex.version + 2);
    expect(Array.from(saved.embeddings[MODEL].vector)).toEqual([0.25, -0.5, 1]);
    expect(saved.facts).toEqual(['loves sticks']);
  });

  it('stores nothing on a concept re-taught with other photos', async () => {
    const { rex, spec } = await rexWithLesson();
    const other = await photo('c');
    await store.update(SCOPE, rex.id, rex.version, (d) => void (d.photos = [d.photos[0], other]));
    expect(await saveLessonEmbedding(store, spec, embedding)).toBe(false);
    const after = (await store.get(SCOPE, rex.id))!;
    expect(after.embeddings).toEqual({});
    expect(after.version).toBe(rex.version + 1);
  });

  it('stores nothing on a forgotten concept', async () => {
    const { rex, spec } = await rexWithLesson();
    await store.forget(SCOPE, rex.id);
    expect(await saveLessonEmbedding(store, spec, embedding)).toBe(false);
    expect(await store.get(SCOPE, rex.id)).toBeNull();
  });

  it('re-reads and checks again when another write lands between its read and its update', async () => {
    const { rex, spec } = await rexWithLesson();
    const harmless = racing((d) => void d.facts.push('loves sticks'));
    expect(await saveLessonEmbedding(harmless, spec, embedding)).toBe(true);
    expect(harmless.updates).toBe(2);
    const saved = (await store.get(SCOPE, rex.id))!;
    expect(saved.facts).toEqual(['loves sticks']);
    expect(saved.embeddings[MODEL].steps).toBe(100);

    // The write that came first replaced the photos: the second check refuses.
    await store.forget(SCOPE, rex.id);
    const { rex: rex2, spec: spec2 } = await rexWithLesson();
    const other = await photo('d');
    const retaught = racing((d) => void (d.photos = [other]));
    expect(await saveLessonEmbedding(retaught, spec2, embedding)).toBe(false);
    expect(retaught.updates).toBe(1);
    expect((await store.get(SCOPE, rex2.id))!.embeddings).toEqual({});
  });

  it(`gives up after ${SAVE_ATTEMPTS} lost races with the record untouched by it`, async () => {
    const { rex, spec } = await rexWithLesson();
    const busy = racing((d) => void d.facts.push('again'), Infinity);
    await expect(saveLessonEmbedding(busy, spec, embedding)).rejects.toThrow(ConflictError);
    expect(busy.updates).toBe(SAVE_ATTEMPTS);
    const after = (await store.get(SCOPE, rex.id))!;
    expect(after.embeddings).toEqual({});
    expect(after.facts).toHaveLength(SAVE_ATTEMPTS);
  });
});

/** A VLM provider whose model folder does not exist: lessons start, and their workers fail at once. */
function missingVlm(): VlmProvider {
  const vlm = {
    id: MODEL,
    dir: path.join(dir, 'no-model-here'),
    model: { dtypes: uniformDtypes('fp32') },
    family: VLM_FAMILIES['llava-vicuna'],
  } as unknown as PersonalVlm;
  return { spec: vlm.dir, get: () => Promise.resolve(vlm), dispose: async () => {} };
}

async function jpeg(scope: string, seed: number, extra: Partial<PhotoRef>): Promise<PhotoRef> {
  const image = syntheticScene(seed, 'concept').image;
  const sha256 = await store.putPhoto(scope, await encodeJpeg(image));
  return {
    sha256,
    width: image.width,
    height: image.height,
    caption: null,
    role: 'example',
    addedAt: '2025-01-01T00:00:00.000Z',
    ...extra,
  };
}

/** Every job folder's job.json as the job is queued (before its worker runs). */
function specsAtQueue(lessons: EmbeddingLessons): EmbeddingJobSpec[] {
  const specs: EmbeddingJobSpec[] = [];
  lessons.onUpdate((update: JobUpdate) => {
    if (update.state === 'queued')
      specs.push(
        JSON.parse(readFileSync(path.join(dir, 'jobs', update.jobId, JOB_FILES.spec), 'utf8')) as EmbeddingJobSpec,
      );
  });
  return specs;
}

describe('EmbeddingLessons', () => {
  it('teaches from the newest stored example photos, at most maxPhotosPerStep, with their captions', async () => {
    expect(EMBEDDING_TRAINING.maxPhotosPerStep).toBe(4);
    const early = '2025-01-01T00:00:00.000Z';
    const late = '2025-02-01T00:00:00.000Z';
    const rex = await store.create({
      scope: SCOPE,
      name: 'Rex',
      kind: 'object',
      owner: 'telegram:user:1',
      photos: [
        await jpeg(SCOPE, 1, { addedAt: early }),
        await jpeg(SCOPE, 2, { addedAt: early, caption: 'Rex asleep' }),
        await jpeg(SCOPE, 3, { addedAt: late, caption: 'Rex in the park' }),
        await jpeg(SCOPE, 4, { addedAt: late }),
        await jpeg(SCOPE, 5, { addedAt: late, caption: 'Rex with a stick' }),
        await jpeg(SCOPE, 6, { addedAt: '2025-03-01T00:00:00.000Z', role: 'not-it' }),
      ],
    });
    const lessons = new EmbeddingLessons(store, missingVlm(), dir, {
      runtime: DEFAULT_RUNTIME,
      cacheDir: path.join(dir, 'cache'),
    });
    const specs = specsAtQueue(lessons);
    const lines: string[] = [];
    lessons.onUpdate((update, line) => {
      if (update.state === 'failed') lines.push(line);
    });
    expect(await lessons.start(rex)).toBe("I'm also learning to describe Rex by name; /concepts shows how far I am.");
    await lessons.whenIdle();
    await lessons.close();
    // The missing model folder fails the lesson in its worker: the operator's problem, told to the chat as such.
    expect(lines).toEqual([
      'I could not finish learning to talk about Rex: something on my side needs the attention of whoever runs me.',
    ]);
    expect(specs).toHaveLength(1);
    // The newest teach first (in the order sent), then the older ones; never a not-it photo.
    expect(specs[0].learnedFrom).toEqual({ conceptVersion: 1, photos: [2, 3, 4, 0].map((i) => rex.photos[i].sha256) });
    expect(specs[0].photos.map((p) => p.caption)).toEqual(['Rex in the park', null, 'Rex with a stick', null]);
    expect(specs[0]).toMatchObject({
      scope: SCOPE,
      conceptId: rex.id,
      modelId: MODEL,
      concept: { name: 'Rex', identifier: 'Rex', kind: 'object' },
    });
  });

  it('starts no lesson while the VLM cannot be loaded, whoever must act on that', async () => {
    const rex = await store.create({
      scope: SCOPE,
      name: 'Rex',
      kind: 'object',
      owner: 'telegram:user:1',
      photos: [await jpeg(SCOPE, 1, {})],
    });
    for (const error of [
      new OperatorError('Model "tiny-llava" is missing 1 file(s): config.json.', { hint: 'Fetch it.' }),
      new TypeError('undefined is not a function'),
    ]) {
      const broken: VlmProvider = { spec: 'tiny-llava', get: () => Promise.reject(error), dispose: async () => {} };
      const lessons = new EmbeddingLessons(store, broken, dir, {
        runtime: DEFAULT_RUNTIME,
        cacheDir: path.join(dir, 'cache'),
      });
      expect(await lessons.start(rex)).toBeNull();
      await lessons.close();
    }
    expect(existsSync(path.join(dir, 'jobs'))).toBe(true);
    expect(readdirSync(path.join(dir, 'jobs'))).toEqual([]);
  });

  it('at start, gives a lesson to every concept of every scope with example photos and none for this VLM, and to no other', async () => {
    const other = 'discord:guild:7';
    const third = 'terminal:local';
    const create = async (
      scope: string,
      name: string,
      photos: PhotoRef[],
      embeddings: Record<string, ConceptEmbedding> = {},
    ) => store.create({ scope, name, kind: 'object', owner: 'test:me', photos, embeddings });
    const rex = await create(SCOPE, 'Rex', [await jpeg(SCOPE, 1, {})]);
    const max = await create(other, 'Max', [await jpeg(other, 2, {})]);
    const pip = await create(third, 'Pip', [await jpeg(third, 3, {})], { 'local:another-model': embedding });
    await create(SCOPE, 'Bob', [await jpeg(SCOPE, 4, {})], { [MODEL]: embedding });
    await create(other, 'Nemo', [await jpeg(other, 5, { role: 'not-it' })]);
    await create(third, 'Zed', []);
    // Ivy's lesson was set aside by an earlier run (and reported): it stays so.
    const ivy = await create(other, 'Ivy', [await jpeg(other, 6, {})]);
    const ivyJob = EmbeddingJobs.jobId(other, ivy.id, MODEL);
    mkdirSync(path.join(dir, 'jobs', ivyJob), { recursive: true });
    writeFileSync(
      path.join(dir, 'jobs', ivyJob, JOB_FILES.spec),
      JSON.stringify({ id: ivyJob, scope: other, conceptId: ivy.id, modelId: MODEL, concept: { name: 'Ivy' } }),
    );
    writeFileSync(
      path.join(dir, 'jobs', ivyJob, JOB_FILES.attempts),
      JSON.stringify({ running: null, crashes: [], setAside: { at: '2025-01-01T00:00:00.000Z', reported: true } }),
    );

    const lessons = new EmbeddingLessons(store, missingVlm(), dir, {
      runtime: DEFAULT_RUNTIME,
      cacheDir: path.join(dir, 'cache'),
    });
    const specs = specsAtQueue(lessons);
    expect(await lessons.resume()).toEqual([]);
    await lessons.whenIdle();
    await lessons.close();
    const started = specs.map((s) => `${s.scope} ${s.conceptId}`).sort();
    expect(started).toEqual([`${SCOPE} ${rex.id}`, `${other} ${max.id}`, `${third} ${pip.id}`].sort());
    expect(specs.map((s) => s.learnedFrom?.photos)).toEqual(
      expect.arrayContaining([rex.photos.map((p) => p.sha256), max.photos.map((p) => p.sha256)]),
    );
    expect(existsSync(path.join(dir, 'jobs', ivyJob, JOB_FILES.attempts))).toBe(true);
  });
});
