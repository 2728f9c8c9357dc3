// What the page receives from the server (the HTTP contract of
// adapters/web), checked on arrival: the page trusts no shape it did not
// check, and a server that changed its answers fails here with a plain
// message instead of drawing "undefined" on screen.

/** An image of a reply, as a data: URL with its alt text. */
export interface ReplyImage {
  dataUrl: string;
  alt: string;
}

/** The answer to POST /api/turn. */
export interface TurnReply {
  text: string;
  images: ReplyImage[];
}

export interface ConceptPhoto {
  sha256: string;
  url: string;
}

/** One concept of the scope, from GET /api/concepts. */
export interface ConceptCard {
  id: string;
  name: string;
  kind: 'person' | 'object';
  facts: string[];
  photos: ConceptPhoto[];
  /** The configured vision-language model has learned it (false without one). */
  learned: boolean;
}

/** News of background work (the core's Notice), from the `notice` event. */
export interface LessonNotice {
  key: string;
  text: string;
  step?: { at: number; of: number };
  done: boolean;
}

/** Progress of a turn in flight, from the `status` event. */
export interface TurnStatus {
  turnId: string;
  text: string;
  /** 0..1 when the work knows how far it is. */
  progress?: number;
  /** The answer so far, while a model writes it: it replaces the status, never adds a line. */
  draft?: true;
}

/** The server answered something the page cannot read: a bug, or a page older than the server. */
export class ContractError extends Error {
  override name = 'ContractError';
}

type Fields = Record<string, unknown>;

function fields(value: unknown, what: string): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ContractError(`${what} is not an object`);
  return value as Fields;
}

function text(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new ContractError(`${what} is not text`);
  return value;
}

function list(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new ContractError(`${what} is not a list`);
  return value;
}

function count(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new ContractError(`${what} is not a number`);
  return value;
}

export function parseTurnReply(value: unknown): TurnReply {
  const reply = fields(value, 'the reply');
  return {
    text: text(reply.text, 'the reply text'),
    images: list(reply.images ?? [], 'the reply images').map((item, i) => {
      const image = fields(item, `image ${i + 1}`);
      const dataUrl = text(image.dataUrl, `image ${i + 1}'s data`);
      // Only inline images: a reply must not make the page fetch anything from elsewhere.
      if (!/^data:image\/(jpeg|png|webp|gif);base64,/.test(dataUrl))
        throw new ContractError(`image ${i + 1} is not an inline image`);
      return { dataUrl, alt: text(image.alt, `image ${i + 1}'s alt text`) };
    }),
  };
}

/** The answer to forget and rename: the core's reply text. */
export function parseAnswerText(value: unknown): string {
  return text(fields(value, 'the answer').text, 'the answer text');
}

export function parseConcepts(value: unknown): ConceptCard[] {
  const body = fields(value, 'the concept list');
  return list(body.concepts, 'the concepts').map((item, i) => {
    const concept = fields(item, `concept ${i + 1}`);
    const kind = concept.kind;
    if (kind !== 'person' && kind !== 'object') throw new ContractError(`concept ${i + 1} has an unknown kind`);
    return {
      id: text(concept.id, `concept ${i + 1}'s id`),
      name: text(concept.name, `concept ${i + 1}'s name`),
      kind,
      facts: list(concept.facts ?? [], `concept ${i + 1}'s facts`).map((fact) =>
        text(fact, `a fact of concept ${i + 1}`),
      ),
      photos: list(concept.photos ?? [], `concept ${i + 1}'s photos`).map((entry) => {
        const photo = fields(entry, `a photo of concept ${i + 1}`);
        const url = text(photo.url, `a photo address of concept ${i + 1}`);
        // Thumbnails come from this server's own concept routes, never from a URL someone could have planted.
        if (!url.startsWith('/api/concepts/'))
          throw new ContractError(`a photo of concept ${i + 1} is not served here`);
        return { sha256: text(photo.sha256, `a photo hash of concept ${i + 1}`), url };
      }),
      learned: concept.learned === true,
    };
  });
}

export function parseNotice(value: unknown): LessonNotice {
  const notice = fields(value, 'the notice');
  const parsed: LessonNotice = {
    key: text(notice.key, 'the notice key'),
    text: text(notice.text, 'the notice text'),
    done: notice.done === true,
  };
  if (notice.step !== undefined) {
    const step = fields(notice.step, 'the notice step');
    parsed.step = { at: count(step.at, 'the step'), of: count(step.of, 'the step count') };
  }
  return parsed;
}

export function parseStatus(value: unknown): TurnStatus {
  const status = fields(value, 'the status');
  const parsed: TurnStatus = { turnId: text(status.turnId, 'the turn id'), text: text(status.text, 'the status text') };
  if (status.progress !== undefined) parsed.progress = count(status.progress, 'the progress');
  if (status.draft === true) parsed.draft = true;
  return parsed;
}

/** The plain message of an error answer ({ error }), or null when the body has none. */
export function errorText(value: unknown): string | null {
  if (typeof value !== 'object' || value === null) return null;
  const message = (value as Fields).error;
  return typeof message === 'string' && message.trim() !== '' ? message : null;
}
