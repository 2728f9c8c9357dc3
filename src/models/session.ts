// The one place ONNX Runtime sessions are created. Sessions are expensive, so
// they are created once per (file, runtime options) and reused; the execution
// provider comes from configuration, with a clear message when it is missing.
import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import type { ExecutionProvider } from '../config/settings.ts';
import { OperatorError } from '../errors.ts';
import { moduleLogger } from '../log.ts';
import { decodeModel, encodeModel } from '../onnx/proto.ts';

const logger = moduleLogger('session');

export interface RuntimeOptions {
  executionProvider: ExecutionProvider;
  /** Threads inside one operator; 0 lets ONNX Runtime choose (all cores). */
  intraOpThreads: number;
  /** Threads across independent operators; 0 lets ONNX Runtime choose. */
  interOpThreads: number;
}

export const DEFAULT_RUNTIME: RuntimeOptions = { executionProvider: 'cpu', intraOpThreads: 0, interOpThreads: 0 };

const GPU_HINTS: Record<Exclude<ExecutionProvider, 'cpu'>, string> = {
  cuda:
    'Reinstall ONNX Runtime with its CUDA 12 libraries: `ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node` ' +
    '(needs an NVIDIA driver, CUDA 12 and cuDNN 9), or set MYVLM_EXECUTION_PROVIDER=cpu.',
  webgpu: 'This ONNX Runtime build has no WebGPU support here; set MYVLM_EXECUTION_PROVIDER=cpu.',
};

/** Checks that the requested provider exists in this ONNX Runtime build. */
export function assertProviderAvailable(provider: ExecutionProvider): void {
  if (provider === 'cpu') return;
  const backends = ort.listSupportedBackends().map((b) => b.name);
  if (!backends.includes(provider)) {
    throw new OperatorError(
      `The ${provider} execution provider is not available (this build has: ${backends.join(', ')}).`,
      { hint: GPU_HINTS[provider] },
    );
  }
}

/** How one graph's session is made, beyond the process-wide runtime options. */
export interface GraphOptions {
  /** 'all' (default) for models in production precisions, 'basic' for float64 graphs (see src/onnx/runtime.ts). */
  optimization?: 'basic' | 'all';
  /**
   * ONNX Runtime keeps a prepacked copy of float MatMul weights for speed
   * (default true). A teaching graph of a float decoder also reads the
   * original weights in its backward pass, so prepacking would hold every
   * weight twice; it turns prepacking off.
   */
  prepacking?: boolean;
  /**
   * ONNX Runtime's CPU memory arena keeps every block it ever allocated
   * (default true: fast for the many small tensors of decoding). A teaching
   * graph allocates large, short-lived activations for its backward pass;
   * without the arena they are returned as they die (a full-size q4 lesson
   * step peaked at 5.9 GB instead of 10.2 GB, at the same speed).
   */
  arena?: boolean;
  /**
   * Inner tensors to fetch as well as the graph's own outputs (an image
   * encoder's map before its pooling, for region features): added to the
   * graph's outputs in memory; the file is left as it is.
   */
  extraOutputs?: readonly string[];
}

/** Session options for a runtime and one graph: what every session of the process is created with. */
export function sessionOptions(runtime: RuntimeOptions, graph: GraphOptions = {}): ort.InferenceSession.SessionOptions {
  const providers: ort.InferenceSession.ExecutionProviderConfig[] =
    runtime.executionProvider === 'cpu' ? ['cpu'] : [runtime.executionProvider, 'cpu'];
  return {
    executionProviders: providers,
    graphOptimizationLevel: graph.optimization ?? 'all',
    ...(graph.prepacking === false ? { extra: { session: { disable_prepacking: '1' } } } : {}),
    ...(graph.arena === false ? { enableCpuMemArena: false } : {}),
    // Warnings such as a graph's fixed output batch size repeat on every run; errors still show.
    logSeverityLevel: 3,
    ...(runtime.intraOpThreads > 0 ? { intraOpNumThreads: runtime.intraOpThreads } : {}),
    ...(runtime.interOpThreads > 0 ? { interOpNumThreads: runtime.interOpThreads } : {}),
  };
}

/** The model's bytes with `names` appended to its graph's outputs (their types are inferred when the session loads). */
function withOutputs(bytes: Uint8Array, modelPath: string, names: readonly string[]): Uint8Array {
  const model = decodeModel(bytes, modelPath);
  const graph = model.graph ?? {};
  graph.output = [...(graph.output ?? []), ...names.map((name) => ({ name }))];
  return encodeModel({ ...model, graph });
}

/**
 * Creates and caches sessions. One pool per process is enough; `dispose()`
 * releases every session (tests and shutdown).
 */
export class SessionPool {
  private readonly sessions = new Map<string, Promise<ort.InferenceSession>>();

  constructor(readonly runtime: RuntimeOptions = DEFAULT_RUNTIME) {}

  /** The session for an ONNX file, created on first use. */
  get(modelPath: string, graph: GraphOptions = {}): Promise<ort.InferenceSession> {
    const extra = graph.extraOutputs ?? [];
    const key = `${graph.optimization ?? 'all'}/${graph.prepacking ?? true}/${graph.arena ?? true}/${extra.join(',')}:${modelPath}`;
    let session = this.sessions.get(key);
    if (!session) {
      assertProviderAvailable(this.runtime.executionProvider);
      logger.debug({ modelPath, provider: this.runtime.executionProvider, ...graph }, 'creating session');
      const created =
        extra.length === 0
          ? ort.InferenceSession.create(modelPath, sessionOptions(this.runtime, graph))
          : readFile(modelPath).then((bytes) =>
              ort.InferenceSession.create(withOutputs(bytes, modelPath, extra), sessionOptions(this.runtime, graph)),
            );
      session = created.catch((cause: unknown) => {
        this.sessions.delete(key);
        const detail = cause instanceof Error ? cause.message : String(cause);
        const provider = this.runtime.executionProvider;
        // A build that lists a GPU provider whose libraries were never installed (ONNXRUNTIME_NODE_INSTALL=skip) fails only here.
        if (provider !== 'cpu' && /Failed to load (shared )?library|providers_|AppendExecutionProvider/.test(detail)) {
          throw new OperatorError(
            `The ${provider} execution provider is not available here: ONNX Runtime could not load its libraries.`,
            { cause, hint: GPU_HINTS[provider] },
          );
        }
        throw new OperatorError(`Could not load the model file ${modelPath}: ${detail}`, {
          cause,
          hint:
            'The file is damaged or not an ONNX model this ONNX Runtime can run: ' +
            'download or export the model again (`npx myvlm models fetch <id>` for a registry model).',
        });
      });
      this.sessions.set(key, session);
    }
    return session;
  }

  /** Releases the sessions of one file (a lesson's teaching graph when the lesson ends). */
  async release(modelPath: string): Promise<void> {
    const keys = [...this.sessions.keys()].filter((k) => k.slice(k.indexOf(':') + 1) === modelPath);
    const sessions = keys.map((k) => this.sessions.get(k) as Promise<ort.InferenceSession>);
    for (const k of keys) this.sessions.delete(k);
    await Promise.all(sessions.map(async (s) => (await s.catch(() => null))?.release()));
  }

  async dispose(): Promise<void> {
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(sessions.map(async (s) => (await s).release()));
  }
}

export { ort };
