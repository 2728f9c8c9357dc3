// Builds the assistant from settings: the concept store, the concept heads
// and the vision-language model (models resolved lazily, so a missing model
// only disables what needs it), and the conversation core on top.
import { Assistant } from './assistant.ts';
import { EmbeddingLessons } from './lessons.ts';
import type { Settings } from '../config/settings.ts';
import type { Audience } from '../errors.ts';
import { createConceptHeads } from '../heads/concept-heads.ts';
import { KeyvConceptStore } from '../memory/keyv-store.ts';
import type { ConceptStore } from '../memory/store.ts';
import { SessionPool } from '../models/session.ts';
import { vlmFromSettings } from '../vlm/provider.ts';

export interface AssistantRuntime {
  assistant: Assistant;
  /** The concept store the assistant writes to (one-shot commands and tests read it). */
  store: ConceptStore;
  /** Background embedding lessons (null without a teachable VLM); adapters may show their progress. */
  lessons: EmbeddingLessons | null;
  /** Closes the store and releases every model session. */
  close(): Promise<void>;
}

/**
 * `audience` is who reads the replies: 'operator' behind the terminal chat
 * and one-shot commands (told what to do about their problems), 'chat'
 * behind the messengers (told only that the operator must act).
 */
export async function createAssistant(settings: Settings, audience: Audience): Promise<AssistantRuntime> {
  const store = await KeyvConceptStore.open({ url: settings.storeUrl, directory: settings.dataDir });
  const sessions = new SessionPool({
    executionProvider: settings.executionProvider,
    intraOpThreads: settings.intraOpThreads,
    interOpThreads: 0,
  });
  const heads = createConceptHeads(settings, sessions);
  const vlm = vlmFromSettings(settings, sessions);
  // Lessons make their sessions as this process does (provider, threads) and cache teaching graphs with the models.
  const imageLimits = { maxBytes: settings.maxImageBytes, maxPixels: settings.maxImagePixels };
  const lessons = vlm
    ? new EmbeddingLessons(
        store,
        vlm,
        settings.dataDir,
        { runtime: sessions.runtime, cacheDir: settings.cacheDir },
        { imageLimits, queueUrl: settings.queueUrl },
      )
    : null;
  // Resumes unfinished lessons now; lessons for concepts taught before this VLM start in the background (the VLM loads for them).
  await lessons?.resume();
  const assistant = new Assistant({
    store,
    audience,
    heads,
    imageLimits,
    vlm,
    lessons,
  });
  return {
    assistant,
    store,
    lessons,
    async close() {
      await lessons?.close();
      await vlm?.dispose();
      await sessions.dispose();
      await store.close();
    },
  };
}
