// Answers about a photo: who and what is in it (`/caption`, `/ask`, a photo
// without a command) and where someone is (`/refer`). With a vision-language
// model the concepts that fired join the image tokens and the model answers
// by name; without one the concept heads answer alone, and say so.
import { UserError, type Audience } from '../errors.ts';
import { drawLabelledBoxes } from '../image/draw.ts';
import { encodeJpeg } from '../image/encode.ts';
import type { DecodedImage, ImageLimits } from '../image/decode.ts';
import type { Box } from '../image/box.ts';
import {
  headProblem,
  type ConceptHeads,
  type HeadProblem,
  type ObjectSighting,
  type PersonSighting,
  type Recognition,
} from '../heads/types.ts';
import { FACTS_IN_ANSWERS } from '../config/defaults.ts';
import type { ConceptRecord } from '../memory/concept.ts';
import type { ConceptStore } from '../memory/store.ts';
import { mentions } from '../vlm/identifiers.ts';
import type { VlmProvider } from '../vlm/provider.ts';
import type { PersonalVlm } from '../vlm/personal-vlm.ts';
import { validateName } from './names.ts';
import { decodeQuestionPhoto } from './photos.ts';
import type { OutgoingImage, Reply, Turn, TurnOptions } from './turn.ts';
import { unavailableLines } from './unavailable.ts';
import { rememberUnknownFaces } from './unknown-faces.ts';

export const NO_VLM_NOTE = 'No vision-language model is configured, so I can only tell who and what I recognize.';

/** Streaming answers update the status at most this often (milliseconds), so chats are not flooded with edits. */
export const ANSWER_STATUS_INTERVAL_MS = 1000;

export interface LookDeps {
  store: ConceptStore;
  heads: ConceptHeads | null;
  imageLimits: ImageLimits;
  /** The configured vision-language model; absent or null answers from the heads alone. */
  vlm?: VlmProvider | null;
  /** Who reads the replies: says how much of an operator's problem they are told. */
  audience: Audience;
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

/** The loaded VLM, or why there is none to use (null problem: none configured). A bug is thrown. */
export async function loadVlm(
  deps: LookDeps,
): Promise<{ model: PersonalVlm } | { model: null; problem: HeadProblem | null }> {
  if (!deps.vlm) return { model: null, problem: null };
  try {
    return { model: await deps.vlm.get() };
  } catch (error) {
    return { model: null, problem: headProblem(error) };
  }
}

function noVlmNote(deps: LookDeps, problem: HeadProblem | null): string {
  if (problem === null) return NO_VLM_NOTE;
  const headline = 'The vision-language model is not available, so I can only tell who and what I recognize.';
  return unavailableLines({ what: 'the vision-language model', headline, problem }, deps.audience);
}

/**
 * `/caption`, `/ask` and plain photos. `question` null asks for a caption;
 * without a model the heads say who and what they see.
 */
export async function describe(
  deps: LookDeps,
  turn: Turn,
  what: string,
  options: TurnOptions,
  question: string | null = null,
): Promise<Reply> {
  const { image, note, concepts, recognition } = await recognizeTurnPhoto(deps, turn, what, options);
  await rememberUnknownFaces(deps.store, turn.scope, image, recognition);
  const vlm = await loadVlm(deps);
  if (!vlm.model) {
    const lines = [recognition ? sentenceFor(recognition, concepts) : 'Recognition is not set up on this assistant.'];
    lines.push(...firedConcepts(recognition, concepts).flatMap(factLine));
    if (note) lines.push(note);
    lines.push(noVlmNote(deps, vlm.problem));
    return { text: lines.join('\n'), images: [] };
  }
  const fired = firedConcepts(recognition, concepts);
  await options.onStatus?.({ text: question === null ? 'Writing a caption…' : 'Thinking about your question…' });
  const request = { image, concepts: fired, onText: answerStatus(options) };
  const answer = question === null ? await vlm.model.caption(request) : await vlm.model.ask({ ...request, question });
  const lines = [answer.text || 'The model had nothing to say about this photo.'];
  if (answer.skipped.length > 0) {
    const names = answer.skipped.map((s) => withPosition(s.concept, recognition));
    const whom = answer.skipped.length === 1 ? answer.skipped[0].concept.name : 'them';
    lines.push(`I also recognize ${listWords(names)} here, but I have not learned to describe ${whom} by name yet.`);
  }
  const unnamed = answer.injected.filter((c) => !mentions(answer.text, c.name));
  if (unnamed.length > 0)
    lines.push(`(I recognize ${listWords(unnamed.map((c) => withPosition(c, recognition)))} in this photo.)`);
  if (question !== null) {
    const absent = concepts.filter((c) => !fired.includes(c) && mentions(question, c.name));
    if (absent.length > 0) lines.push(`(I don't see ${listWords(absent.map((c) => c.name))} in this photo.)`);
  }
  if (!recognition) lines.push('Recognition is not set up on this assistant, so I could not tell who is who.');
  if (note) lines.push(note);
  return { text: lines.join('\n'), images: [] };
}

/** `/refer <name>`: a labelled box where the concept is: the model's box, or the face or region the heads found. */
export async function refer(deps: LookDeps, turn: Turn, rest: string, options: TurnOptions): Promise<Reply> {
  const name = validateName(rest);
  const concept = await deps.store.findByName(turn.scope, name);
  if (!concept) throw new UserError(`I don't know anyone or anything called ${name} here. /concepts lists who I know.`);
  const { image, note, concepts, recognition } = await recognizeTurnPhoto(
    deps,
    turn,
    `/refer ${concept.name}`,
    options,
  );
  const vlm = await loadVlm(deps);
  const person = recognition?.people.find((p) => p.conceptId === concept.id) ?? null;
  const object = recognition?.objects.find((o) => o.conceptId === concept.id) ?? null;
  const lines: string[] = [];
  let images: OutgoingImage[] = [];
  /** Said last, after the photo note: why the answer comes from the heads alone. */
  let headsOnly: string | null = vlm.model ? null : noVlmNote(deps, vlm.problem);
  if (!person && !object) {
    lines.push(`I could not find ${concept.name} in this photo.`);
    if (recognition && recognition.people.length + recognition.objects.length > 0)
      lines.push(sentenceFor(recognition, concepts));
  } else if (vlm.model && vlm.model.usableConcepts([concept]).injected.length > 0) {
    await options.onStatus?.({ text: `Looking for ${concept.name}…` });
    const answer = await vlm.model.refer({ image, target: concept, onText: answerStatus(options) });
    if (answer.located) {
      images = [await labelledPhoto(image, answer.located.box, concept.name)];
      lines.push(`${concept.name} is here, marked on the photo.`);
    } else {
      lines.push(`I could not locate ${concept.name} in this photo: the model answered, but ${answer.problem}.`);
      if (person) {
        images = [await labelledPhoto(image, person.box, concept.name)];
        lines.push(`I did recognize ${concept.name}'s face (${positionWords(person.position)}), marked on the photo.`);
      }
    }
  } else {
    // The object head's box is its best-scoring region of the photo: a crop that holds the thing, not a tight outline.
    const sighting = person ?? object;
    if (sighting) {
      images = [await labelledPhoto(image, sighting.box, concept.name)];
      lines.push(`${concept.name} is here (${positionWords(sighting.position)}), marked on the photo.`);
    }
    if (vlm.model)
      headsOnly = `I have not learned ${concept.name} for the vision-language model yet, so I went by what I recognize.`;
  }
  if (note) lines.push(note);
  if (headsOnly) lines.push(headsOnly);
  return { text: lines.join('\n'), images };
}

/** The photo at the size chats show, the box drawn on it, as a JPEG that every messenger takes. */
async function labelledPhoto(image: DecodedImage, box: Box, label: string): Promise<OutgoingImage> {
  const { bytes, mimeType } = await encodeJpeg(await drawLabelledBoxes(image, [{ ...box, label }]));
  return { bytes, mimeType, name: `refer-${fileSafe(label)}.jpg` };
}

/** The concepts that fired, in the order their tokens are appended: people left to right, then objects by probability. */
export function firedConcepts(recognition: Recognition | null, concepts: readonly ConceptRecord[]): ConceptRecord[] {
  if (!recognition) return [];
  const byId = new Map(concepts.map((c) => [c.id, c]));
  const ids = [
    ...[...recognition.people].sort((a, b) => a.box.x - b.box.x).map((p) => p.conceptId),
    ...[...recognition.objects].sort((a, b) => b.probability - a.probability).map((o) => o.conceptId),
  ];
  return [...new Set(ids)].flatMap((id) => byId.get(id) ?? []);
}

/** Throttled status updates with the answer so far. */
export function answerStatus(options: TurnOptions): ((partial: string) => void) | undefined {
  const onStatus = options.onStatus;
  if (!onStatus) return undefined;
  let last = performance.now();
  return (partial) => {
    const now = performance.now();
    if (now - last < ANSWER_STATUS_INTERVAL_MS || !partial) return;
    last = now;
    void Promise.resolve(onStatus({ text: `${partial}…`, draft: true })).catch(() => undefined);
  };
}

/** Facts as one sentence: "loves horses; born in May." */
export function factsSentence(facts: readonly string[]): string {
  const joined = facts.join('; ');
  return `${joined}${/[.!?]$/.test(joined) ? '' : '.'}`;
}

/** "Anna: loves horses; born in May." beside a recognition (the newest facts), or nothing when none are remembered. */
export function factLine(concept: ConceptRecord): string[] {
  if (concept.facts.length === 0) return [];
  return [`${concept.name}: ${factsSentence(concept.facts.slice(-FACTS_IN_ANSWERS.maxFactsPerConcept))}`];
}

function withPosition(concept: ConceptRecord, recognition: Recognition | null): string {
  const sighting: PersonSighting | ObjectSighting | undefined =
    recognition?.people.find((p) => p.conceptId === concept.id) ??
    recognition?.objects.find((o) => o.conceptId === concept.id);
  return sighting ? `${concept.name} (${sighting.position})` : concept.name;
}

/** "I see Anna (left) and Rex (right). There is 1 other person I don't know." */
export function sentenceFor(recognition: Recognition, concepts: readonly ConceptRecord[]): string {
  const byId = new Map(concepts.map((c) => [c.id, c]));
  const people = [...recognition.people]
    .sort((a, b) => a.box.x - b.box.x)
    .map((p) => `${byId.get(p.conceptId)?.name ?? '?'} (${p.position})`);
  const objects = [...recognition.objects]
    .sort((a, b) => b.probability - a.probability)
    .map((o) => `${byId.get(o.conceptId)?.name ?? '?'} (${o.position})`);
  const known = [...people, ...objects];
  const strangers = recognition.facesFound - recognition.people.length;
  const parts: string[] = [];
  if (known.length > 0) parts.push(`I see ${listWords(known)}.`);
  if (strangers > 0) {
    parts.push(
      known.length > 0
        ? `There ${strangers === 1 ? 'is 1 other person' : `are ${strangers} other people`} I don't know.`
        : `I see ${strangers === 1 ? 'a person' : `${strangers} people`} I don't know.`,
    );
  }
  if (parts.length === 0)
    parts.push(
      concepts.length === 0
        ? "I don't know anyone or anything here yet; teach me with /teach."
        : "I don't see anyone or anything I know in this photo.",
    );
  return parts.join(' ');
}

export function listWords(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

function positionWords(position: string): string {
  return position === 'centre' ? 'in the centre' : `on the ${position}`;
}

function fileSafe(name: string): string {
  return (
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '') || 'concept'
  );
}
