// The configured VLM as the conversation core holds it: nothing (not even
// transformers.js) loads until the first photo needs it, and a model that
// cannot be loaded disables only the VLM answers instead of taking the
// assistant down. Its failure keeps its class, so the chat hears who must act
// (messageFor) and the log gets the operator's hint or the bug's stack.
import type { Settings } from '../config/settings.ts';
import { resolveOptionsFrom } from '../models/resolve.ts';
import { logFailure, moduleLogger } from '../log.ts';
import type { SessionPool } from '../models/session.ts';
import type { OpenVlmOptions } from './load.ts';
import type { PersonalVlm } from './personal-vlm.ts';

const logger = moduleLogger('vlm');

/** A VLM loaded on first use; a failed load is reported and retried on the next photo. */
export interface VlmProvider {
  /** The configured registry id or folder, for messages. */
  readonly spec: string;
  /**
   * The loaded model. A failed load rejects with its own error, already
   * logged: an OperatorError (the model's files, the configuration), a
   * UserError, or anything else for a bug.
   */
  get(): Promise<PersonalVlm>;
  dispose(): Promise<void>;
}

/** Opens `spec` (registry id or folder) with `openVlm` when first asked. */
export function lazyVlm(spec: string, options: OpenVlmOptions): VlmProvider {
  let loading: Promise<PersonalVlm> | null = null;
  return {
    spec,
    get() {
      loading ??= import('./load.ts')
        .then(({ openVlm }) => openVlm(spec, options))
        .catch((error: unknown) => {
          loading = null;
          logFailure(logger, error, 'loading the vision-language model failed', { spec });
          throw error;
        });
      return loading;
    },
    async dispose() {
      const current = loading;
      loading = null;
      if (current) await (await current.catch(() => null))?.dispose();
    },
  };
}

/** The VLM the settings ask for (MYVLM_VLM), or null to answer from the concept heads alone. */
export function vlmFromSettings(settings: Settings, sessions: SessionPool): VlmProvider | null {
  if (!settings.vlm) return null;
  return lazyVlm(settings.vlm, {
    resolve: resolveOptionsFrom(settings),
    sessions,
    dtype: settings.vlmDtype,
  });
}
