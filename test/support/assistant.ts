// Builds the real assistant for integration tests: a fresh SQLite store in a
// temporary folder and the small real models from ../shared/models.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createAssistant, type AssistantRuntime } from '../../src/assistant/setup.ts';
import { loadSettings, type Settings } from '../../src/config/settings.ts';
import type { Audience } from '../../src/errors.ts';
import { writeTinyLlava } from '../../src/onnx/tiny/factory.ts';
import { SHARED_MODELS } from './paths.ts';

/** Settings for tests: offline, shared test models, a private data folder. */
export function testSettings(overrides: Record<string, string> = {}): Settings {
  return loadSettings({
    MYVLM_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'myvlm-data-')),
    MYVLM_CACHE_DIR: mkdtempSync(path.join(tmpdir(), 'myvlm-cache-')),
    MYVLM_MODELS_DIR: SHARED_MODELS,
    MYVLM_OFFLINE: '1',
    MYVLM_FACE_RECOGNIZER: 'mobilefacenet',
    MYVLM_IMAGE_FEATURES: 'mobilenet-v3-small-576',
    MYVLM_THREADS: '1',
    ...overrides,
  });
}

/** The real assistant; `audience` is who reads its replies (a chat, unless a test plays the terminal). */
export async function testAssistant(
  overrides: Record<string, string> = {},
  audience: Audience = 'chat',
): Promise<AssistantRuntime & { settings: Settings }> {
  const settings = testSettings(overrides);
  return { ...(await createAssistant(settings, audience)), settings };
}

/** The real assistant with a tiny generated LLaVA as its VLM (written to a temporary folder). */
export async function testAssistantWithTinyLlava(
  overrides: Record<string, string> = {},
): Promise<AssistantRuntime & { settings: Settings; modelDir: string }> {
  const model = await writeTinyLlava(path.join(mkdtempSync(path.join(tmpdir(), 'myvlm-tiny-')), 'tiny-llava'));
  return { ...(await testAssistant({ MYVLM_VLM: model.dir, ...overrides })), modelDir: model.dir };
}
