// `/concepts`, `/forget`, `/rename`, `/remember`, `/facts`, `/forget_fact` and
// `/help`: what the assistant knows in this scope, and the user's control over it.
import { UserError } from '../errors.ts';
import type { ConceptRecord } from '../memory/concept.ts';
import type { ConceptStore } from '../memory/store.ts';
import { splitNameAndFact, splitTwoNames } from './command.ts';
import { assertDistinctName, validateName } from './names.ts';
import { assertMayChange } from './permissions.ts';
import type { EmbeddingLessons } from './lessons.ts';
import { examples } from './teach.ts';
import { COMMANDS, type Turn } from './turn.ts';

/** Facts per concept, and characters per fact: enough for a family, bounded for storage. */
export const MAX_FACTS = 20;
export const MAX_FACT_LENGTH = 300;

export interface ManageDeps {
  store: ConceptStore;
  lessons?: EmbeddingLessons | null;
}

export async function listConcepts({ store, lessons }: ManageDeps, turn: Turn): Promise<string> {
  const concepts = await store.list(turn.scope);
  if (concepts.length === 0)
    return "I don't know anyone or anything here yet. Send photos with /teach <name> to introduce someone.";
  const lines = concepts.map((c) => {
    const count = examples(c).length;
    const lesson = lessons?.progress(c);
    return `• ${c.name} (${c.kind}, ${count} photo${count === 1 ? '' : 's'}${c.facts.length ? `; ${c.facts.join('; ')}` : ''})${lesson ? ` — ${lesson}` : ''}`;
  });
  return [`I know ${concepts.length} here:`, ...lines].join('\n');
}

export async function findConcept(store: ConceptStore, turn: Turn, rawName: string): Promise<ConceptRecord> {
  const name = validateName(rawName);
  const concept = await store.findByName(turn.scope, name);
  if (!concept) throw new UserError(`I don't know anyone or anything called ${name} here. /concepts lists who I know.`);
  return concept;
}

export async function forget({ store, lessons }: ManageDeps, turn: Turn, rest: string): Promise<string> {
  const concept = await findConcept(store, turn, rest);
  assertMayChange(turn, concept, 'make me forget');
  // The lesson goes first, with its job folder (photos, checkpoints), so nothing can save into a forgotten concept.
  await lessons?.cancel(concept);
  await store.forget(turn.scope, concept.id);
  return `Done: I forgot ${concept.name}, with ${concept.photos.length} photo${concept.photos.length === 1 ? '' : 's'} and everything I learned from them.`;
}

/**
 * Gives a concept a new display name. Only the name changes: the identifier
 * inside prompts stays (the concept's embeddings were learned with it), and so
 * do its heads, facts and photos. The new name is checked as a taught one is.
 */
export async function rename({ store }: ManageDeps, turn: Turn, rest: string): Promise<string> {
  const concepts = await store.list(turn.scope);
  const split = splitTwoNames(
    rest,
    concepts.map((c) => c.name),
    'to',
  );
  if (!split) throw new UserError('Usage: /rename <name> to <new name>, for example /rename Anna to Annie.');
  const concept = await findConcept(store, turn, split.name);
  assertMayChange(turn, concept, 'rename');
  const newName = validateName(split.other);
  if (newName === concept.name) return `${concept.name} is already called that.`;
  assertDistinctName(
    newName,
    concepts.filter((c) => c.id !== concept.id),
  );
  await store.modify(turn.scope, concept.id, (draft) => {
    draft.name = newName;
  });
  return `Done: ${concept.name} is now called ${newName}.`;
}

export async function remember(store: ConceptStore, turn: Turn, rest: string): Promise<string> {
  const concepts = await store.list(turn.scope);
  const split = splitNameAndFact(
    rest,
    concepts.map((c) => c.name),
  );
  if (!split) {
    throw new UserError(
      concepts.length === 0
        ? 'Teach me someone first with /teach <name>.'
        : 'Usage: /remember <name> <fact>, for example /remember Anna loves horses.',
    );
  }
  const concept = await findConcept(store, turn, split.name);
  assertMayChange(turn, concept, 'change what I know about');
  const fact = split.fact.replace(/\s+/g, ' ').trim();
  if (!fact) throw new UserError(`What should I remember about ${concept.name}?`);
  if (fact.length > MAX_FACT_LENGTH) throw new UserError(`Please keep a fact under ${MAX_FACT_LENGTH} characters.`);
  await store.modify(turn.scope, concept.id, (draft) => {
    if (draft.facts.length >= MAX_FACTS)
      throw new UserError(`I already remember ${MAX_FACTS} facts about ${concept.name}; that is my limit.`);
    draft.facts.push(fact);
  });
  return `I'll remember that about ${concept.name}.`;
}

/** `/facts <name>`: what the assistant remembers about a concept, numbered for /forget_fact. Anyone in the scope may read it. */
export async function listFacts(store: ConceptStore, turn: Turn, rest: string): Promise<string> {
  if (!rest.trim()) throw new UserError('Usage: /facts <name>, for example /facts Anna.');
  const concept = await findConcept(store, turn, rest);
  if (concept.facts.length === 0)
    return `I don't remember anything about ${concept.name} yet. /remember ${concept.name} <fact> tells me something.`;
  return [
    `What I remember about ${concept.name}:`,
    ...concept.facts.map((fact, i) => `${i + 1}. ${fact}`),
    `/forget_fact ${concept.name} <number> forgets one; to change one, forget it and /remember the new wording.`,
  ].join('\n');
}

/**
 * `/forget_fact <name> <number>` (as /facts numbers them) or `/forget_fact
 * <name> <the fact's words>`. The fact is looked up inside the store's
 * update, so a fact added or removed meanwhile cannot shift the number onto
 * another one unnoticed.
 */
export async function forgetFact(store: ConceptStore, turn: Turn, rest: string): Promise<string> {
  const usage = 'Usage: /forget_fact <name> <number>, for example /forget_fact Anna 2 (/facts Anna numbers them).';
  const concepts = await store.list(turn.scope);
  const split = splitNameAndFact(
    rest,
    concepts.map((c) => c.name),
  );
  if (!split) {
    // No known name starts the text: name the one the user meant when a number follows it, else explain the form.
    const numbered = /^(\S.*?)\s+\d+$/.exec(rest.trim());
    if (numbered) await findConcept(store, turn, numbered[1]);
    throw new UserError(rest.trim() ? usage : 'Which fact? ' + usage);
  }
  const concept = await findConcept(store, turn, split.name);
  assertMayChange(turn, concept, 'change what I know about');
  const which = split.fact.replace(/\s+/g, ' ').trim();
  if (!which) throw new UserError(`Which fact about ${concept.name}? /facts ${concept.name} numbers them.`);
  let removed = '';
  await store.modify(turn.scope, concept.id, (draft) => {
    const index = factIndex(draft.facts, which, concept.name);
    removed = draft.facts[index];
    draft.facts.splice(index, 1);
  });
  return `Done: I forgot that about ${concept.name} ("${removed}").`;
}

/** The position of the fact `which` names (a number from 1, or its words in any letter case); a plain refusal otherwise. */
function factIndex(facts: readonly string[], which: string, name: string): number {
  if (facts.length === 0) throw new UserError(`I don't remember anything about ${name}.`);
  const range = facts.length === 1 ? 'the number 1' : `a number from 1 to ${facts.length}`;
  if (/^\d+$/.test(which)) {
    const number = Number(which);
    if (number < 1 || number > facts.length)
      throw new UserError(
        `I remember ${facts.length} fact${facts.length === 1 ? '' : 's'} about ${name}; send ${range} (/facts ${name} lists them).`,
      );
    return number - 1;
  }
  const index = facts.findIndex((f) => f.toLowerCase() === which.toLowerCase());
  if (index < 0)
    throw new UserError(`I don't remember "${which}" about ${name}. /facts ${name} lists what I remember, by number.`);
  return index;
}

export function help(): string {
  return [
    'I recognize the people and things you teach me, and answer about them by name.',
    '',
    ...COMMANDS.map((c) => `/${c.name}${c.args ? ` ${c.args}` : ''} — ${c.help}`),
    '',
    'Send a photo with /teach Anna to introduce Anna; later, send any photo and I will tell you who I see.',
  ].join('\n');
}
