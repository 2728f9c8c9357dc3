// The teaching graph of a decoder as a file: derived once per decoder file,
// precision and attention direction (loss-graph.ts), cached under the model
// cache folder, and opened through the process's session pool like every
// other graph. Export folders may be read-only, so nothing is written beside them.
import { createHash } from 'node:crypto';
import { existsSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { moduleLogger } from '../log.ts';
import { writeGradientModel } from '../onnx/grad/gradient-model.ts';
import { readModel } from '../onnx/model-io.ts';
import { buildTeachingModel, type AttentionDirection } from './loss-graph.ts';

const logger = moduleLogger('teach');

/** Bumped whenever the gradient builder or the loss graph changes, so cached teaching graphs are rebuilt. */
const TEACHING_GRAPH_VERSION = 4;

/** Folder under the cache that holds teaching graphs, one sub-folder per decoder version. */
const TEACHING_CACHE_FOLDER = 'teaching';

/**
 * The teaching graph file of `decoderFile` under `cacheDir`, built when
 * missing. The key covers the decoder's real path, size and modification
 * time, so a replaced export gets a new graph. Written atomically: an
 * interrupted build leaves no file.
 */
export async function ensureTeachingGraph(decoderFile: string, cacheDir: string, direction: AttentionDirection): Promise<string> {
  const real = realpathSync(decoderFile);
  const stat = statSync(real);
  const key = createHash('sha256').update(JSON.stringify([real, stat.size, stat.mtimeMs, TEACHING_GRAPH_VERSION, direction])).digest('hex').slice(0, 20);
  const file = path.join(cacheDir, TEACHING_CACHE_FOLDER, key, `${path.basename(real, '.onnx')}.teach-${direction}.onnx`);
  if (existsSync(file)) return file;
  const started = Date.now();
  const decoder = await readModel(real);
  const teaching = buildTeachingModel(decoder, { direction });
  writeGradientModel(teaching.model, file);
  logger.info({ decoder: real, file, nodes: teaching.model.graph.nodes.length, layers: teaching.attentionLayers, ms: Date.now() - started }, 'built teaching graph');
  return file;
}
