// The conversation core: one `Turn` in, one `Reply` out, for every adapter.
// It reads the command, runs it against the scope's memory and heads, and
// turns every failure into a plain answer fit for whoever reads it (see
// src/errors.ts: who must act decides what is said and what is logged).
import { messageFor, type Audience } from '../errors.ts';
import type { ImageLimits } from '../image/decode.ts';
import type { ConceptHeads } from '../heads/types.ts';
import { logFailure, moduleLogger } from '../log.ts';
import { statusWhileDownloading } from '../models/progress.ts';
import type { ConceptStore } from '../memory/store.ts';
import type { VlmProvider } from '../vlm/provider.ts';
import type { EmbeddingLessons } from './lessons.ts';
import { parseCommand } from './command.ts';
import { describe, refer } from './look.ts';
import { forget, forgetFact, help, listConcepts, listFacts, remember, rename } from './manage.ts';
import { merge } from './merge.ts';
import { recall } from './recall.ts';
import { teachNamed } from './group-teach.ts';
import { settings } from './settings.ts';
import { FORGET_UNKNOWN_FACES, forgetUnknownFaces, who } from './unknown-faces.ts';
import { notIt } from './teach.ts';
import type { JobUpdate } from '../teach/job-updates.ts';
import type { ConversationCore, Notice, Reply, Turn, TurnOptions } from './turn.ts';

const logger = moduleLogger('assistant');

export interface AssistantDeps {
  store: ConceptStore;
  /**
   * Who reads the replies: people in a chat (the default), who are told only
   * that the operator must act, or the operator at the terminal, who is told
   * what to do.
   */
  audience?: Audience;
  /** Null when no recognition models are available; the assistant says so. */
  heads: ConceptHeads | null;
  imageLimits: ImageLimits;
  /**
   * The personalized vision-language model (loaded on first use). Absent or
   * null: captions, questions and /refer are answered from the heads alone.
   */
  vlm?: VlmProvider | null;
  /** Background embedding lessons for the VLM; null when no teachable VLM is configured. */
  lessons?: EmbeddingLessons | null;
}

export class Assistant implements ConversationCore {
  private readonly deps: AssistantDeps & { audience: Audience };

  constructor(deps: AssistantDeps) {
    this.deps = { ...deps, audience: deps.audience ?? 'chat' };
  }

  async handle(turn: Turn, options: TurnOptions = {}): Promise<Reply> {
    // A model this turn needs may be downloading (its first use): the turn's
    // status shows its licence and size first, then the progress.
    const stopWatching = options.onStatus ? statusWhileDownloading(options.onStatus) : () => undefined;
    try {
      return await this.dispatch(turn, options);
    } catch (error) {
      logFailure(logger, error, 'turn failed', { scope: turn.scope, command: turn.text.slice(0, 40) });
      return text(messageFor(error, this.deps.audience));
    } finally {
      stopWatching();
    }
  }

  /** Background lessons as notices: one key per lesson, `done` once it finished, failed or was stopped. */
  onNotice(listener: (notice: Notice) => void): () => void {
    if (!this.deps.lessons) return () => {};
    return this.deps.lessons.onUpdate((update, line) => listener(lessonNotice(update, line)));
  }

  private async dispatch(turn: Turn, options: TurnOptions): Promise<Reply> {
    const command = parseCommand(turn.text);
    switch (command.name) {
      case 'help':
        return text(help());
      case 'teach':
        return text(await teachNamed(this.deps, turn, command.rest, options));
      case 'notit':
        return text(await notIt(this.deps, turn, command.rest, options));
      case 'concepts':
        return text(await listConcepts(this.deps, turn));
      case 'forget':
        if (command.rest.trim().toLowerCase() === FORGET_UNKNOWN_FACES)
          return text(await forgetUnknownFaces(this.deps.store, turn));
        return text(await forget(this.deps, turn, command.rest));
      case 'who':
        return who(this.deps, turn, command.rest);
      case 'settings':
        return text(await settings(this.deps.store, turn, command.rest));
      case 'rename':
        return text(await rename(this.deps, turn, command.rest));
      case 'merge':
        return text(await merge(this.deps, turn, command.rest, options));
      case 'remember':
        return text(await remember(this.deps.store, turn, command.rest));
      case 'facts':
        return text(await listFacts(this.deps.store, turn, command.rest));
      case 'forget_fact':
        return text(await forgetFact(this.deps.store, turn, command.rest));
      case 'caption':
        return describe(this.deps, turn, '/caption', options);
      case 'ask':
        // A question without a photo that names someone known is answered from memory; otherwise a photo is asked for.
        if (turn.images.length === 0) {
          const remembered = await recall(this.deps, turn, command.rest, options);
          if (remembered) return remembered;
        }
        return describe(this.deps, turn, 'your question', options, command.rest);
      case 'refer':
        return refer(this.deps, turn, command.rest, options);
      case null:
        if (command.unknown)
          return text(`I don't know the command /${command.unknown}. Send /help to see what I can do.`);
        if (turn.images.length > 0) return describe(this.deps, turn, 'your question', options, command.rest || null);
        return (
          (await recall(this.deps, turn, command.rest, options)) ??
          text('Send me a photo and I will tell you who I recognize, or /help to see everything I can do.')
        );
    }
  }
}

/** The notice adapters show for one update of a lesson (`line` is its sentence). */
export function lessonNotice(update: JobUpdate, line: string): Notice {
  return {
    scope: update.scope,
    key: update.jobId,
    text: line,
    ...(update.state === 'training' ? { step: { at: update.step, of: update.steps } } : {}),
    done: update.state === 'done' || update.state === 'failed' || update.state === 'cancelled',
  };
}

function text(value: string): Reply {
  return { text: value, images: [] };
}
