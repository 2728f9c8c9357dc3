// The one prompt renderer of a model, shared by answering and teaching: the
// model's own chat template (or its family's layout where it has none), the
// image placeholder expanded to one position per image row and per concept
// row, and for teaching the answer's tokens as labels. Built once per model.
import { EMBEDDING_TRAINING } from '../../config/defaults.ts';
import { InternalError, OperatorError } from '../../errors.ts';
import type { VlmFamily } from '../families.ts';
import type { ChatTemplate } from './chat-template.ts';

/** The slice of a transformers.js tokenizer the renderer uses. */
export interface PromptTokenizer {
  apply_chat_template(
    conversation: unknown[],
    options: { chat_template?: string; add_generation_prompt?: boolean; tokenize: false },
  ): unknown;
  encode(text: string, options?: { add_special_tokens?: boolean }): number[];
  decode(ids: number[], options?: { skip_special_tokens?: boolean }): string;
  readonly bos_token?: string | null;
}

/** How a conversation is written: through the template with typed content parts, through it with plain text, or with the family's layout. */
export type PromptStyle = 'template-parts' | 'template-text' | 'family';

/** A rendered prompt, ready for the decoder. */
export interface RenderedPrompt {
  /** The prompt as text, with one image placeholder (what the user's logs and tests see). */
  text: string;
  /** Token ids with the placeholder expanded to image rows plus concept rows. */
  ids: number[];
  /** Index of the first concept row; -1 without concept rows or image. */
  conceptPosition: number;
}

/** One training sequence: ids, labels aligned with them, and where the concept sits. */
export interface TokenizedExample extends RenderedPrompt {
  /** Same length as ids: the answer's token ids (its stop token included) where they are, the ignore label elsewhere. */
  labels: number[];
}

/** What a renderer is built from. */
export interface PromptRendererParts {
  tokenizer: PromptTokenizer;
  family: VlmFamily;
  /** The export's own template, or null to use the family's layout. */
  template: ChatTemplate | null;
  /** Token id of the image placeholder. */
  imageTokenId: number;
  /** Image-feature rows per photo (the placeholder's expansion before concept rows). */
  imageRows: number;
  /** Tokens that end an answer (the model's eos and the family's end-of-turn markers). */
  stopTokenIds: readonly number[];
}

const PROBE = 'Describe the probe.';

/** Renders prompts and training sequences for one model. */
export class PromptRenderer {
  readonly style: PromptStyle;
  private readonly stops: Set<number>;
  private rows: number;
  private readonly examples = new Map<string, TokenizedExample>();

  constructor(private readonly parts: PromptRendererParts) {
    this.stops = new Set(parts.stopTokenIds);
    this.rows = parts.imageRows;
    if (this.stops.size === 0)
      throw new OperatorError(
        `The ${parts.family.label} model names no end-of-sequence token; answers and teaching targets need one.`,
      );
    this.style = parts.template ? this.detectStyle(parts.template) : 'family';
  }

  /** Where the template came from: a file of the export, or the family's built-in layout. */
  get templateSource(): string {
    return this.parts.template && this.style !== 'family'
      ? this.parts.template.source
      : `${this.parts.family.id} family layout`;
  }

  /** Placeholders per photo before concept rows. */
  get imageRows(): number {
    return this.rows;
  }

  /**
   * Takes the vision encoder's own row count when the processor configuration
   * counted differently (a stale processor_config.json): the prompt needs one
   * placeholder per feature row, whatever the configuration says.
   */
  adoptImageRows(rows: number): void {
    this.rows = rows;
    this.examples.clear();
  }

  /** The prompt that asks `instruction` about a photo (or about nothing, `withImage` false), ending where the answer starts. */
  prompt(instruction: string, options: { withImage?: boolean; conceptRows?: number } = {}): RenderedPrompt {
    const withImage = options.withImage ?? true;
    const text = this.render([this.user(instruction, withImage)], true);
    return { text, ...this.expand(this.encode(text), withImage ? (options.conceptRows ?? 0) : 0) };
  }

  /**
   * `instruction` answered by `target`: labels on the answer and its stop
   * token only. The answer ends at the template's own end-of-turn token when
   * it writes one; otherwise trailing whitespace is dropped and the model's
   * end-of-sequence token is appended, so the model learns to stop.
   */
  example(instruction: string, target: string, conceptRows = 1): TokenizedExample {
    const key = `${conceptRows}\u0000${instruction}\u0000${target}`;
    const hit = this.examples.get(key);
    if (hit) return hit;
    // Targets are the user's caption or the model's own words, never empty (see teach/targets.ts).
    if (target.trim() === '') throw new InternalError('A teaching target must not be empty.');
    const user = this.user(instruction, true);
    const promptText = this.render([user], true);
    const prompt = this.encode(promptText);
    const full = this.encode(this.render([user, this.assistant(target)], false));
    if (full.length <= prompt.length || !prompt.every((id, i) => full[i] === id)) {
      throw new OperatorError(
        `The chat template (${this.templateSource}) does not put the answer after the prompt for the target "${target}", so the prompt cannot be masked out.`,
      );
    }
    const answer = this.endAnswer(full.slice(prompt.length));
    const ignore = EMBEDDING_TRAINING.ignoreLabel;
    const { ids, conceptPosition } = this.expand([...prompt, ...answer], conceptRows);
    const answerStart = ids.length - answer.length;
    const example: TokenizedExample = {
      text: promptText,
      ids,
      conceptPosition,
      labels: ids.map((id, i) => (i >= answerStart ? id : ignore)),
    };
    this.examples.set(key, example);
    return example;
  }

  /** Text of generated ids (special tokens dropped unless `raw`). */
  decode(ids: readonly number[], raw = false): string {
    return this.parts.tokenizer.decode([...ids], { skip_special_tokens: !raw }).trim();
  }

  /** The tokens that end an answer (the model's eos and the family's end-of-turn markers). */
  get stopTokenIds(): readonly number[] {
    return this.parts.stopTokenIds;
  }

  private endAnswer(tokens: number[]): number[] {
    const stop = tokens.findIndex((id) => this.stops.has(id));
    if (stop >= 0) return tokens.slice(0, stop + 1);
    let end = tokens.length;
    while (end > 0 && this.parts.tokenizer.decode([tokens[end - 1]]).trim() === '') end--;
    return [...tokens.slice(0, end), this.parts.stopTokenIds[0]];
  }

  /** The user's turn as the chosen style writes it. */
  private user(instruction: string, withImage: boolean): unknown {
    if (this.style === 'template-parts')
      return {
        role: 'user',
        content: [...(withImage ? [{ type: 'image' }] : []), { type: 'text', text: instruction }],
      };
    return { role: 'user', content: this.contentText(instruction, withImage) };
  }

  private assistant(target: string): unknown {
    return { role: 'assistant', content: this.style === 'template-parts' ? [{ type: 'text', text: target }] : target };
  }

  /** The family's layout of a user message: `<image>\n{text}` for LLaVA. */
  private contentText(instruction: string, withImage: boolean): string {
    const layout = withImage ? this.parts.family.content : '{text}';
    return layout.replace('{image}', this.parts.family.imageToken).replace('{text}', () => instruction);
  }

  private render(messages: unknown[], generationPrompt: boolean): string {
    if (this.style === 'family') {
      const [user, assistant] = messages as [{ content: string }, { content: string } | undefined];
      const prompt = this.parts.family.template.replace('{content}', () => user.content);
      return assistant ? `${prompt}${this.parts.family.answerPrefix}${assistant.content}` : prompt;
    }
    const text = this.parts.tokenizer.apply_chat_template(messages, {
      chat_template: this.parts.template?.text,
      add_generation_prompt: generationPrompt,
      tokenize: false,
    });
    if (typeof text !== 'string')
      throw new OperatorError(`The chat template (${this.templateSource}) did not produce text.`);
    return text;
  }

  /** Typed content parts when the template places the image itself, else plain text with the family's placeholder. */
  private detectStyle(template: ChatTemplate): PromptStyle {
    const token = this.parts.family.imageToken;
    const placesImage = (content: unknown): boolean => {
      try {
        const text = this.parts.tokenizer.apply_chat_template([{ role: 'user', content }], {
          chat_template: template.text,
          add_generation_prompt: true,
          tokenize: false,
        });
        return typeof text === 'string' && text.includes(PROBE) && text.split(token).length === 2;
      } catch {
        return false;
      }
    };
    if (placesImage([{ type: 'image' }, { type: 'text', text: PROBE }])) return 'template-parts';
    if (placesImage(this.contentText(PROBE, true))) return 'template-text';
    throw new OperatorError(
      `The chat template in ${template.source} writes neither typed image parts nor plain text with ${token}; it cannot hold a photo.`,
    );
  }

  /** Tokenizes as the model's processor does: special tokens added unless the template already wrote the bos token. */
  private encode(text: string): number[] {
    const bos = this.parts.tokenizer.bos_token;
    return this.parts.tokenizer.encode(text, { add_special_tokens: !(bos && text.startsWith(bos)) });
  }

  private expand(ids: number[], conceptRows: number): { ids: number[]; conceptPosition: number } {
    const { imageTokenId } = this.parts;
    const imageRows = this.rows;
    const at = ids.indexOf(imageTokenId);
    if (at < 0) return { ids, conceptPosition: -1 };
    // User text reaches prompts without image placeholders (sanitizeUserText): a second one is the code's.
    if (ids.indexOf(imageTokenId, at + 1) >= 0) throw new InternalError('A prompt may hold one photo only.');
    const expanded = [
      ...ids.slice(0, at),
      ...new Array<number>(imageRows + conceptRows).fill(imageTokenId),
      ...ids.slice(at + 1),
    ];
    return { ids: expanded, conceptPosition: conceptRows > 0 ? at + imageRows : -1 };
  }
}
