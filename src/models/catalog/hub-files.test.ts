import { describe, expect, it } from 'vitest';
import { InternalError } from '../../errors.ts';
import { allModels } from '../registry.ts';
import { FACE_DETECTORS } from './faces.ts';
import { IMAGE_FEATURE_EXTRACTORS } from './features.ts';
import { HUB_FILES, hubFacts, hubFile, hubFileMap } from './hub-files.ts';

const INTERLEAVE = ['llava-hf/llava-interleave-qwen-0.5b-hf', '08647831752d66cc51831ff4f2a476de6ba2af9c'] as const;

describe('hub file table', () => {
  it('gives a registry file with the facts, mapping the hub name to the local one', () => {
    expect(
      hubFile('opencv/face_detection_yunet', 'main', 'face_detection_yunet_2023mar.onnx', 'yunet_2023mar_640.onnx'),
    ).toEqual({
      path: 'yunet_2023mar_640.onnx',
      remotePath: 'face_detection_yunet_2023mar.onnx',
      bytes: 232589,
      sha256: '8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4',
    });
    expect(hubFile(...INTERLEAVE, 'onnx/vision_encoder_int8.onnx')).toEqual({
      path: 'onnx/vision_encoder_int8.onnx',
      sha256: '1dc484349699feab4a339613870239b4eea1d8a474123a48127c1712136d2d7a',
    });
    expect(hubFile(...INTERLEAVE, 'processor_config.json')).toEqual({ path: 'processor_config.json', bytes: 172 });
  });

  it('throws for an unknown repository, revision or path, naming it', () => {
    expect(() => hubFile('someone/else', 'main', 'model.onnx')).toThrow(InternalError);
    expect(() => hubFile('someone/else', 'main', 'model.onnx')).toThrow(/no table for repository someone\/else/);
    expect(() => hubFile('opencv/face_detection_yunet', 'v1', 'x.onnx')).toThrow(
      /no table at revision v1 \(known: main\)/,
    );
    expect(() => hubFile(...INTERLEAVE, 'onnx/decoder_model_merged_q8.onnx')).toThrow(
      /has no file onnx\/decoder_model_merged_q8\.onnx/,
    );
  });

  it('lists all eight precisions of each of the three graphs of the LLaVA exports', () => {
    for (const [repo, revisions] of Object.entries(HUB_FILES).filter(([repo]) => repo.startsWith('llava-hf/'))) {
      for (const revision of Object.keys(revisions)) {
        const graphs = Object.keys(hubFileMap(repo, revision, 'onnx/'));
        expect(graphs, `${repo}@${revision}`).toHaveLength(24);
        for (const stem of ['vision_encoder', 'embed_tokens', 'decoder_model_merged']) {
          for (const suffix of ['', '_fp16', '_quantized', '_int8', '_uint8', '_q4', '_q4f16', '_bnb4'])
            expect(graphs).toContain(`onnx/${stem}${suffix}.onnx`);
        }
      }
    }
  });

  it('holds only well-formed facts: 64 lowercase hex digits, positive whole byte counts, no hash given twice', () => {
    const seen = new Map<string, string>();
    for (const [repo, revisions] of Object.entries(HUB_FILES)) {
      for (const [revision, files] of Object.entries(revisions)) {
        for (const [file, facts] of Object.entries(files)) {
          const where = `${repo}@${revision}/${file}`;
          if (facts.sha256 !== undefined) {
            expect(facts.sha256, where).toMatch(/^[0-9a-f]{64}$/);
            // Two files with one hash would mean a fact copied to the wrong line.
            expect(seen.get(facts.sha256), where).toBeUndefined();
            seen.set(facts.sha256, where);
          }
          if (facts.bytes !== undefined) expect(Number.isInteger(facts.bytes) && facts.bytes > 0, where).toBe(true);
        }
      }
    }
    expect(seen.size).toBeGreaterThan(20);
  });
});

describe('registry entries and the table', () => {
  it('every file a hub entry downloads is listed at its pinned revision, and any fact it carries is the table one', () => {
    const hubEntries = allModels().filter((entry) => entry.source.kind === 'hub');
    expect(hubEntries.map((e) => e.id)).toEqual(
      expect.arrayContaining(['yunet-2023mar', 'clip-vit-b32', 'llava-interleave-qwen-0.5b']),
    );
    for (const entry of hubEntries) {
      if (entry.source.kind !== 'hub') continue;
      for (const file of entry.files) {
        const facts = hubFacts(entry.source.repo, entry.source.revision, file.remotePath ?? file.path);
        if (file.sha256 !== undefined) expect(file.sha256, `${entry.id}/${file.path}`).toBe(facts.sha256);
        if (file.bytes !== undefined) expect(file.bytes, `${entry.id}/${file.path}`).toBe(facts.bytes);
      }
    }
  });

  it('the face and image-feature hub entries carry every fact the table has', () => {
    for (const entry of [...FACE_DETECTORS, ...IMAGE_FEATURE_EXTRACTORS]) {
      if (entry.source.kind !== 'hub') continue;
      for (const file of entry.files) {
        const facts = hubFacts(entry.source.repo, entry.source.revision, file.remotePath ?? file.path);
        expect({ bytes: file.bytes, sha256: file.sha256 }, `${entry.id}/${file.path}`).toEqual({
          bytes: facts.bytes,
          sha256: facts.sha256,
        });
        expect(file.sha256, `${entry.id}/${file.path} has no sha256`).toBeDefined();
      }
    }
  });
});
