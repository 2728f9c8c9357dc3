// `/merge <name> into <other name>`: the same person or thing taught twice,
// under two names, becomes one concept under the second name (its id, name
// and prompt identifier stay), with the face keys, photos and facts of both
// and the source's embeddings where the target has none and they fit.
//
// The store updates one concept at a time, so a merge is two writes: the
// target first, holding everything of both, then the source forgotten. A
// crash between them leaves both names, nothing lost; uniting is idempotent
// (keys, photos and facts are added only when new, embeddings only where the
// target has none), so sending the same /merge again changes nothing in the
// target and completes the forgetting. What reaches the source while a merge
// runs (a /remember between the read and the forgetting) goes with it.
import { ConflictError, UserError } from '../errors.ts';
import { uniteKeys } from '../heads/face/teach.ts';
import type { ConceptEmbedding, ConceptRecord, HeadParams, PhotoRef } from '../memory/concept.ts';
import { splitTwoNames } from './command.ts';
import { findConcept, MAX_FACTS } from './manage.ts';
import { assertMayChange } from './permissions.ts';
import {
  article,
  assertAvailable,
  examples,
  fitObject,
  loadPhotos,
  requireHeads,
  startLesson,
  type TeachDeps,
} from './teach.ts';
import type { Turn, TurnOptions } from './turn.ts';

export async function merge(deps: TeachDeps, turn: Turn, rest: string, options: TurnOptions): Promise<string> {
  const concepts = await deps.store.list(turn.scope);
  const split = splitTwoNames(
    rest,
    concepts.map((c) => c.name),
    'into',
  );
  if (!split)
    throw new UserError(
      'Usage: /merge <name> into <other name>, for example /merge Annie into Anna when I learned Anna twice: ' +
        "Annie's photos, face and facts join Anna's, and the name Annie goes.",
    );
  const source = await findConcept(deps.store, turn, split.name);
  const target = await findConcept(deps.store, turn, split.other);
  if (source.id === target.id) throw new UserError(`${target.name} is one already; name two different ones to merge.`);
  if (source.kind !== target.kind)
    throw new UserError(
      `${source.name} is ${article(source.kind)} and ${target.name} ${article(target.kind)}: I only merge two people or two things.`,
    );
  assertMayChange(turn, source, 'merge');
  assertMayChange(turn, target, 'merge');
  const facts = unitedFacts(target.facts, source.facts);
  if (facts.length > MAX_FACTS)
    throw new UserError(
      `Together ${source.name} and ${target.name} have ${facts.length} facts and my limit is ${MAX_FACTS}; ` +
        `forget ${facts.length - MAX_FACTS} first with /forget_fact.`,
    );
  const notes: string[] = [];
  const refitted = await refittedHead(deps, turn, source, target, options, notes);
  const merged = await writeTarget(deps, turn, source, target, refitted, facts);
  // The target holds everything now: the source's lesson and record can go.
  await deps.lessons?.cancel(source);
  await deps.store.forget(turn.scope, source.id);

  const count = examples(merged).length;
  const lines = [
    `Done: ${source.name} is now part of ${merged.name}. I know ${merged.name} from ${count} photo${count === 1 ? '' : 's'}` +
      `${merged.facts.length > 0 ? ` and remember ${merged.facts.length} fact${merged.facts.length === 1 ? '' : 's'}` : ''}.`,
    ...notes,
  ];
  const kept = Object.keys(source.embeddings).filter((model) => target.embeddings[model]);
  const brought = examples(merged).length > examples(target).length;
  const lesson = brought ? await startLesson(deps, merged) : null;
  if (lesson) lines.push(lesson);
  else if (kept.length > 0 && deps.lessons)
    lines.push(
      `(I kept what I had learned to describe ${merged.name}; teaching a new photo of ${merged.name} relearns it.)`,
    );
  return lines.join('\n');
}

/**
 * A thing's merged head, null for a person. Face keys are united in the
 * write (duplicates once; keys of another recognizer dropped, as teaching
 * drops them). A linear head cannot be added to another one: it is fitted
 * again on both concepts' photos, as /teach fits it, with the source no
 * longer among the negatives.
 */
async function refittedHead(
  deps: TeachDeps,
  turn: Turn,
  source: ConceptRecord,
  target: ConceptRecord,
  options: TurnOptions,
  notes: string[],
): Promise<HeadParams | null> {
  if (target.kind === 'person') {
    // Keys are united inside the write; here only what cannot join is said.
    if (unitedFaces(target.head, source.head).dropped > 0)
      notes.push(
        `(${source.name}'s face was learned with another face recognizer, so it could not join; ` +
          `/teach ${target.name} with photos of them adds it again.)`,
      );
    return null;
  }
  const heads = requireHeads(deps);
  await assertAvailable(deps, heads, 'object');
  await options.onStatus?.({ text: `Learning to recognize ${target.name} from the photos of both…` });
  const known = new Set(target.photos.map((p) => p.sha256));
  const fresh = (role: PhotoRef['role']) => source.photos.filter((p) => p.role === role && !known.has(p.sha256));
  const fitted = await fitObject(
    deps,
    turn.scope,
    target,
    target.name,
    await loadPhotos(deps, turn.scope, fresh('example')),
    await loadPhotos(deps, turn.scope, fresh('not-it')),
    source.id,
  );
  return fitted.params;
}

/** Face keys of both; a missing head takes the other's. */
function unitedFaces(into: HeadParams | null, from: HeadParams | null): { head: HeadParams | null; dropped: number } {
  if (from?.type !== 'face') return { head: into, dropped: 0 };
  if (into?.type !== 'face') return { head: from, dropped: 0 };
  const { params, dropped } = uniteKeys(into, from);
  return { head: params, dropped };
}

/**
 * Writes the target with everything of both. Face keys are united inside
 * the update, with the target as stored then (a key taught meanwhile stays);
 * a refitted linear head was fitted on the target as read, so that write
 * insists on that version.
 */
async function writeTarget(
  deps: TeachDeps,
  turn: Turn,
  source: ConceptRecord,
  target: ConceptRecord,
  refitted: HeadParams | null,
  facts: readonly string[],
): Promise<ConceptRecord> {
  const unite = (draft: ConceptRecord) => {
    draft.head = draft.kind === 'person' ? unitedFaces(draft.head, source.head).head : refitted;
    const known = new Set(draft.photos.map((p) => p.sha256));
    draft.photos.push(...source.photos.filter((p) => !known.has(p.sha256)));
    draft.facts = unitedFacts(draft.facts, facts).slice(0, MAX_FACTS);
    draft.embeddings = unitedEmbeddings(draft, source);
  };
  if (target.kind === 'person') return deps.store.modify(turn.scope, target.id, unite);
  try {
    return await deps.store.update(turn.scope, target.id, target.version, unite);
  } catch (error) {
    if (error instanceof ConflictError)
      throw new UserError(`${target.name} changed while I was merging; send the /merge again.`, { cause: error });
    throw error;
  }
}

/** Facts of both, each once (letter case and spacing aside), the target's first. */
function unitedFacts(into: readonly string[], from: readonly string[]): string[] {
  const key = (fact: string) => fact.replace(/\s+/g, ' ').trim().toLowerCase();
  const seen = new Set(into.map(key));
  return [...into, ...from.filter((fact) => !seen.has(key(fact)) && seen.add(key(fact)))];
}

/**
 * Per VLM: the target's embedding where it has one; otherwise the source's
 * when it was learned for the same prompt word (an embedding learned for
 * another word would make the model say that word). A lesson on the united
 * photos follows when the source brought photos.
 */
function unitedEmbeddings(target: ConceptRecord, source: ConceptRecord): Record<string, ConceptEmbedding> {
  const embeddings = { ...target.embeddings };
  if (source.identifier.toLowerCase() !== target.identifier.toLowerCase()) return embeddings;
  for (const [model, embedding] of Object.entries(source.embeddings)) embeddings[model] ??= embedding;
  return embeddings;
}
