// Every number of the method, named and documented in one place.
// Sources: ../shared/design/ALGORITHM.md (the paper, Alaluf et al., ECCV 2024,
// and the authors' public code where the two differ). Nothing else in the code
// base should hold one of these as a literal.

/** Face concept head (ALGORITHM.md section 2, "People"). */
export const FACE = {
  /** Side of the aligned face crop fed to the recognizer (ArcFace template). */
  alignedSize: 112,
  /** Teaching photos per person used by the paper (1 to 4). */
  maxTeachingPhotos: 4,
  /**
   * The paper's cosine-distance threshold, 0.675 (similarity >= 0.325). It
   * belongs to InsightFace buffalo_l (ArcFace R50) only; each recognizer
   * carries its own measured threshold in the model registry.
   */
  arcfaceBuffaloLDistanceThreshold: 0.675,
  /**
   * dlib's ResNet (registry id dlib-resnet-v1), the default recognizer:
   * permissive and installed with the npm packages. Its numbers were chosen
   * on the calibration half of ../shared/data/faces (photos split by content
   * hash) and reported on the other half; docs/faces.md has the tables.
   */
  dlibResnet: {
    /** Cosine similarity at or above which a face matches a key. */
    threshold: 0.93,
    thresholdEvidence:
      'Chosen on the calibration half of ../shared/data/faces (photos split by content hash; 4 shots, seeds 1-5): ' +
      'the best recall whose FPR with each person taught alone is at most 1% (0.93: recall 95.1%, alone FPR 0.17%). ' +
      'On the report half, taught from the calibration half: recall 98.7%, FPR 0.30%, alone FPR 0.77%. ' +
      'Reproduce with `myvlm eval faces ../shared/data/faces --recognizer dlib-resnet-v1 --repeats 5 --sweep`; docs/faces.md has the tables.',
    /**
     * A teaching photo less similar than this to the rest of its lesson shows
     * someone else (registry `someoneElseBelow`; see `facesOfSomeoneElse`).
     */
    someoneElseBelow: 0.91,
    someoneElseEvidence:
      'The largest bound (steps of 0.01) that refuses at most 5% of honest lessons on the calibration half of ../shared/data/faces ' +
      '(single-face photos split by content hash, as for the threshold; 2000 lessons per size, mean over 2-4 photos): ' +
      'honest lessons of 2/3/4 photos refused 4.5/1.5/0.8%, lessons with one photo of someone else caught 98.1/94.0/92.9%; ' +
      'held-out half: 1.1/0.0/0.0% refused, 97.5/92.3/92.0% caught. Different people score 0.85 (median pair), ' +
      'so no share of the 0.93 threshold would do. Reproduce with `npm run bench -- teaching-checks`.',
    /** Average each face's embedding with its mirror image's. */
    flipAverage: true,
    /** Smallest face (shorter box side, photo pixels) matched or taught. */
    minFaceSize: 24,
    /**
     * Per-person thresholds (`personThresholds`; off unless MYVLM_FACE_THRESHOLDS=per-person): how far below 0.93 a
     * person may be matched, and the margin kept over the nearest other person's keys. The choice lowers nothing
     * that matters: no rule gains recall on the calibration half while keeping the FPR in scopes of two under 1%.
     */
    perPerson: { maxLowering: 0.01, margin: 0.1 },
    perPersonEvidence:
      'Chosen on the calibration half of ../shared/data/faces (4 shots, seeds 1-5, at threshold 0.93, 480 rules): the best recall ' +
      'with FPR <= 0.5%, taught-alone FPR <= 1% and FPR in scopes of two people <= 1%; every rule that gains recall fails the last ' +
      '(lower by 0.02, margin 0: calibration recall 96.1% against 95.1%, but 5.4% FPR in pairs on the report half against 0.73%), ' +
      'so the most careful rule of the best recall is kept: recall 95.1%, FPR 0.06%, in pairs 0.17%. Report half: the global figures ' +
      '(recall 98.7%, FPR 0.30%, in pairs 0.73%). Reproduce with `myvlm eval faces ../shared/data/faces --recognizer dlib-resnet-v1 ' +
      '--repeats 5 --sweep`; docs/faces.md, "Per-person thresholds".',
  },
  /** MobileFaceNet (registry id mobilefacenet, tests and evaluation only): its per-person threshold rule. */
  mobileFaceNet: {
    perPerson: { maxLowering: 0.18, margin: 0 },
    perPersonEvidence:
      'Chosen on the calibration half of ../shared/data/faces (4 shots, seeds 1-5, at threshold 0.475, 480 rules): the best recall ' +
      'with FPR <= 0.5%, taught-alone FPR <= 1% and FPR in scopes of two people <= 1% (calibration recall 95.8%, FPR 0.04%, ' +
      'in pairs 0.85%). Report half: recall 98.3% against 83.4% at the global threshold, FPR 0.02%, taught alone 0.00%, ' +
      'in pairs 0.75% against 0.00%. Reproduce with `myvlm eval faces ../shared/data/faces --recognizer mobilefacenet ' +
      '--repeats 5 --sweep`; docs/faces.md, "Per-person thresholds".',
  },
  /** Paper figures for the head (16 people), for reports. */
  paper: { recall: 0.9639, falsePositiveRate: 0.0233, missRate: 0.0128 },
  /**
   * Unknown faces, grouped by person when a chat turns `/settings
   * remember-faces on` (src/heads/face/clusters.ts). Immich's facial
   * recognition defaults are the anchor: a person is proposed once seen in
   * 3 faces (`minFaces`), and faces within cosine distance 0.5 of each other
   * (`maxDistance`, on InsightFace buffalo_l) belong together.
   */
  unknownFaces: {
    /** /who lists a cluster once it was seen in this many distinct photos (Immich's minFaces). */
    minPhotos: 3,
    /**
     * Per recognizer: a face joins a cluster when its cosine similarity to the
     * cluster's nearest key reaches this. A recognizer not listed uses its
     * matching threshold (registry `threshold`).
     */
    joinSimilarity: { 'dlib-resnet-v1': 0.93, mobilefacenet: 0.34, 'arcface-r50-buffalo-l': 0.5 },
    joinSimilarityEvidence:
      'dlib-resnet-v1 and mobilefacenet: the lowest similarity (steps of 0.01) whose listed clusters are at least 99% pure in each of ' +
      '5 shuffled orders of the calibration half of ../shared/data/faces (one-face photos split by content hash, nobody taught). ' +
      'Held-out half (92 faces, 11 people), median (min-max) over 5 orders: dlib 0.93 purity 98.9% (95.6-100%), 1.00 (1.00-1.09) ' +
      'clusters per person, 97.8% of faces in their own listed cluster; mobilefacenet 0.34 purity 100% (98.8-100%), 1.00 clusters ' +
      "per person, 95.7%. arcface-r50-buffalo-l: Immich's maxDistance 0.5, not measured here (its files cannot be shipped). " +
      'Reproduce with `npm run bench -- face-clusters`.',
    /** Face embeddings kept per cluster: its most typical ones (a person taught from it gets them as face keys). */
    keysPerCluster: 8,
    /** Photo hashes remembered per cluster, so a photo sent again is not counted again. */
    recentPhotos: 100,
    /** Clusters a chat keeps at most; past it, those seen in the fewest photos go first. */
    maxClusters: 200,
    /** Longest side of the face crop kept per cluster and shown by /who, in pixels. */
    thumbnailSide: 96,
  },
} as const;

/** Object concept head: linear classifier over image features (section 2, "Objects"). */
export const OBJECT_HEAD = {
  /** Output classes of the linear layer: D -> 2 (negative, positive). */
  classes: 2,
  /** The concept fires when p(positive) >= this. */
  threshold: 0.5,
  /** Positive photos the paper trains on. */
  shots: 4,
  /** About this many same-category negatives per concept in the paper. */
  paperNegatives: 150,
  /** Share of negatives held out for validation. */
  validationShare: 0.5,
  batchSize: 16,
  learningRate: 1e-3,
  weightDecay: 0.01,
  steps: 500,
  /** Cosine annealing ends at this learning rate. */
  minLearningRate: 5e-6,
  gradientClipNorm: 0.1,
  flipProbability: 0.5,
  /** Random rotation in [-maxRotationDegrees, +maxRotationDegrees]. */
  maxRotationDegrees: 30,
  /** AdamW betas and epsilon (PyTorch defaults, as the authors' code uses). */
  adamBeta1: 0.9,
  adamBeta2: 0.999,
  adamEpsilon: 1e-8,
  /** Paper figures (29 objects): 226/234 positives, 95,724/105,328 negatives. */
  paper: { recall: 0.9658, negativeAccuracy: 0.9088 },
} as const;

/**
 * Region scoring of object heads (issue 16; not in the paper, which scores
 * whole photos with a ViT-H): the whole photo plus grids of overlapping
 * regions, a multiple-instance head trained on them, and a photo's score the
 * best region's. Chosen on the calibration half of ../shared/data/myvlm with
 * MobileNetV3-Small (docs/objects.md, "Regions"): recall at the threshold
 * rejecting 90% of calibration negatives 0.720 with grid 2 against 0.711 with
 * grids 2 and 3 (both pooled from the feature map) and 0.649 for whole photos;
 * 9 more crops of a half (0.786 encoded as crops) cost 10 times a whole photo.
 */
export const OBJECT_REGIONS = {
  /** Grid sizes: 2 gives 4 regions of 2/3 of the photo's side (with the whole photo, 5 regions); 3 would add 9 of 1/2. */
  grids: [2],
  /** Rounds of re-choosing each teaching photo's positive region after the whole-photo round. */
  milRounds: 2,
} as const;

/** Where and how the concept embedding enters the VLM (section 3). */
export const INJECTION = {
  /** Tokens appended per firing concept. */
  tokensPerConcept: 1,
} as const;

/** Concept-embedding optimization (section 4). */
export const EMBEDDING_TRAINING = {
  /** Initialization: uniform in [0, initHigh), then normalized. */
  initLow: 0,
  initHigh: 1,
  learningRate: 1.0,
  weightDecay: 1e-4,
  gradientClipNorm: 0.05,
  /** Paper: 75 for objects on BLIP-2; MiniGPT-v2 code: 200. */
  steps: 100,
  /** All (up to this many) teaching photos form one batch per step. */
  maxPhotosPerStep: 4,
  checkpointEvery: 25,
  adamBeta1: 0.9,
  adamBeta2: 0.999,
  adamEpsilon: 1e-8,
  augmentation: {
    flipProbability: 0.5,
    brightnessMin: 0.4,
    brightnessMax: 1.6,
    maxRotationDegrees: 45,
  },
  /** Target captions per teaching image (1 written or generated + 4 paraphrases). */
  captionsPerImage: 5,
  /** Cross-entropy ignores label positions with this value (prompt and image tokens). */
  ignoreLabel: -100,
  /**
   * Attention regularization weight per family and task (the authors' code);
   * the paper's text says 0.25 for LLaVA.
   */
  attentionLambda: {
    blip2: 0.04,
    llavaCaptioning: 0.0075,
    llavaVqa: 10.0,
    minigptV2: 1.0,
  },
  /**
   * Which attention entries are regularized: the concept token's row (the
   * code, LLaVA and MiniGPT-v2) or its column (the paper's description).
   */
  attentionDirection: 'row' as 'row' | 'column',
  /** Identifier used for objects and VQA in the paper. */
  defaultObjectIdentifier: 'sks',
  /** Paper ablation (BLIP-2, 10 concepts, recall %), for reports. */
  paperAblation: { none: 25.88, regularizationOnly: 72.77, both: 84.87 },
} as const;

/** Answering (section 5). */
export const GENERATION = {
  llava: { temperature: 0.2, topP: 0.7, maxNewTokens: 512, sample: true },
  minigptV2: { temperature: 1.0, topP: 1.0, maxNewTokens: 128, sample: false },
  blip2: { temperature: 1.0, topP: 1.0, maxNewTokens: 512, sample: false },
  /** MiniGPT-v2 REC boxes live on a 0..100 grid; Qwen2-VL-style ones on 0..1000. */
  minigptBoxGrid: 100,
  qwenBoxGrid: 1000,
} as const;

/**
 * Remembered facts in answers (not from the paper: MyVLM's concept tokens
 * carry looks, not facts). Bounded so that a long list of facts cannot crowd
 * the photo and the question out of a small model's prompt, or a reply.
 */
export const FACTS_IN_ANSWERS = {
  /** Facts per concept given in a prompt or beside a recognition: the newest, as a later fact may correct an earlier one. */
  maxFactsPerConcept: 5,
  /** Longest fact in a prompt, in characters (a stored fact may hold 300); a longer one is cut and ends in "…". */
  maxPromptFactChars: 160,
} as const;

/** Evaluation protocol (section 6). */
export const EVALUATION = {
  folds: 5,
  trainImagesPerFold: 4,
  /** Headline recall of the paper (%), for comparison in reports. */
  paperRecall: { llava: 95.97, llavaObjects: 94.76, llavaPeople: 97.08, blip2: 87.11, llmGuidedBaseline: 46.23 },
  paperRecallByShots: { 1: 88.93, 2: 92.88, 4: 95.97 },
  /**
   * The paper's standard captioning metrics for LLaVA (supplementary Table 4,
   * 4 training photos, 5 folds, against the 5 augmented captions): the
   * vanilla model and MyVLM, objects and people.
   */
  paperCaptionMetrics: {
    objects: {
      vanilla: { bleu1: 0.26, bleu2: 0.15, bleu3: 0.09, bleu4: 0.05, cider: 0.15, meteor: 0.16, rougeL: 0.27 },
      myvlm: { bleu1: 0.36, bleu2: 0.26, bleu3: 0.19, bleu4: 0.13, cider: 0.73, meteor: 0.26, rougeL: 0.44 },
    },
    people: {
      vanilla: { bleu1: 0.27, bleu2: 0.14, bleu3: 0.08, bleu4: 0.04, cider: 0.18, meteor: 0.11, rougeL: 0.24 },
      myvlm: { bleu1: 0.28, bleu2: 0.19, bleu3: 0.13, bleu4: 0.09, cider: 0.39, meteor: 0.18, rougeL: 0.34 },
    },
  },
  /**
   * Below this BLEU-1 of the vanilla model's captions (or answers) against the
   * references, an evaluation says its numbers measure nothing: the model does
   * not caption (random weights, as the replicas have). Not a paper number: the
   * paper's vanilla LLaVA scores 0.26 and BLIP-2 0.63-0.69 (Table 4); a tenth
   * is far below any captioner and above what unrelated text reaches.
   */
  trainedVanillaBleu1Floor: 0.1,
  /** Longest personalized caption or answer in the evaluation, in tokens (captions are one sentence). */
  maxAnswerTokens: 32,
} as const;

/**
 * How long a stopping process (SIGTERM or SIGINT) waits for the turns in
 * progress before it closes memory and exits anyway. Not a paper number: an
 * answer on a CPU takes seconds and a /teach hands its lesson to the
 * background (which resumes after a restart), so a minute covers a slow turn.
 * Container platforms kill after their own grace period (Docker 10 s,
 * Kubernetes 30 s by default): set theirs above this (docker-compose.yml does).
 */
export const SHUTDOWN_GRACE_SECONDS = 60;

/**
 * Lessons on a BullMQ queue (MYVLM_QUEUE_URL). Not paper numbers: operating
 * settings. A crash is retried once and the second sets the lesson aside,
 * as in-process lessons do (CRASHES_BEFORE_SET_ASIDE in teach/job-folders.ts).
 */
export const LESSON_QUEUE = {
  /** BullMQ queue name. */
  name: 'myvlm-lessons',
  /** Runs of a lesson that may end in a crash before it is quarantined (BullMQ `attempts`, and stalls allowed + 1). */
  attempts: 2,
  /** First retry delay after a crash the worker saw; doubles per attempt (BullMQ exponential `backoff`). */
  backoffMs: 1_000,
  /**
   * How long a worker's hold on a lesson lasts without renewal (BullMQ
   * `lockDuration`; the stalled check runs as often): a SIGKILLed worker's
   * lesson is retried elsewhere within about twice this. BullMQ's default;
   * the lesson trains in a worker thread, so renewals never wait on a step.
   */
  stallMs: 30_000,
  /** How often a worker checks whether its lesson was cancelled (between steps). */
  cancelPollMs: 250,
  /** How long `/forget` waits for a running lesson on a worker to stop before it answers anyway. */
  cancelWaitMs: 15_000,
} as const;
