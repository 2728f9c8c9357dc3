// The model's own chat template, wherever its export keeps it. llava-hf
// repositories keep the multimodal one in chat_template.json (older saves) or
// chat_template.jinja (processor.save_pretrained today) or processor_config.json,
// while tokenizer_config.json often holds only the language model's text
// template; transformers.js reads only the last, so the search order lives here.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { OperatorError } from '../../errors.ts';

/** A chat template and the file it came from. */
export interface ChatTemplate {
  /** Jinja source. */
  text: string;
  /** File name inside the export folder, for messages and tests. */
  source: string;
}

/** Where exports keep a chat template, multimodal ones first. */
const SOURCES: ReadonlyArray<{ file: string; read: (raw: string) => unknown }> = [
  { file: 'chat_template.jinja', read: (raw) => raw },
  { file: 'chat_template.json', read: (raw) => (JSON.parse(raw) as { chat_template?: unknown }).chat_template },
  { file: 'processor_config.json', read: (raw) => (JSON.parse(raw) as { chat_template?: unknown }).chat_template },
  { file: 'tokenizer_config.json', read: (raw) => (JSON.parse(raw) as { chat_template?: unknown }).chat_template },
];

/** A template field: a string, or tokenizer_config's list of named templates (the "default" one). */
function templateText(value: unknown): string | null {
  if (typeof value === 'string' && value.trim() !== '') return value;
  if (Array.isArray(value)) {
    const named = value.find((t: { name?: unknown }) => t?.name === 'default') as { template?: unknown } | undefined;
    return typeof named?.template === 'string' ? named.template : null;
  }
  return null;
}

/** The first chat template found in an export folder, or null when it has none. */
export async function readChatTemplate(dir: string): Promise<ChatTemplate | null> {
  for (const { file, read } of SOURCES) {
    let raw: string;
    try {
      raw = await readFile(path.join(dir, file), 'utf8');
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new OperatorError(`Cannot read ${file} of the model in ${dir}.`, { cause });
    }
    let text: string | null;
    try {
      text = templateText(read(raw));
    } catch (cause) {
      throw new OperatorError(`${file} of the model in ${dir} is not valid JSON.`, { cause });
    }
    if (text) return { text, source: file };
  }
  return null;
}
