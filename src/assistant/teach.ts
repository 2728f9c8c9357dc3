// `/teach <name> [person|object]` with photos: validate the photos, fit the
// concept head (face keys or a linear head), keep the photos, and store one
// new version of the concept. Nothing is stored unless the head could be fit.
import { createHash } from 'node:crypto';
import { UserError } from '../errors.ts';
import { decodeImage, encodeJpeg, type DecodedImage, type ImageLimits } from '../image/decode.ts';
import type { ConceptHeads, PhotoOutcome } from '../heads/types.ts';
import type { ConceptKind, ConceptRecord, HeadParams, PhotoRef } from '../memory/concept.ts';
import { conceptNameKey, type ConceptStore } from '../memory/store.ts';
import { splitTeachArgs } from './command.ts';
import { chooseIdentifier, validateName } from './names.ts';
import { assertMayChange } from './permissions.ts';
import { decodeTurnPhotos, photoLabel } from './photos.ts';
import type { Turn, TurnOptions } from './turn.ts';

/** Photos of other concepts used as negatives when fitting an object head. */
const MAX_NEGATIVE_PHOTOS = 60;

export interface TeachDeps {
  store: ConceptStore;
  heads: ConceptHeads | null;
  imageLimits: ImageLimits;
}

export async function teach(deps: TeachDeps, turn: Turn, rest: string, options: TurnOptions): Promise<string> {
  const { name: rawName, kind: statedKind } = splitTeachArgs(rest);
  const name = validateName(rawName);
  if (turn.images.length === 0) {
    throw new UserError(`Send 1 to 4 photos of ${name} with the caption /teach ${name} (or reply to photos with it).`);
  }
  const heads = deps.heads;
  if (!heads) throw new UserError('Recognition is not set up on this assistant, so I cannot learn new people or things yet.');
  await options.onStatus?.({ text: `Looking at ${turn.images.length} photo(s) of ${name}…` });
  const photos = await decodeTurnPhotos(turn.images, deps.imageLimits);
  if (photos.decoded.length === 0) throw new UserError(`I could not use any of the photos:\n${photos.refused.join('\n')}`);

  const scopeConcepts = await deps.store.list(turn.scope);
  const existing = await deps.store.findByName(turn.scope, name);
  if (existing) assertMayChange(turn, existing, 'teach me more about');
  const kind = existing?.kind ?? statedKind ?? (await guessKind(heads, photos.decoded.map((p) => p.image)));
  if (existing && statedKind && statedKind !== existing.kind) {
    throw new UserError(`I already know ${existing.name} as ${article(existing.kind)}; forget it first to teach it as ${article(statedKind)}.`);
  }
  const availability = await heads.availability();
  const unavailable = kind === 'person' ? availability.person : availability.object;
  if (unavailable) throw new UserError(`I cannot learn ${kind === 'person' ? 'people' : 'things'} right now: ${unavailable}`);

  await options.onStatus?.({ text: kind === 'person' ? `Learning ${name}'s face…` : `Learning to recognize ${name}…` });
  const images = photos.decoded.map((p) => p.image);
  let head: HeadParams;
  let outcomes: PhotoOutcome[];
  if (kind === 'person') {
    const result = await heads.teachPerson(images, existing?.head?.type === 'face' ? existing.head : null);
    head = result.params;
    outcomes = result.outcomes;
  } else {
    const previous = existing ? await loadPhotos(deps, turn.scope, existing.photos) : [];
    const negatives = await loadPhotos(deps, turn.scope, scopeConcepts.filter((c) => c.id !== existing?.id).flatMap((c) => c.photos).slice(0, MAX_NEGATIVE_PHOTOS));
    const result = await heads.teachObject([...previous, ...images], { photos: negatives }, seedFor(turn.scope, name));
    head = result.params;
    outcomes = result.outcomes.filter((o) => o.index >= previous.length).map((o) => ({ ...o, index: o.index - previous.length }));
  }
  const accepted = outcomes.filter((o) => o.accepted).map((o) => photos.decoded[o.index]);
  const skipped = [
    ...photos.refused,
    ...outcomes.filter((o) => !o.accepted).map((o) => `${photoLabel(photos.decoded[o.index].index, turn.images[photos.decoded[o.index].index].name)}: ${o.reason ?? 'not usable'}`),
  ];
  if (accepted.length === 0) throw new UserError(`I could not learn ${name} from these photos:\n${skipped.join('\n')}`);

  const now = new Date().toISOString();
  const newRefs: PhotoRef[] = [];
  for (const photo of accepted) {
    const bytes = await encodeJpeg(photo.image);
    const sha256 = await deps.store.putPhoto(turn.scope, bytes);
    newRefs.push({ sha256, width: photo.image.width, height: photo.image.height, caption: photo.caption, addedAt: now });
  }
  let record: ConceptRecord;
  if (existing) {
    record = await deps.store.update(turn.scope, existing.id, existing.version, (draft) => {
      draft.head = head;
      const known = new Set(draft.photos.map((p) => p.sha256));
      draft.photos.push(...newRefs.filter((p) => !known.has(p.sha256)));
    });
  } else {
    record = await deps.store.create({
      scope: turn.scope,
      name,
      identifier: chooseIdentifier(name, kind, scopeConcepts),
      kind,
      owner: turn.user,
      head,
      photos: newRefs,
    });
  }
  const lines = [
    existing
      ? `Thanks! I now know ${record.name} from ${record.photos.length} photo(s).`
      : `Nice to meet ${record.name}! I learned ${record.kind === 'person' ? 'their face' : 'what they look like'} from ${accepted.length} photo(s).`,
  ];
  if (skipped.length > 0) lines.push(`I skipped:\n${skipped.join('\n')}`);
  return lines.join('\n');
}

async function guessKind(heads: ConceptHeads, images: readonly DecodedImage[]): Promise<ConceptKind> {
  const availability = await heads.availability();
  if (availability.person) return 'object';
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
  return createHash('sha256').update(`${scope}\u0000${conceptNameKey(name)}`).digest().readUInt32LE(0);
}

function article(kind: ConceptKind): string {
  return kind === 'person' ? 'a person' : 'an object';
}
