// `/teach Anna, Bob and Carol` with one group photo teaches each of them from
// their own face, the names given from left to right; `/teach` with one name
// is the lesson of teach.ts. Both go through the same photo reading, heads,
// store writes and embedding lessons.
import { UserError } from '../errors.ts';
import type { ConceptRecord, HeadParams, PhotoRef } from '../memory/concept.ts';
import { conceptNameKey } from '../memory/store.ts';
import { splitTeachArgs, splitTeachNames } from './command.ts';
import { assertDistinctName, chooseIdentifier, looksAlike, validateName } from './names.ts';
import { assertMayChange } from './permissions.ts';
import {
  assertAvailable,
  capitalize,
  examples,
  joinWords,
  keepPhotos,
  lookalikeNote,
  readPhotos,
  requireHeads,
  saveHead,
  startLesson,
  teach,
  type TeachDeps,
} from './teach.ts';
import type { Turn, TurnOptions } from './turn.ts';

/** `/teach <names> [person|object]`: one concept from its photos, or several people from one group photo. */
export async function teachNamed(deps: TeachDeps, turn: Turn, rest: string, options: TurnOptions): Promise<string> {
  const { name: rawName, kind: statedKind } = splitTeachArgs(rest);
  // Things and pets are taught one at a time, so "Salt and Pepper" stays one pet's name.
  const names = statedKind === 'object' ? [rawName] : splitTeachNames(rawName);
  if (names.length > 1) return teachGroup(deps, turn, names, rawName.includes(','), options);
  return teach(deps, turn, rest, options);
}

/**
 * `/teach Anna, Bob and Carol` with one group photo: the names go to the
 * faces from left to right, and each person is taught from their own face
 * as a photo of them alone would teach them (a known name gets the face as
 * one more key). Everything is checked before anything is written, and a
 * write that fails undoes the ones before it, so either every name is
 * taught or none is.
 */
async function teachGroup(
  deps: TeachDeps,
  turn: Turn,
  rawNames: readonly string[],
  usedCommas: boolean,
  options: TurnOptions,
): Promise<string> {
  const names = rawNames.map(validateName);
  const listed = joinWords(names);
  names.forEach((name, i) => {
    const twin = names.slice(0, i).find((other) => looksAlike(other, name));
    if (twin)
      throw new UserError(
        `You gave ${twin === name ? `${name} twice` : `${twin} and ${name}`}; each face needs its own name.`,
      );
  });
  const heads = requireHeads(deps);
  const photos = await readPhotos(
    deps,
    turn,
    listed,
    `Send one photo of ${listed} together with the caption /teach ${names.join(', ')}: I give the names to the faces from left to right.`,
    options,
  );
  if (turn.images.length - photos.repeated.length > 1)
    throw new UserError(
      `To teach ${listed} at once, send one photo that shows them all, with their names from left to right.`,
    );
  const all = await deps.store.list(turn.scope);
  const existing = names.map((name) => all.find((c) => conceptNameKey(c.name) === conceptNameKey(name)) ?? null);
  const others = all.filter((c) => !existing.some((e) => e?.id === c.id));
  names.forEach((name, i) => {
    const known = existing[i];
    if (!known) {
      assertDistinctName(name, others);
      return;
    }
    assertMayChange(turn, known, 'teach me more about');
    if (known.kind !== 'person')
      throw new UserError(
        `I know ${known.name} as an object; a group photo teaches people. Leave ${known.name} out of the names.`,
      );
  });
  const photo = photos.photos[0];
  if (existing.every((c) => c && examples(c).some((p) => p.sha256 === photo.sha256)))
    throw new UserError(`I already have this photo of ${listed}; send a new one to teach me more.`);
  await assertAvailable(deps, heads, 'person');
  await options.onStatus?.({ text: `Learning the faces of ${listed}…` });
  const group = await heads.teachGroup(
    photo.image,
    existing.map((c) => (c?.head?.type === 'face' ? c.head : null)),
  );
  if (group.facesFound !== names.length) {
    const seen = group.facesFound === 0 ? 'no faces' : `${group.facesFound} face${group.facesFound > 1 ? 's' : ''}`;
    const lines = [
      `I see ${seen} but you gave ${names.length} names: ${listed}. Give one name per face, from left to right.`,
    ];
    if (!usedCommas)
      lines.push(
        `If ${rawNames.join(' and ')} is one thing or pet, send /teach ${rawNames.join(' and ')} object with the photo.`,
      );
    throw new UserError(lines.join('\n'));
  }
  if (!group.people) {
    const faces = group.unusable.map(
      (u) => `The ${ordinal(u.fromLeft)} face from the left (${names[u.fromLeft - 1]}): ${u.reason}`,
    );
    throw new UserError(
      `I could not learn ${listed} from this photo:\n${faces.join('\n')}\nUse a closer photo, or teach them one at a time.`,
    );
  }
  const people = group.people;
  const strangers = names.filter((_, i) => people[i].someoneElse.length > 0);
  if (strangers.length > 0) {
    const faces = strangers.map(
      (name) => `the ${ordinal(names.indexOf(name) + 1)} face from the left does not look like the ${name} I know`,
    );
    throw new UserError(`${capitalize(joinWords(faces))}. Give the names from left to right, or check who is who.`);
  }
  const notes: string[] = [];
  for (const [i, name] of names.entries())
    if (!existing[i]) notes.push(...(await lookalikeNote(heads, name, people[i].params, others)));
  const refs = await keepPhotos(deps, turn.scope, [photo], 'example');
  const records = await writeAllOrNone(
    deps,
    turn,
    names,
    existing,
    others,
    people.map((p) => p.params),
    refs,
  );
  const lines = [
    `Nice to meet ${listed}! From left to right in the photo.`,
    ...records.flatMap((record, i) =>
      existing[i] ? [`I now know ${record.name} from ${examples(record).length} photo(s).`] : [],
    ),
    ...notes,
  ];
  for (const record of records) {
    const lesson = await startLesson(deps, record);
    if (lesson) lines.push(lesson);
  }
  return lines.join('\n');
}

/**
 * Creates the new people and adds the face to the known ones. When a write
 * fails (someone changed a concept meanwhile), the people created are
 * forgotten and the known ones get their earlier head and photos back.
 */
async function writeAllOrNone(
  deps: TeachDeps,
  turn: Turn,
  names: readonly string[],
  existing: readonly (ConceptRecord | null)[],
  others: readonly ConceptRecord[],
  heads: readonly HeadParams[],
  refs: readonly PhotoRef[],
): Promise<ConceptRecord[]> {
  const written: ConceptRecord[] = [];
  try {
    for (const [i, name] of names.entries()) {
      const known = existing[i];
      written.push(
        known
          ? await saveHead(deps, known, heads[i], refs)
          : await deps.store.create({
              scope: turn.scope,
              name,
              identifier: chooseIdentifier(name, 'person', [...others, ...written]),
              kind: 'person',
              owner: turn.user,
              head: heads[i],
              photos: [...refs],
            }),
      );
    }
    return written;
  } catch (error) {
    for (const [i, record] of written.entries()) {
      const before = existing[i];
      if (!before) await deps.store.forget(turn.scope, record.id);
      else
        await deps.store.modify(turn.scope, record.id, (draft) => {
          draft.head = before.head;
          draft.photos = before.photos;
        });
    }
    throw error;
  }
}

/** "1st", "2nd", "3rd", "4th", … for positions in a photo. */
function ordinal(n: number): string {
  const teen = n % 100 >= 11 && n % 100 <= 13;
  const suffix = teen ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix}`;
}
