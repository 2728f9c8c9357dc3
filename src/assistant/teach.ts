// `/teach <name> [person|object]` and `/notit <name>` with photos: validate
// the photos (large enough, each once, 1 to 4 per lesson) and the name (not a
// look-alike of another), tell a person from a thing or pet when the user did
// not say, fit the concept head (face keys of one person, or a linear head
// against the negatives the scope has), keep the photos, and store one new
// version of the concept. Nothing is stored unless the head could be fit.
import { createHash } from 'node:crypto';
import { OperatorError, UserError, type Audience } from '../errors.ts';
import { moduleLogger } from '../log.ts';
import { EMBEDDING_TRAINING } from '../config/defaults.ts';
import { decodeImage, type DecodedImage, type ImageLimits } from '../image/decode.ts';
import type { ConceptHeads, HeadProblem, PhotoOutcome } from '../heads/types.ts';
import type {
  ConceptKind,
  ConceptRecord,
  FaceHeadParams,
  HeadParams,
  LinearHeadParams,
  PhotoRef,
} from '../memory/concept.ts';
import { conceptNameKey, type ConceptStore } from '../memory/store.ts';
import { splitTeachArgs } from './command.ts';
import { assertDistinctName, chooseIdentifier, validateName } from './names.ts';
import { assertMayChange } from './permissions.ts';
import { photoLabel, readTeachingPhotos, type TeachingPhoto, type TeachingPhotos } from './photos.ts';
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

/**
 * Photos per lesson. All of a lesson's photos form one batch of the
 * embedding lesson, and the paper teaches a concept from 1 to 4; more come
 * in later lessons, which add to what the assistant knows.
 */
export const MAX_LESSON_PHOTOS = EMBEDDING_TRAINING.maxPhotosPerStep;

export async function teach(deps: TeachDeps, turn: Turn, rest: string, options: TurnOptions): Promise<string> {
  const { name: rawName, kind: statedKind } = splitTeachArgs(rest);
  const name = validateName(rawName);
  const heads = requireHeads(deps);
  const photos = await readPhotos(
    deps,
    turn,
    name,
    `Send 1 to ${MAX_LESSON_PHOTOS} photos of ${name} with the caption /teach ${name} (or reply to photos with it).`,
    options,
  );
  const sent = turn.images.length - photos.repeated.length;
  if (sent > MAX_LESSON_PHOTOS) {
    throw new UserError(
      `A lesson takes 1 to ${MAX_LESSON_PHOTOS} photos; you sent ${sent}${photos.repeated.length > 0 ? ' different ones' : ''}. ` +
        `Send up to ${MAX_LESSON_PHOTOS}, and teach again to add more.`,
    );
  }
  const existing = await deps.store.findByName(turn.scope, name);
  const others = (await deps.store.list(turn.scope)).filter((c) => c.id !== existing?.id);
  if (existing) assertMayChange(turn, existing, 'teach me more about');
  else assertDistinctName(name, others);
  if (existing && statedKind && statedKind !== existing.kind) {
    throw new UserError(
      `I already know ${existing.name} as ${article(existing.kind)}; forget it first to teach it as ${article(statedKind)}.`,
    );
  }
  const known = new Set(existing ? examples(existing).map((p) => p.sha256) : []);
  const fresh = photos.photos.filter((p) => !known.has(p.sha256));
  const notes = [...photos.repeated.map((line) => `(${capitalize(line)}, so I counted it once.)`)];
  const alreadyKept = photos.photos.filter((p) => known.has(p.sha256)).map((p) => label(turn, p.index));
  if (existing && fresh.length === 0) {
    throw new UserError(
      `I already have ${alreadyKept.length === 1 ? 'this photo' : 'these photos'} of ${existing.name}; send new ones to teach me more.`,
    );
  }
  if (alreadyKept.length > 0) notes.push(`(I already had ${joinWords(alreadyKept)} of ${name}.)`);
  const images = fresh.map((p) => p.image);
  const kind = existing?.kind ?? statedKind ?? (await guessKind(deps, heads, name, images));
  if (!existing && !statedKind && kind === 'object') {
    notes.push(
      `(I took ${name} for a thing or a pet, not a person. If that is wrong, send /forget ${name}, then /teach ${name} person with the photos.)`,
    );
  }
  await assertAvailable(deps, heads, kind);
  await options.onStatus?.({ text: kind === 'person' ? `Learning ${name}'s face…` : `Learning to recognize ${name}…` });

  const fitted =
    kind === 'person'
      ? await teachPerson(deps, heads, turn, name, existing, others, fresh, notes)
      : await fitObject(deps, turn.scope, existing, name, images, []);
  const { accepted, skipped } = sortOutcomes(turn, fresh, fitted.outcomes);
  skipped.unshift(...photos.refused);
  if (accepted.length === 0) throw new UserError(`I could not learn ${name} from these photos:\n${skipped.join('\n')}`);
  const refs = await keepPhotos(deps, turn.scope, accepted, 'example');
  const record = existing
    ? await saveHead(deps, existing, fitted.params, refs)
    : await deps.store.create({
        scope: turn.scope,
        name,
        identifier: chooseIdentifier(name, kind, others),
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
    ...notes,
  ];
  if (skipped.length > 0) lines.push(`I skipped:\n${skipped.join('\n')}`);
  const lesson = await startLesson(deps, record);
  if (lesson) lines.push(lesson);
  return lines.join('\n');
}

/**
 * Fits the face head, refusing a lesson whose photos show more than one
 * person. A new person who looks like someone the scope knows is taught
 * with a warning rather than refused: parents and children, siblings and
 * look-alikes are real and distinct people, and a small recognizer confuses
 * them more than people do (MobileFaceNet puts Nicole Kidman and Sarah
 * Paulson close together), so a refusal would shut out real people with no
 * way round it. The warning names the other person, so a user who taught
 * the same face twice can forget one name.
 */
async function teachPerson(
  deps: TeachDeps,
  heads: ConceptHeads,
  turn: Turn,
  name: string,
  existing: ConceptRecord | null,
  others: readonly ConceptRecord[],
  photos: readonly TeachingPhoto[],
  notes: string[],
) {
  const keys = existing?.head?.type === 'face' ? existing.head : null;
  const fitted = await heads.teachPerson(
    photos.map((p) => p.image),
    keys,
  );
  if (fitted.someoneElse.length > 0) {
    const odd = fitted.someoneElse.map((i) => photos[i].index);
    const agreeing = fitted.outcomes
      .filter((o) => o.accepted && !fitted.someoneElse.includes(o.index))
      .map((o) => photos[o.index].index);
    throw new UserError(someoneElseMessage(turn, name, odd, agreeing, keys !== null));
  }
  if (!existing) notes.push(...(await lookalikeNote(heads, name, fitted.params, others)));
  return fitted;
}

/**
 * The warning for a new person whose face looks like people the scope
 * knows (they are taught all the same: look-alikes are real), or nothing.
 */
export async function lookalikeNote(
  heads: ConceptHeads,
  name: string,
  params: FaceHeadParams,
  others: readonly ConceptRecord[],
): Promise<string[]> {
  const lookalikes = await heads.lookalikes(params, others);
  const names = lookalikes.flatMap((l) => others.find((c) => c.id === l.conceptId)?.name ?? []);
  if (names.length === 0) return [];
  return [
    `${name} looks like ${joinWords(names)}, whom I know already. If they are the same person, keep one name ` +
      `(/merge ${name} into ${names[0]}); if not, I may mix them up.`,
  ];
}

/** "Photo 3 (obama.jpg) shows someone else than photos 1 and 2; send only photos of Anna." */
function someoneElseMessage(
  turn: Turn,
  name: string,
  odd: readonly number[],
  agreeing: readonly number[],
  hasKeys: boolean,
): string {
  const oddLabels = capitalize(joinWords(odd.map((i) => label(turn, i))));
  const verb = odd.length === 1 ? 'shows' : 'show';
  const advice = `send only photos of ${name}.`;
  if (hasKeys) return `${oddLabels} ${verb} someone else than the ${name} I know; ${advice}`;
  if (agreeing.length > 0) {
    const numbers = joinWords(agreeing.map((i) => String(i + 1)));
    return `${oddLabels} ${verb} someone else than photo${agreeing.length > 1 ? 's' : ''} ${numbers}; ${advice}`;
  }
  return `${oddLabels} do not look like the same person to me; ${advice}`;
}

/**
 * The head is stored and works already; a lesson that cannot start is logged,
 * not a failed /teach. The lesson learns from the concept's stored photos
 * (the newest first, this turn's among them), as a lesson started at a
 * restart does.
 */
export async function startLesson(deps: TeachDeps, record: ConceptRecord): Promise<string | null> {
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
    photos.photos.map((p) => p.image),
  );
  const refs = await keepPhotos(deps, turn.scope, photos.photos, 'not-it');
  const record = await saveHead(deps, concept, fitted.params, refs);
  const lines = [
    `Got it: I now know ${record.photos.length - examples(record).length} photo(s) that are not ${record.name}.`,
  ];
  if (photos.refused.length > 0) lines.push(`I skipped:\n${photos.refused.join('\n')}`);
  return lines.join('\n');
}

export function requireHeads(deps: TeachDeps): ConceptHeads {
  if (!deps.heads)
    throw new OperatorError('Recognition is not set up on this assistant, so it cannot learn people or things.', {
      hint: 'Give the assistant concept heads: createAssistant (src/assistant/setup.ts) builds them from the settings.',
    });
  return deps.heads;
}

export async function readPhotos(
  deps: TeachDeps,
  turn: Turn,
  name: string,
  missingHint: string,
  options: TurnOptions,
): Promise<TeachingPhotos> {
  if (turn.images.length === 0) throw new UserError(missingHint);
  await options.onStatus?.({ text: `Looking at ${turn.images.length} photo(s) for ${name}…` });
  const photos = await readTeachingPhotos(turn.images, deps.imageLimits);
  if (photos.photos.length > 0) return photos;
  throw new UserError(`I could not use any of the photos:\n${photos.refused.join('\n')}`);
}

export async function assertAvailable(deps: TeachDeps, heads: ConceptHeads, kind: ConceptKind): Promise<void> {
  const problem = await heads.problem(kind);
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

/**
 * Fits an object head on all of the concept's examples and negatives, old
 * and new. The scope's other concepts are negatives, except `merging` (the
 * concept being merged into `existing`, whose photos are its examples now).
 */
export async function fitObject(
  deps: TeachDeps,
  scope: string,
  existing: ConceptRecord | null,
  name: string,
  newExamples: DecodedImage[],
  newNotIt: DecodedImage[],
  merging: string | null = null,
): Promise<{ params: LinearHeadParams; outcomes: PhotoOutcome[] }> {
  const heads = requireHeads(deps);
  const previous = existing ? await loadPhotos(deps, scope, examples(existing)) : [];
  const others = (await deps.store.list(scope))
    .filter((c) => c.id !== existing?.id && c.id !== merging)
    .flatMap(examples);
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

function sortOutcomes(turn: Turn, photos: readonly TeachingPhoto[], outcomes: readonly PhotoOutcome[]) {
  return {
    accepted: outcomes.filter((o) => o.accepted).map((o) => photos[o.index]),
    skipped: outcomes
      .filter((o) => !o.accepted)
      .map((o) => `${label(turn, photos[o.index].index)}: ${o.reason ?? 'not usable'}`),
  };
}

function label(turn: Turn, index: number): string {
  return photoLabel(index, turn.images[index].name);
}

export function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** "a", "a and b", "a, b and c". */
export function joinWords(words: readonly string[]): string {
  return words.length <= 1 ? (words[0] ?? '') : `${words.slice(0, -1).join(', ')} and ${words.at(-1)}`;
}

/** Stores photos as re-encoded on reading (no GPS, no EXIF) and returns their references. */
export async function keepPhotos(
  deps: TeachDeps,
  scope: string,
  photos: readonly TeachingPhoto[],
  role: PhotoRef['role'],
): Promise<PhotoRef[]> {
  const now = new Date().toISOString();
  const refs: PhotoRef[] = [];
  for (const photo of photos) {
    const sha256 = await deps.store.putPhoto(scope, photo.jpeg);
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
export function saveHead(
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

/**
 * Person or object from what the photos show; when they do not tell (a dog's
 * face, a statue, a blurred face), the user is asked. Without a face
 * detector the user has to say.
 */
async function guessKind(
  deps: TeachDeps,
  heads: ConceptHeads,
  name: string,
  images: readonly DecodedImage[],
): Promise<ConceptKind> {
  const person = await heads.problem('person');
  if (person)
    throw headUnavailable(deps, person, 'person', `If ${name} is a thing or a pet, send /teach ${name} object.`);
  const guess = await heads.guessKind(images);
  if (guess === 'unsure')
    throw new UserError(
      `Is ${name} a person or a thing/pet? Send /teach ${name} person or /teach ${name} object with the photos.`,
    );
  return guess;
}

export async function loadPhotos(deps: TeachDeps, scope: string, refs: readonly PhotoRef[]): Promise<DecodedImage[]> {
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

export function article(kind: ConceptKind): string {
  return kind === 'person' ? 'a person' : 'an object';
}
