// Questions without a photo about someone or something the assistant knows
// ("what does Anna like?", "when is Rex's birthday?", "tell me about Anna"):
// answered from the facts users told it with /remember. With a
// vision-language model its language model answers too, reading the facts as
// quoted data; the facts themselves are always said, because a small model
// can garble them. Without facts the model is not asked at all: it would
// invent an answer (a birthday) rather than say it does not know.
import type { ConceptRecord } from '../memory/concept.ts';
import { identifiersForNames, mentions } from '../vlm/identifiers.ts';
import { answerStatus, factsSentence, listWords, loadVlm, type LookDeps } from './look.ts';
import type { Reply, Turn, TurnOptions } from './turn.ts';

/**
 * The concepts `text` names, in the order it names them. A longer name wins
 * over one inside it: "Anna Maria" names Anna Maria, not also Anna.
 */
export function conceptsNamedIn(text: string, concepts: readonly ConceptRecord[]): ConceptRecord[] {
  let rest = text;
  const named: ConceptRecord[] = [];
  for (const concept of [...concepts].sort((a, b) => b.name.length - a.name.length)) {
    if (!mentions(rest, concept.name)) continue;
    named.push(concept);
    // Blank the name out (an identifier of one non-word character), so a shorter name inside it is not found again.
    rest = identifiersForNames(rest, [{ name: concept.name, identifier: '\u0000' }]);
  }
  const at = (c: ConceptRecord) => text.toLowerCase().indexOf(c.name.toLowerCase());
  return named.sort((a, b) => at(a) - at(b));
}

/** "What I remember about Anna: loves horses; born in May." */
function rememberedLine(concept: ConceptRecord): string {
  return `What I remember about ${concept.name}: ${factsSentence(concept.facts)}`;
}

/**
 * The answer to a text without a photo that names known concepts, or null
 * when it names none (the caller keeps its own answer for that).
 */
export async function recall(
  deps: LookDeps,
  turn: Turn,
  question: string,
  options: TurnOptions,
): Promise<Reply | null> {
  const named = conceptsNamedIn(question, await deps.store.list(turn.scope));
  if (named.length === 0) return null;
  const told = named.filter((c) => c.facts.length > 0);
  const untold = named.filter((c) => c.facts.length === 0);
  const lines: string[] = [];
  if (told.length > 0) {
    const vlm = await loadVlm(deps);
    if (vlm.model) {
      await options.onStatus?.({ text: 'Thinking about your question…' });
      const answer = await vlm.model.askAbout({ question, concepts: told, onText: answerStatus(options) });
      if (answer.text) lines.push(answer.text);
    }
    lines.push(...told.map(rememberedLine));
  }
  if (untold.length > 0)
    lines.push(
      `Nobody has told me anything about ${listWords(untold.map((c) => c.name))} yet; ` +
        `/remember ${untold[0].name} <fact> tells me something. To ask about a photo, send it with your question.`,
    );
  return { text: lines.join('\n'), images: [] };
}
