// The concept heads of the personalization evaluation: the product's object
// head on the configured image features. An evaluation never downloads them
// (a caption run should not start a 352 MB download on its own); without
// them it measures only the forced injection, as the paper reports, and says
// how to get the rest.
import type { Settings } from '../../config/settings.ts';
import { ModelMissingError } from '../../errors.ts';
import { ObjectHead } from '../../heads/object/object-head.ts';
import { resolveOptionsFrom } from '../../models/resolve.ts';
import { SessionPool } from '../../models/session.ts';

export interface EvaluationHeads {
  objects: ObjectHead | null;
  /** The image-feature model's id, or null when it is not there. */
  extractor: string | null;
  /** Why there are no heads, with the command that fixes it. */
  problem: string | null;
  dispose(): Promise<void>;
}

/** Opens the object head on `extractor` when its files are present; a missing model is reported, not thrown. */
export async function openEvaluationHeads(extractor: string, settings: Settings): Promise<EvaluationHeads> {
  const sessions = new SessionPool({
    executionProvider: settings.executionProvider,
    intraOpThreads: settings.intraOpThreads,
    interOpThreads: 0,
  });
  const dispose = () => sessions.dispose();
  try {
    const objects = await ObjectHead.open({
      ...resolveOptionsFrom(settings),
      allowDownload: false,
      extractor,
      sessions,
    });
    return { objects, extractor, problem: null, dispose };
  } catch (error) {
    if (!(error instanceof ModelMissingError)) {
      await dispose();
      throw error;
    }
    return {
      objects: null,
      extractor: null,
      problem:
        `the image-feature model ${extractor} is not here (${error.missing.join(', ')}), and an evaluation does not ` +
        `download it: fetch it with \`npx myvlm models fetch ${extractor}\`, or pass --features with one that is present`,
      dispose,
    };
  }
}
