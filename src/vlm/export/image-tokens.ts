// How many image placeholders a photo takes in the prompt, the way the
// model's own processor counts them: patches of the processed image, plus
// `num_additional_image_tokens` (the class token), minus one when strategy
// "default" drops it again. LLaVA-1.5 gives 576 (24 x 24 + 1 - 1), SigLIP
// towers 729 (27 x 27). The vision encoder's output is checked against it.

/** The processor's count for a processed image of the given size, or null when the export does not say enough. */
export function imageTokenCount(
  config: Record<string, unknown>,
  processorConfig: Record<string, unknown>,
  pixelHeight: number,
  pixelWidth: number,
): number | null {
  const vision = (config.vision_config ?? {}) as Record<string, unknown>;
  const count = (patch: unknown, strategy: unknown, additional: unknown): number | null => {
    if (typeof patch !== 'number' || !(patch > 0)) return null;
    const extra = typeof additional === 'number' ? additional : 0;
    return Math.floor(pixelHeight / patch) * Math.floor(pixelWidth / patch) + extra - (strategy === 'default' ? 1 : 0);
  };
  // A processor config with a patch size counts exactly as Hugging Face's LlavaProcessor does.
  if (typeof processorConfig.patch_size === 'number') {
    return count(
      processorConfig.patch_size,
      processorConfig.vision_feature_select_strategy,
      processorConfig.num_additional_image_tokens,
    );
  }
  if (typeof config.image_seq_length === 'number') return config.image_seq_length;
  // Older exports: the strategy lives in config.json, and "default" means a class token to drop.
  const strategy = config.vision_feature_select_strategy;
  return count(vision.patch_size, strategy, strategy === 'default' ? 1 : 0);
}
