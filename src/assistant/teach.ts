// `/teach <name> [person|object]` and `/notit <name>` with photos: validate
// the photos, fit the concept head (face keys, or a linear head against the
// negatives the scope has), keep the photos, and store one new version of the
// concept. Nothing is stored unless the head could be fit.
import { createHash } from 'node:crypto';
import { OperatorError, UserError, type Audience } from '../errors.ts';
import { moduleLogger } from '../log.ts';
import { decodeImage, encodeJpeg, type DecodedImage, type ImageLimits } from '../image/decode.ts';
import type { ConceptHeads, HeadProblem, PhotoOutcome } from '../heads/types.ts';
import type { ConceptKind, ConceptRecord, HeadParams, PhotoRef } from '../memory/concept.ts';
import { conceptNameKey, type ConceptStore } from '../memory/store.ts';
import { splitTeachArgs } from './command.ts';
import { chooseIdentifier, validateName } from './names.ts';
import { assertMayChange } from './permissions.ts';
import { decodeTurnPhotos, photoLabel, type TurnPhotos } from './photos.ts';
import type { EmbeddingLessons } from './lessons.ts';
import type { Turn, TurnOptions } from './turn.ts';
import { unavailableLines } from './unavailable.ts';

const logger = moduleLogger('teach');

/** Teaching photos of other concepts used as negatives when fitting an object head. */
const MAX_NEGATIVE_PHOTOS = 60;

export interface TeachDeps {
  store: ConceptStore;
  heads: ConceptHeads | null;
  imageLimits: ImageLimits;
  lessons?: EmbeddingLessons | null;
  /** Who reads the replies: says how much of an operator's problem they are told. */
  audience: Audience;
}

export async function teach(deps: TeachDeps, turn: Turn, rest: string, options: TurnOptions): Promise<string> {
  const { name: rawName, kind: statedKind } = splitTeachArgs(rest);
  const name = validateName(rawName);
  const heads = requireHeads(deps);
  const photos = await readPhotos(
    deps,
    turn,
    name,
    `Send 1 to 4 photos of ${name} with the caption /teach ${name} (or reply to photos with it).`,
    options,
  );
  const existing = await deps.store.findByName(turn.scope, name);
  if (existing) assertMayChange(turn, existing, 'teach me more about');
  if (existing && statedKind && statedKind !== existing.kind) {
    throw new UserError(
      `I already know ${existing.name} as ${article(existing.kind)}; forget it first to teach it as ${article(statedKind)}.`,
    );
  }
  const kind =
    existing?.kind ??
    statedKind ??
    (await guessKind(
      deps,
      heads,
      name,
      photos.decoded.map((p) => p.image),
    ));
  await assertAvailable(deps, heads, kind);
  await options.onStatus?.({ text: kind === 'person' ? `Learning ${name}'s face…` : `Learning to recognize ${name}…` });

  const fitted =
    kind === 'person'
      ? await heads.teachPerson(
          photos.decoded.map((p) => p.image),
          existing?.head?.type === 'face' ? existing.head : null,
        )
      : await fitObject(
          deps,
          turn.scope,
          existing,
          name,
          photos.decoded.map((p) => p.image),
          [],
        );
  const { accepted, skipped } = sortOutcomes(turn, photos, fitted.outcomes);
  if (accepted.length === 0) throw new UserError(`I could not learn ${name} from these photos:\n${skipped.join('\n')}`);
  const refs = await keepPhotos(deps, turn.scope, accepted, 'example');
  const record = existing
    ? await saveHead(deps, existing, fitted.params, refs)
    : await deps.store.create({
        scope: turn.scope,
        name,
        identifier: chooseIdentifier(name, kind, await deps.store.list(turn.scope)),
        kind,
        owner: turn.user,
        head: fitted.params,
        photos: refs,
      });
  const count = examples(record).length;
  const lines = [
    existing
      ? `Thanks! I now know ${record.name} from ${count} photo(s).`
      : `Nice to meet ${record.name}! I learned ${record.kind === 'person' ? 'their face' : 'what they look like'} from ${count} photo(s).`,
  ];
  if (skipped.length > 0) lines.push(`I skipped:\n${skipped.join('\n')}`);
  const lesson = await startLesson(deps, record);
  if (lesson) lines.push(lesson);
  return lines.join('\n');
}

/**
 * The head is stored and works already; a lesson that cannot start is logged,
 * not a failed /teach. The lesson learns from the concept's stored photos
 * (the newest first, this turn's among them), as a lesson started at a
 * restart does.
 */
async function startLesson(deps: TeachDeps, record: ConceptRecord): Promise<string | null> {
  if (!deps.lessons) return null;
  try {
    return await deps.lessons.start(record);
  } catch (error) {
    logger.error({ err: error, conceptId: record.id }, 'could not start the embedding lesson');
    return null;
  }
}

/** `/notit <name>` with photos: negatives for an object, then its head is fit again. */
export async function notIt(deps: TeachDeps, turn: Turn, rest: string, options: TurnOptions): Promise<string> {
  const name = validateName(rest);
  const heads = requireHeads(deps);
  const concept = await deps.store.findByName(turn.scope, name);
  if (!concept) throw new UserError(`I don't know anything called ${name} here. /concepts lists who I know.`);
  if (concept.kind === 'person')
    throw new UserError(`For people, more photos of ${concept.name} help more: send them with /teach ${concept.name}.`);
  assertMayChange(turn, concept, 'teach me more about');
  const photos = await readPhotos(
    deps,
    turn,
    name,
    `Send photos of things that are not ${concept.name} with the caption /notit ${concept.name}.`,
    options,
  );
  await assertAvailable(deps, heads, 'object');
  await options.onStatus?.({ text: `Learning what is not ${concept.name}…` });
  const fitted = await fitObject(
    deps,
    turn.scope,
    concept,
    concept.name,
    [],
    photos.decoded.map((p) => p.image),
  );
  const refs = await keepPhotos(deps, turn.scope, photos.decoded, 'not-it');
  const record = await saveHead(deps, concept, fitted.params, refs);
  const lines = [
    `Got it: I now know ${record.photos.length - examples(record).length} photo(s) that are not ${record.name}.`,
  ];
  if (photos.refused.length > 0) lines.push(`I skipped:\n${photos.refused.join('\n')}`);
  return lines.join('\n');
}

function requireHeads(deps: TeachDeps): ConceptHeads {
  if (!deps.heads)
    throw new OperatorError('Recognition is not set up on this assistant, so it cannot learn people or things.', {
      hint: 'Give the assistant concept heads: createAssistant (src/assistant/setup.ts) builds them from the settings.',
    });
  return deps.heads;
}

async function readPhotos(
  deps: TeachDeps,
  turn: Turn,
  name: string,
  missingHint: string,
  options: TurnOptions,
): Promise<TurnPhotos> {
  if (turn.images.length === 0) throw new UserError(missingHint);
  await options.onStatus?.({ text: `Looking at ${turn.images.length} photo(s) for ${name}…` });
  const photos = await decodeTurnPhotos(turn.images, deps.imageLimits);
  if (photos.decoded.length === 0)
    throw new UserError(`I could not use any of the photos:\n${photos.refused.join('\n')}`);
  return photos;
}

async function assertAvailable(deps: TeachDeps, heads: ConceptHeads, kind: ConceptKind): Promise<void> {
  const problem = (await heads.availability())[kind];
  if (problem) throw headUnavailable(deps, problem, kind);
}

/**
 * A refusal that says why the head cannot work, worded for the reader. It is
 * a UserError because its text is final: `unavailableLines` already chose
 * what this reader may see and logged the problem for the operator.
 */
function headUnavailable(deps: TeachDeps, problem: HeadProblem, kind: ConceptKind, alternative?: string): UserError {
  const person = kind === 'person';
  const lines = [
    unavailableLines(
      {
        what: person ? 'face recognition' : 'object recognition',
        headline: `I cannot learn ${person ? 'people' : 'things'} at the moment.`,
        problem,
      },
      deps.audience,
    ),
  ];
  if (alternative) lines.push(alternative);
  return new UserError(lines.join('\n'), { cause: problem });
}

/** Fits an object head on all of the concept's examples and negatives, old and new. */
async function fitObject(
  deps: TeachDeps,
  scope: string,
  existing: ConceptRecord | null,
  name: string,
  newExamples: DecodedImage[],
  newNotIt: DecodedImage[],
) {
  const heads = requireHeads(deps);
  const previous = existing ? await loadPhotos(deps, scope, examples(existing)) : [];
  const others = (await deps.store.list(scope)).filter((c) => c.id !== existing?.id).flatMap(examples);
  const negatives = {
    notIt: [
      ...(existing
        ? await loadPhotos(
            deps,
            scope,
            existing.photos.filter((p) => p.role === 'not-it'),
          )
        : []),
      ...newNotIt,
    ],
    otherConcepts: await loadPhotos(deps, scope, others.slice(0, MAX_NEGATIVE_PHOTOS)),
  };
  const result = await heads.teachObject([...previous, ...newExamples], negatives, seedFor(scope, name));
  // Outcomes are reported for the new photos only.
  const outcomes = result.outcomes
    .filter((o) => o.index >= previous.length)
    .map((o) => ({ ...o, index: o.index - previous.length }));
  return { params: result.params, outcomes };
}

function sortOutcomes(turn: Turn, photos: TurnPhotos, outcomes: readonly PhotoOutcome[]) {
  const label = (i: number) => photoLabel(photos.decoded[i].index, turn.images[photos.decoded[i].index].name);
  return {
    accepted: outcomes.filter((o) => o.accepted).map((o) => photos.decoded[o.index]),
    skipped: [
      ...photos.refused,
      ...outcomes.filter((o) => !o.accepted).map((o) => `${label(o.index)}: ${o.reason ?? 'not usable'}`),
    ],
  };
}

/** Stores photos re-encoded without metadata (no GPS, no EXIF) and returns their references. */
async function keepPhotos(
  deps: TeachDeps,
  scope: string,
  photos: TurnPhotos['decoded'],
  role: PhotoRef['role'],
): Promise<PhotoRef[]> {
  const now = new Date().toISOString();
  const refs: PhotoRef[] = [];
  for (const photo of photos) {
    const sha256 = await deps.store.putPhoto(scope, await encodeJpeg(photo.image));
    refs.push({
      sha256,
      width: photo.image.width,
      height: photo.image.height,
      caption: photo.caption,
      role,
      addedAt: now,
    });
  }
  return refs;
}

/** One new version: the refitted head plus the new photos (a photo already kept is not added twice). */
function saveHead(
  deps: TeachDeps,
  concept: ConceptRecord,
  head: HeadParams,
  refs: readonly PhotoRef[],
): Promise<ConceptRecord> {
  return deps.store.update(concept.scope, concept.id, concept.version, (draft) => {
    draft.head = head;
    const known = new Set(draft.photos.map((p) => p.sha256));
    draft.photos.push(...refs.filter((p) => !known.has(p.sha256)));
  });
}

export function examples(concept: ConceptRecord): PhotoRef[] {
  return concept.photos.filter((p) => p.role === 'example');
}

/** Person when most photos show a face; without a face detector the user has to say. */
async function guessKind(
  deps: TeachDeps,
  heads: ConceptHeads,
  name: string,
  images: readonly DecodedImage[],
): Promise<ConceptKind> {
  const { person } = await heads.availability();
  if (person)
    throw headUnavailable(deps, person, 'person', `If ${name} is a thing or a pet, send /teach ${name} object.`);
  const counts = await Promise.all(images.map((image) => heads.countFaces(image)));
  return counts.filter((n) => n > 0).length * 2 > images.length ? 'person' : 'object';
}

async function loadPhotos(deps: TeachDeps, scope: string, refs: readonly PhotoRef[]): Promise<DecodedImage[]> {
  const images: DecodedImage[] = [];
  for (const ref of refs) {
    const bytes = await deps.store.getPhoto(scope, ref.sha256);
    if (bytes) images.push(await decodeImage(bytes, deps.imageLimits));
  }
  return images;
}

/** A stable seed per concept, so retraining the same photos gives the same head. */
function seedFor(scope: string, name: string): number {
  return createHash('sha256')
    .update(`${scope}\u0000${conceptNameKey(name)}`)
    .digest()
    .readUInt32LE(0);
}

function article(kind: ConceptKind): string {
  return kind === 'person' ? 'a person' : 'an object';
}
