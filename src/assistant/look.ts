// Answers about a photo: who and what is in it (`/caption`, `/ask`, a photo
// without a command) and where someone is (`/refer`). Without a
// vision-language model the concept heads answer alone, and say so.
import { UserError } from '../errors.ts';
import { drawLabelledBoxes } from '../image/draw.ts';
import type { ImageLimits } from '../image/decode.ts';
import type { ConceptHeads, Recognition } from '../heads/types.ts';
import type { ConceptRecord } from '../memory/concept.ts';
import type { ConceptStore } from '../memory/store.ts';
import { validateName } from './names.ts';
import { decodeQuestionPhoto } from './photos.ts';
import type { Reply, Turn, TurnOptions } from './turn.ts';

export const NO_VLM_NOTE = 'No vision-language model is configured, so I can only tell who and what I recognize.';

export interface LookDeps {
  store: ConceptStore;
  heads: ConceptHeads | null;
  imageLimits: ImageLimits;
}

/** Who and what the scope's concepts find in the turn's photo. */
async function recognizeTurnPhoto(deps: LookDeps, turn: Turn, what: string, options: TurnOptions) {
  const { image, note } = await decodeQuestionPhoto(turn.images, deps.imageLimits, what);
  const concepts = await deps.store.list(turn.scope);
  if (!deps.heads) return { image, note, concepts, recognition: null };
  await options.onStatus?.({ text: 'Looking at the photo…' });
  const recognition = await deps.heads.recognize(image, concepts);
  return { image, note, concepts, recognition };
}

/** `/caption`, `/ask` and plain photos, answered from the concept heads. */
export async function describe(deps: LookDeps, turn: Turn, what: string, options: TurnOptions): Promise<Reply> {
  const { note, concepts, recognition } = await recognizeTurnPhoto(deps, turn, what, options);
  const lines = [recognition ? sentenceFor(recognition, concepts) : 'Recognition is not set up on this assistant.'];
  if (note) lines.push(note);
  lines.push(NO_VLM_NOTE);
  return { text: lines.join('\n'), images: [] };
}

/** `/refer <name>`: a labelled box where the concept is, when the heads can place it. */
export async function refer(deps: LookDeps, turn: Turn, rest: string, options: TurnOptions): Promise<Reply> {
  const name = validateName(rest);
  const concept = await deps.store.findByName(turn.scope, name);
  if (!concept) throw new UserError(`I don't know anyone or anything called ${name} here. /concepts lists who I know.`);
  const { image, note, concepts, recognition } = await recognizeTurnPhoto(deps, turn, `/refer ${concept.name}`, options);
  const lines: string[] = [];
  const person = recognition?.people.find((p) => p.conceptId === concept.id);
  const object = recognition?.objects.find((o) => o.conceptId === concept.id);
  let images: Reply['images'] = [];
  if (person) {
    const png = await drawLabelledBoxes(image, [{ ...person.box, label: concept.name }]);
    images = [{ bytes: png, mimeType: 'image/png', name: `refer-${fileSafe(concept.name)}.png` }];
    lines.push(`${concept.name} is here (${positionWords(person.position)}), marked on the photo.`);
  } else if (object) {
    lines.push(`${concept.name} is in this photo, but I can only point to where with a vision-language model.`);
  } else {
    lines.push(`I could not find ${concept.name} in this photo.`);
    if (recognition && recognition.people.length + recognition.objects.length > 0) lines.push(sentenceFor(recognition, concepts));
  }
  if (note) lines.push(note);
  lines.push(NO_VLM_NOTE);
  return { text: lines.join('\n'), images };
}

/** "I see Anna (left) and Rex. There is 1 other person I don't know." */
export function sentenceFor(recognition: Recognition, concepts: readonly ConceptRecord[]): string {
  const byId = new Map(concepts.map((c) => [c.id, c]));
  const people = [...recognition.people].sort((a, b) => a.box.x - b.box.x).map((p) => `${byId.get(p.conceptId)?.name ?? '?'} (${p.position})`);
  const objects = [...recognition.objects].sort((a, b) => b.probability - a.probability).map((o) => byId.get(o.conceptId)?.name ?? '?');
  const known = [...people, ...objects];
  const strangers = recognition.facesFound - recognition.people.length;
  const parts: string[] = [];
  if (known.length > 0) parts.push(`I see ${listWords(known)}.`);
  if (strangers > 0) {
    parts.push(known.length > 0 ? `There ${strangers === 1 ? 'is 1 other person' : `are ${strangers} other people`} I don't know.` : `I see ${strangers === 1 ? 'a person' : `${strangers} people`} I don't know.`);
  }
  if (parts.length === 0) parts.push(concepts.length === 0 ? "I don't know anyone or anything here yet; teach me with /teach." : "I don't see anyone or anything I know in this photo.");
  return parts.join(' ');
}

function listWords(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

function positionWords(position: string): string {
  return position === 'centre' ? 'in the centre' : `on the ${position}`;
}

function fileSafe(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'concept';
}
