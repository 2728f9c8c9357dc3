// Token sequences for teaching and for asking, built from the model's own
// chat template so that training sees exactly the prompt layout inference
// uses: `USER: <image>\n{instruction} ASSISTANT: {target}</s>` for LLaVA.
// The single image placeholder is expanded to one position per image row
// plus one per concept row; the concept rows come right after the image.
import { UserError } from '../errors.ts';
import { EMBEDDING_TRAINING } from '../config/defaults.ts';

/** The slice of a transformers.js tokenizer this module uses. */
export interface ChatTokenizer {
  apply_chat_template(conversation: unknown[], options: { add_generation_prompt?: boolean; tokenize: false }): unknown;
  encode(text: string): number[];
  decode(ids: readonly number[], options?: { skip_special_tokens?: boolean }): string;
}

/** One training sequence: ids, next-token labels aligned with them, and where the concept sits. */
export interface TokenizedExample {
  inputIds: number[];
  /** Same length as inputIds: the answer's token ids where they are, EMBEDDING_TRAINING.ignoreLabel elsewhere. */
  labels: number[];
  /** Index of the first concept position (right after the image rows); -1 without concepts. */
  conceptPosition: number;
}

/** Builds prompts and training sequences for one model's tokenizer and image size. */
export class ChatTokens {
  private readonly cache = new Map<string, TokenizedExample>();

  constructor(
    readonly tokenizer: ChatTokenizer,
    /** Token id of the image placeholder. */
    readonly imageTokenId: number,
    /** Image-feature rows per image (before concept rows). */
    readonly imageRows: number,
  ) {}

  private userMessage(instruction: string, withImage: boolean): unknown {
    return { role: 'user', content: [...(withImage ? [{ type: 'image' }] : []), { type: 'text', text: instruction }] };
  }

  private expand(ids: number[], conceptRows: number): { ids: number[]; conceptPosition: number } {
    const at = ids.indexOf(this.imageTokenId);
    if (at < 0) return { ids, conceptPosition: -1 };
    if (ids.indexOf(this.imageTokenId, at + 1) >= 0) throw new UserError('A teaching prompt may hold one image only.');
    const rows = this.imageRows + conceptRows;
    const expanded = [...ids.slice(0, at), ...new Array<number>(rows).fill(this.imageTokenId), ...ids.slice(at + 1)];
    return { ids: expanded, conceptPosition: conceptRows > 0 ? at + this.imageRows : -1 };
  }

  /** Prompt ids ending where the assistant's answer starts (image placeholders expanded). */
  promptIds(instruction: string, options: { withImage?: boolean; conceptRows?: number } = {}): { ids: number[]; conceptPosition: number } {
    const text = this.tokenizer.apply_chat_template([this.userMessage(instruction, options.withImage ?? true)], { add_generation_prompt: true, tokenize: false });
    if (typeof text !== 'string') throw new UserError("The model's chat template did not produce text.");
    return this.expand(this.tokenizer.encode(text), options.conceptRows ?? 0);
  }

  /**
   * The full sequence of `instruction` answered by `target`, labels on the
   * answer tokens only (end-of-sequence included), with `conceptRows` concept
   * positions after the image.
   */
  example(instruction: string, target: string, conceptRows = 1): TokenizedExample {
    const key = `${conceptRows}\u0000${instruction}\u0000${target}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    const user = this.userMessage(instruction, true);
    const promptText = this.tokenizer.apply_chat_template([user], { add_generation_prompt: true, tokenize: false });
    const fullText = this.tokenizer.apply_chat_template([user, { role: 'assistant', content: [{ type: 'text', text: target }] }], { tokenize: false });
    if (typeof promptText !== 'string' || typeof fullText !== 'string') throw new UserError("The model's chat template did not produce text.");
    const prompt = this.tokenizer.encode(promptText);
    const full = this.tokenizer.encode(fullText);
    const prefixHolds = prompt.every((id, i) => full[i] === id);
    if (!prefixHolds || full.length <= prompt.length) {
      throw new UserError(`The chat template does not put the answer after the prompt for target "${target}"; cannot mask the prompt.`);
    }
    const ignore = EMBEDDING_TRAINING.ignoreLabel;
    const { ids, conceptPosition } = this.expand(full, conceptRows);
    const answerStart = ids.length - (full.length - prompt.length);
    const labels = ids.map((id, i) => (i >= answerStart ? id : ignore));
    const example = { inputIds: ids, labels, conceptPosition };
    this.cache.set(key, example);
    return example;
  }

  /** Text of generated ids without special tokens. */
  decode(ids: readonly number[]): string {
    return this.tokenizer.decode(ids, { skip_special_tokens: true }).trim();
  }
}
