// The graphs teaching derives from a decoder, as files: the teaching graph
// (loss-graph.ts, per attention direction) and the prefix graph (the decoder
// without its head). Derived once per decoder file, cached under the model
// cache folder, and opened through the process's session pool like every
// other graph. Export folders may be read-only, so nothing is written beside them.
import { createHash } from 'node:crypto';
import { existsSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { moduleLogger } from '../log.ts';
import { OperatorError } from '../errors.ts';
import { editableCopy, writeDerivedModel } from '../onnx/grad/gradient-model.ts';
import type { OnnxModel } from '../onnx/model.ts';
import { readModel } from '../onnx/model-io.ts';
import { buildTeachingModel, type AttentionDirection } from './loss-graph.ts';

const logger = moduleLogger('teach');

/** Bumped whenever the gradient builder, the loss graph or the prefix graph changes, so cached graphs are rebuilt. */
const TEACHING_GRAPH_VERSION = 4;

/** Folder under the cache that holds teaching graphs, one sub-folder per decoder version. */
const TEACHING_CACHE_FOLDER = 'teaching';

/**
 * The file of a graph derived from `decoderFile`, built by `build` when
 * missing, under `cacheDir`. The key covers the decoder's real path, size and
 * modification time and the derivation, so a replaced export gets new
 * graphs. Written atomically (an interrupted build leaves no file), its
 * weights read in place from the decoder file.
 */
async function ensureDerivedGraph(
  decoderFile: string,
  cacheDir: string,
  kind: string,
  build: (decoder: OnnxModel) => OnnxModel,
): Promise<string> {
  const real = realpathSync(decoderFile);
  const stat = statSync(real);
  const key = createHash('sha256')
    .update(JSON.stringify([real, stat.size, stat.mtimeMs, TEACHING_GRAPH_VERSION]))
    .digest('hex')
    .slice(0, 20);
  const file = path.join(cacheDir, TEACHING_CACHE_FOLDER, key, `${path.basename(real, '.onnx')}.${kind}.onnx`);
  if (existsSync(file)) return file;
  const started = Date.now();
  const derived = build(await readModel(real));
  writeDerivedModel(derived, file);
  logger.info(
    { decoder: real, file, nodes: derived.graph.nodes.length, ms: Date.now() - started },
    `built the decoder's ${kind} graph`,
  );
  return file;
}

/** The teaching graph of `decoderFile` (loss-graph.ts) for an attention direction. */
export function ensureTeachingGraph(
  decoderFile: string,
  cacheDir: string,
  direction: AttentionDirection,
): Promise<string> {
  return ensureDerivedGraph(
    decoderFile,
    cacheDir,
    `teach-${direction}`,
    (decoder) => buildTeachingModel(decoder, { direction }).model,
  );
}

/**
 * The decoder without its language-model head: only the key/value cache
 * comes out. A teaching step runs the positions before the concept token
 * through it; the decoder itself would also compute logits for every one of
 * them (sequence x vocabulary floats per photo, 440 MB for 730 positions of
 * a 152,000-token vocabulary) that nothing reads.
 */
export function ensurePrefixGraph(decoderFile: string, cacheDir: string): Promise<string> {
  return ensureDerivedGraph(decoderFile, cacheDir, 'prefix', (decoder) => {
    const copy = editableCopy(decoder);
    const graph = copy.graph;
    const outputs = (graph.proto.output ?? []).filter((o) => o.name?.startsWith('present.'));
    if (outputs.length === 0)
      throw new OperatorError(
        `The decoder ${decoderFile} has no present.* outputs; teaching needs a decoder with a KV cache (decoder_model_merged).`,
      );
    graph.proto.output = outputs;
    graph.pruneUnused();
    return copy;
  });
}
