// What the Hugging Face hub holds at each pinned revision the registry uses:
// per file, its exact size and sha256 where a stored hub page shows them.
// Catalog entries take their hub files from here, so a typo fails at import.
import { InternalError } from '../../errors.ts';
import { graphPath, VLM_GRAPHS } from '../../onnx/layout.ts';
import { VLM_DTYPES } from '../../config/settings.ts';
import type { ModelFile } from '../entry.ts';

/**
 * Facts about one hub file. `sha256` is the LFS object id the hub shows for
 * large files; small (non-LFS) files have no sha256 on any hub page, so only
 * their exact size is recorded. A missing fact is one no stored page gave:
 * never fill one in by guessing, a wrong hash makes every download fail.
 */
export interface HubFileFacts {
  readonly bytes?: number;
  readonly sha256?: string;
}

type FileTable = Readonly<Record<string, HubFileFacts>>;

/** Every `onnx/<graph><suffix>.onnx` of a three-graph export, facts empty, for tables to fill in. */
function threeGraphExport(): Record<string, HubFileFacts> {
  const files: Record<string, HubFileFacts> = {};
  for (const graph of VLM_GRAPHS) for (const dtype of VLM_DTYPES) files[graphPath(graph, dtype)] = {};
  return files;
}

/**
 * opencv/face_detection_yunet at `main`. Sources:
 * - size and sha256: the Git LFS pointer of the same file in the opencv/opencv_zoo GitHub repository,
 *   models/face_detection_yunet/face_detection_yunet_2023mar.onnx at commit 82b38c8f98e7b52aa171400f3e4c722352d0669f
 *   ("oid sha256:8f2383e4…", "size 232589");
 * - the hub holds it: https://huggingface.co/opencv/face_detection_yunet/tree/main lists face_detection_yunet_2023mar.onnx (233 kB),
 *   and hub copies of it show the same SHA256 (e.g. https://huggingface.co/spaces/sam749/YuNet-face-detection/blob/main/face_detection_yunet_2023mar.onnx).
 * Not pinned to a commit: no stored page gives the full id of a revision that holds the file, and an older
 * one (71b890bf8e9ac2c298051d46c8b70b510cfe2c69) had the ONNX files removed. The sha256 check guards the content.
 */
const YUNET: FileTable = {
  'face_detection_yunet_2023mar.onnx': {
    bytes: 232589,
    sha256: '8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4',
  },
};

/**
 * Xenova/clip-vit-base-patch32 at 4c1807b705b1d015fb032789cc4d221b23025a6f. Sources:
 * - sha256 and that the revision holds the file:
 *   https://huggingface.co/Xenova/clip-vit-base-patch32/blob/4c1807b705b1d015fb032789cc4d221b23025a6f/onnx/vision_model.onnx (352 MB);
 * - exact size: no hub page stored shows it; 351685709 is what several independent public projects pin
 *   beside this very sha256 (found by searching public code for the hash), so it is the size of that LFS object.
 */
const CLIP_VIT_B32: FileTable = {
  'onnx/vision_model.onnx': {
    bytes: 351685709,
    sha256: 'fd6e1402a588279d1723c7534d4bcba5bc0b14b47dfab0e46f8c47b8270d7d40',
  },
};

/**
 * llava-hf/llava-interleave-qwen-0.5b-hf at 08647831752d66cc51831ff4f2a476de6ba2af9c ("Create processor_config.json").
 * Sources:
 * - the file list and exact sizes of the small files:
 *   https://huggingface.co/llava-hf/llava-interleave-qwen-0.5b-hf/tree/08647831752d66cc51831ff4f2a476de6ba2af9c
 *   and .../tree/08647831752d66cc51831ff4f2a476de6ba2af9c/onnx (one commit, 84e7d67 "Upload ONNX weights (#1)");
 *   the 24 graphs are the 72 added lines (24 LFS pointers) of https://huggingface.co/llava-hf/llava-interleave-qwen-0.5b-hf/discussions/1;
 * - config.json's size: https://huggingface.co/llava-hf/llava-interleave-qwen-0.5b-hf/blame/187fe5ebba14c29a67f99fe56f3351b058af3e10/config.json
 *   ("File size: 1,251 Bytes", last changed by 4cf2844, the same commit the pinned tree shows);
 * - each sha256: the file's blob page, .../blob/<rev>/onnx/<file>, at a revision where its last commit is 84e7d67 like
 *   at the pin (revs 08647831…, 187fe5eb…, 6864c655…, main); embed_tokens_uint8.onnx from the byte-identical duplicate
 *   https://huggingface.co/luisresende13/llava-interleave-qwen-0.5b-hf/blob/3a5d5bb816519761a7beec4e46951418be227106/onnx/embed_tokens_uint8.onnx.
 * Missing: the exact size of every graph (pages show "308 MB", never bytes), the sha256 of the small files (git, not LFS),
 * the sizes of tokenizer.json (7.03 MB) and tokenizer_config.json (1.51 kB), and the sha256 of the graphs left empty below,
 * whose blob pages were not stored. No special_tokens_map.json/added_tokens.json is needed by transformers.js, but both exist.
 */
const LLAVA_INTERLEAVE_QWEN_05B: FileTable = {
  'config.json': { bytes: 1251 },
  'generation_config.json': { bytes: 126 },
  'preprocessor_config.json': { bytes: 393 },
  'processor_config.json': { bytes: 172 },
  'chat_template.json': { bytes: 699 },
  'special_tokens_map.json': { bytes: 367 },
  'added_tokens.json': { bytes: 101 },
  'tokenizer.json': {},
  'tokenizer_config.json': {},
  ...threeGraphExport(),
  'onnx/decoder_model_merged.onnx': { sha256: '2cabb6abc10eb031ccad2b9af8aaf3d6d85f03ed483624025e6b547597c8a9e1' },
  'onnx/decoder_model_merged_fp16.onnx': { sha256: '56a413580b17618a2091a25fd0531b2e58921417eae7f8da0d6bf2f4cdc66863' },
  'onnx/decoder_model_merged_uint8.onnx': {
    sha256: '1b865d204c072ec0ba5b96f567e6c2545860d42d467deb738932fa8c955dbdd6',
  },
  'onnx/decoder_model_merged_bnb4.onnx': { sha256: 'f12a8bdc439aadbb877b190d6c914b382f5ab83fceafa0ed543865af718db7b2' },
  'onnx/vision_encoder_fp16.onnx': { sha256: '55306600bdf39741a4e8321d5191d4fe38b711fd9db58ee86eb28849ff797dec' },
  'onnx/vision_encoder_int8.onnx': { sha256: '1dc484349699feab4a339613870239b4eea1d8a474123a48127c1712136d2d7a' },
  'onnx/vision_encoder_q4.onnx': { sha256: 'fd8a1ba9f31090bafbdaa7513f516876d43afd58e216b059c0190821ea970656' },
  'onnx/vision_encoder_bnb4.onnx': { sha256: 'd335e190475f6bda9f0be317941545614c7f1cd50db99de8b94f4d78fcf90dda' },
  'onnx/embed_tokens_uint8.onnx': { sha256: '3ab01b11174eb06975e6b3f42f9f3ed958ea4f41e38a7f60757c4af8e2d8f687' },
  'onnx/embed_tokens_q4f16.onnx': { sha256: '08a57d97c1505251f8579d6579bfbe81cd3a2be2b255ef5f15943000fcd5628a' },
  'onnx/embed_tokens_bnb4.onnx': { sha256: '3adc98e92f4a67ef47b45137c84f0a416c6f3affbd718bb81f10e51b40336f2e' },
};

/**
 * llava-hf/llava-onevision-qwen2-0.5b-ov-hf at 2c9ba3bdda7dd7bc8de92c66da6f448561ddf7c9 ("Fix a typo in README.md (#5)"),
 * Apache-2.0: the permissive candidate to replace llava-interleave (not in the registry yet). Sources:
 * - file list and small-file sizes: https://huggingface.co/llava-hf/llava-onevision-qwen2-0.5b-ov-hf/tree/2c9ba3bdda7dd7bc8de92c66da6f448561ddf7c9
 *   and .../tree/bcef42bc8d54271d2d66b3e92876c3c9b990ad33/onnx (one commit, 66d62be "Upload ONNX weights (#2)", as at the pin);
 * - each sha256: the blob page .../blob/<rev>/onnx/<file> at 2c9ba3bd…, 92e5373a…, bcef42bc…, 66d62be8… or main,
 *   all showing 66d62be as the file's last commit.
 * Missing: every graph's exact size, the small files' sha256, the exact sizes of config.json (2.59 kB),
 * preprocessor_config.json (1.73 kB), tokenizer.json (7.03 MB) and tokenizer_config.json, and the sha256 of the graphs left empty.
 * embed_tokens_int8, vision_encoder (fp32), vision_encoder_quantized and vision_encoder_uint8 were not seen on a stored
 * page; they are listed because the export writes all eight precisions of each graph, as the stored pages show for the rest.
 */
const LLAVA_ONEVISION_QWEN2_05B: FileTable = {
  'config.json': {},
  'generation_config.json': { bytes: 126 },
  'preprocessor_config.json': {},
  'processor_config.json': { bytes: 178 },
  'chat_template.json': { bytes: 826 },
  'special_tokens_map.json': { bytes: 367 },
  'added_tokens.json': { bytes: 122 },
  'tokenizer.json': {},
  'tokenizer_config.json': {},
  ...threeGraphExport(),
  'onnx/decoder_model_merged_fp16.onnx': { sha256: 'be46b9b128a2765cd02dfe0164fba18340920814b5480789b819ffc748215f8f' },
  'onnx/decoder_model_merged_quantized.onnx': {
    sha256: 'cc674946412447fa76df18686c32541b1388c0fa62cbf53c36dccd1a90649c3f',
  },
  'onnx/decoder_model_merged_uint8.onnx': {
    sha256: '39f89681a425c8d55c437f6864080f3795e7c3394f1db334dcc3602ba4ea5046',
  },
  'onnx/decoder_model_merged_q4.onnx': { sha256: '76b912a695768539fd63a155ccf7ee4eeffeb7e82e56d008593c7577ac4e05c8' },
  'onnx/vision_encoder_fp16.onnx': { sha256: '31b66d6b44dd56c7d3a94b6a0414eebb85daa5d07c64c9a149968e1d5b880f66' },
  'onnx/vision_encoder_int8.onnx': { sha256: 'd284a45f927b2dbf8a61622444b1c622275c323d95cbd1d07bd3a38c72caf1bb' },
  'onnx/vision_encoder_q4.onnx': { sha256: '02509d861e604a9501f8a160b87ab1446e6e0d53e514cab483eafa7bacbd37ab' },
  'onnx/vision_encoder_q4f16.onnx': { sha256: 'a921a473839f50aa2cdb09d77e41bcd899dac788489e4d1ff9a05478aac37e08' },
  'onnx/vision_encoder_bnb4.onnx': { sha256: '1b1f4cffc59c992d2af6a6ce0c14d828130ba179e8a7c31080308dcefc4cddd9' },
  'onnx/embed_tokens_quantized.onnx': { sha256: '4b4dec69949d75a775d871c5e1dc3db6bd4fd6e8ceffb3deafe64e8f16a8323d' },
  'onnx/embed_tokens_uint8.onnx': { sha256: '4054003183ee1f97514b34ab1c59ae2a6b54d1162f29a9440caeebbec486bc8a' },
  'onnx/embed_tokens_q4.onnx': { sha256: 'b60e16c36e6b9f66d9768a65bab8285ad5d10ae84954f62f6ed2a952e2334128' },
  'onnx/embed_tokens_q4f16.onnx': { sha256: '8e293817d606044bc377d25639e5f3f1911ddeeba92312e3d9fecf1bb7945367' },
};

/** Repository -> revision -> path -> facts. */
export const HUB_FILES: Readonly<Record<string, Readonly<Record<string, FileTable>>>> = {
  'opencv/face_detection_yunet': { main: YUNET },
  'Xenova/clip-vit-base-patch32': { '4c1807b705b1d015fb032789cc4d221b23025a6f': CLIP_VIT_B32 },
  'llava-hf/llava-interleave-qwen-0.5b-hf': { '08647831752d66cc51831ff4f2a476de6ba2af9c': LLAVA_INTERLEAVE_QWEN_05B },
  'llava-hf/llava-onevision-qwen2-0.5b-ov-hf': {
    '2c9ba3bdda7dd7bc8de92c66da6f448561ddf7c9': LLAVA_ONEVISION_QWEN2_05B,
  },
};

// The catalog asks only for files it lists: a miss is a mistake in the catalog's own code.
function revisionTable(repo: string, revision: string): FileTable {
  const revisions = HUB_FILES[repo];
  if (!revisions) throw new InternalError(`hub-files: no table for repository ${repo}`);
  const files = revisions[revision];
  if (!files)
    throw new InternalError(
      `hub-files: ${repo} has no table at revision ${revision} (known: ${Object.keys(revisions).join(', ')})`,
    );
  return files;
}

/** The facts of one hub file; throws for a repository, revision or path the table does not list. */
export function hubFacts(repo: string, revision: string, remotePath: string): HubFileFacts {
  const facts = revisionTable(repo, revision)[remotePath];
  if (!facts) throw new InternalError(`hub-files: ${repo}@${revision} has no file ${remotePath}`);
  return facts;
}

/**
 * A registry file taken from the hub table: `remotePath` as the hub names it,
 * `localPath` where it goes in the model's folder (default: the same).
 */
export function hubFile(repo: string, revision: string, remotePath: string, localPath: string = remotePath): ModelFile {
  const facts = hubFacts(repo, revision, remotePath);
  return {
    path: localPath,
    ...(localPath === remotePath ? {} : { remotePath }),
    ...(facts.bytes === undefined ? {} : { bytes: facts.bytes }),
    ...(facts.sha256 === undefined ? {} : { sha256: facts.sha256 }),
  };
}

/**
 * Every file the table lists for a repository at a revision, as registry files
 * keyed by hub path, optionally only those under a folder (`onnx/`): what a
 * VLM entry's per-precision graph lookup needs.
 */
export function hubFileMap(repo: string, revision: string, under = ''): Record<string, ModelFile> {
  const paths = Object.keys(revisionTable(repo, revision)).filter((p) => p.startsWith(under));
  return Object.fromEntries(paths.map((p) => [p, hubFile(repo, revision, p)]));
}
