// Which precision of each graph to open from an export folder: the one asked
// for, or the most exact one present. Answering and teaching both open the
// files chosen here (the file names per precision: src/onnx/layout.ts).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { OperatorError } from '../../errors.ts';
import { graphPath, uniformDtypes, VLM_GRAPHS, type GraphDtypes, type VlmGraph } from '../../onnx/layout.ts';
import { VLM_DTYPES, type VlmDtype } from '../../config/settings.ts';

/** Precisions present in a folder for every one of the three graphs, most exact first. */
export function availableDtypes(dir: string): VlmDtype[] {
  return VLM_DTYPES.filter((dtype) => VLM_GRAPHS.every((graph) => existsSync(path.join(dir, graphPath(graph, dtype)))));
}

/**
 * The precision of each graph to open from a folder: the requested one (all
 * graphs), else per graph the most exact file present. Throws naming what the
 * folder has when the request cannot be met.
 */
export function chooseDtypes(dir: string, requested: VlmDtype | GraphDtypes | null): GraphDtypes {
  if (requested !== null) {
    const wanted = typeof requested === 'string' ? uniformDtypes(requested) : requested;
    const missing = VLM_GRAPHS.map((g) => graphPath(g, wanted[g])).filter((file) => !existsSync(path.join(dir, file)));
    if (missing.length > 0) {
      const present = availableDtypes(dir);
      throw new OperatorError(
        `The model in ${dir} has no ${missing.join(', ')}. ` +
          (present.length > 0
            ? `Precisions it has for all three graphs: ${present.join(', ')}.`
            : 'It has no complete precision variant.'),
      );
    }
    return wanted;
  }
  const pick = (graph: VlmGraph): VlmDtype => {
    const found = VLM_DTYPES.find((dtype) => existsSync(path.join(dir, graphPath(graph, dtype))));
    if (!found)
      throw new OperatorError(
        `The folder ${dir} has no ${graphPath(graph, 'fp32')} (nor a ${VLM_DTYPES.slice(1).join(', ')} variant); is it a transformers.js-layout VLM export?`,
      );
    return found;
  };
  return { visionEncoder: pick('visionEncoder'), embedTokens: pick('embedTokens'), decoder: pick('decoder') };
}

/** "q4" when all graphs agree, else "vision int8, embeddings int8, decoder q4". */
export function describeDtypes(dtypes: GraphDtypes): string {
  if (dtypes.visionEncoder === dtypes.embedTokens && dtypes.embedTokens === dtypes.decoder) return dtypes.decoder;
  return `vision ${dtypes.visionEncoder}, embeddings ${dtypes.embedTokens}, decoder ${dtypes.decoder}`;
}
