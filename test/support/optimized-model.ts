// What ONNX Runtime really keeps of a model: creates a session the way the
// project's session pool does (graphOptimizationLevel 'all'), has it write
// its optimized graph, and lists the float initializers that optimization
// added (constant folding writes a folded value as a new initializer).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { readModel } from '../../src/onnx/model-io.ts';
import type { OnnxModel } from '../../src/onnx/model.ts';
import { DataType, tensorDims } from '../../src/onnx/tensor.ts';

const FLOAT_TYPES = new Set<number>([DataType.FLOAT, DataType.FLOAT16, DataType.DOUBLE, DataType.BFLOAT16]);

/** A float initializer of the optimized model that the source model did not have. */
export interface AddedInitializer {
  name: string;
  dims: number[];
  elements: number;
}

/**
 * The float initializers with at least `minElements` elements in the model
 * ORT optimizes at session creation that are not initializers of `model`
 * (a transposed or dequantized copy of a weight would be one).
 */
export async function addedFloatInitializers(model: OnnxModel, minElements: number): Promise<AddedInitializer[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'myvlm-optimized-'));
  try {
    const file = path.join(dir, 'optimized.onnx');
    const session = await ort.InferenceSession.create(model.toBytes(), {
      graphOptimizationLevel: 'all',
      optimizedModelFilePath: file,
      logSeverityLevel: 3,
    });
    await session.release();
    const optimized = await readModel(file);
    const before = new Set(model.graph.initializers.map((t) => t.name ?? ''));
    return optimized.graph.initializers
      .filter((t) => FLOAT_TYPES.has(t.dataType ?? 0) && !before.has(t.name ?? ''))
      .map((t) => ({ name: t.name ?? '', dims: tensorDims(t), elements: tensorDims(t).reduce((a, b) => a * b, 1) }))
      .filter((t) => t.elements >= minElements);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
