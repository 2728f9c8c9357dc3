// The one place ONNX Runtime sessions are created. Sessions are expensive, so
// they are created once per (file, runtime options) and reused; the execution
// provider comes from configuration, with a clear message when it is missing.
import * as ort from 'onnxruntime-node';
import { UserError } from '../errors.ts';
import { moduleLogger } from '../log.ts';

const logger = moduleLogger('session');

export type ExecutionProvider = 'cpu' | 'cuda' | 'webgpu';

export interface RuntimeOptions {
  executionProvider: ExecutionProvider;
  /** Threads inside one operator; 0 lets ONNX Runtime choose (all cores). */
  intraOpThreads: number;
  /** Threads across independent operators; 0 lets ONNX Runtime choose. */
  interOpThreads: number;
}

export const DEFAULT_RUNTIME: RuntimeOptions = { executionProvider: 'cpu', intraOpThreads: 0, interOpThreads: 0 };

const GPU_HINTS: Record<Exclude<ExecutionProvider, 'cpu'>, string> = {
  cuda: 'Reinstall ONNX Runtime with its CUDA 12 libraries: `ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node` (needs an NVIDIA driver, CUDA 12 and cuDNN 9), or set MYVLM_EXECUTION_PROVIDER=cpu.',
  webgpu: 'This ONNX Runtime build has no WebGPU support here; set MYVLM_EXECUTION_PROVIDER=cpu.',
};

/** Checks that the requested provider exists in this ONNX Runtime build. */
export function assertProviderAvailable(provider: ExecutionProvider): void {
  if (provider === 'cpu') return;
  const backends = ort.listSupportedBackends().map((b) => b.name);
  if (!backends.includes(provider)) {
    throw new UserError(`The ${provider} execution provider is not available (this build has: ${backends.join(', ')}). ${GPU_HINTS[provider]}`);
  }
}

function sessionOptions(runtime: RuntimeOptions): ort.InferenceSession.SessionOptions {
  const providers: ort.InferenceSession.ExecutionProviderConfig[] = runtime.executionProvider === 'cpu' ? ['cpu'] : [runtime.executionProvider, 'cpu'];
  return {
    executionProviders: providers,
    graphOptimizationLevel: 'all',
    // Warnings such as a graph's fixed output batch size repeat on every run; errors still show.
    logSeverityLevel: 3,
    ...(runtime.intraOpThreads > 0 ? { intraOpNumThreads: runtime.intraOpThreads } : {}),
    ...(runtime.interOpThreads > 0 ? { interOpNumThreads: runtime.interOpThreads } : {}),
  };
}

/**
 * Creates and caches sessions. One pool per process is enough; `dispose()`
 * releases every session (tests and shutdown).
 */
export class SessionPool {
  private readonly sessions = new Map<string, Promise<ort.InferenceSession>>();

  constructor(readonly runtime: RuntimeOptions = DEFAULT_RUNTIME) {}

  /** The session for an ONNX file, created on first use. */
  get(modelPath: string): Promise<ort.InferenceSession> {
    let session = this.sessions.get(modelPath);
    if (!session) {
      assertProviderAvailable(this.runtime.executionProvider);
      logger.debug({ modelPath, provider: this.runtime.executionProvider }, 'creating session');
      session = ort.InferenceSession.create(modelPath, sessionOptions(this.runtime)).catch((cause: unknown) => {
        this.sessions.delete(modelPath);
        throw new UserError(`Could not load the model file ${modelPath}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
      });
      this.sessions.set(modelPath, session);
    }
    return session;
  }

  async dispose(): Promise<void> {
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(sessions.map(async (s) => (await s).release()));
  }
}

export { ort };
