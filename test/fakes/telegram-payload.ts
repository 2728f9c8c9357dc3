// How the fake Bot API reads requests and shapes messages like Telegram:
// payloads as JSON, multipart (files resolved from attach://) or query
// string, and the entities Telegram computes for a message text.
import type { IncomingMessage } from 'node:http';
import type { MessageEntity } from 'grammy/types';
import { parseMultipart, readBody } from './http.ts';

/** The entities Telegram computes for a text: a leading bot command and @mentions. */
export function entitiesOf(text: string): MessageEntity[] {
  const entities: MessageEntity[] = [];
  const command = /^\/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?/.exec(text);
  if (command) entities.push({ type: 'bot_command', offset: 0, length: command[0].length });
  for (const match of text.matchAll(/(^|[^\w/])(@[A-Za-z0-9_]{5,32})/g)) {
    entities.push({ type: 'mention', offset: (match.index ?? 0) + match[1].length, length: match[2].length });
  }
  return entities;
}

/** JSON bodies, multipart forms (files resolved from attach://) and query strings, as the Bot API accepts them. */
export async function readPayload(req: IncomingMessage, url: URL): Promise<Record<string, unknown>> {
  const payload: Record<string, unknown> = Object.fromEntries(url.searchParams);
  const body = await readBody(req);
  const type = req.headers['content-type'] ?? '';
  if (body.length === 0) return payload;
  if (type.includes('application/json'))
    return { ...payload, ...(JSON.parse(body.toString('utf8')) as Record<string, unknown>) };
  if (type.includes('multipart/form-data')) {
    const parts = parseMultipart(body, type);
    const files = new Map(parts.filter((p) => p.filename !== null).map((p) => [p.name, p.data]));
    for (const part of parts.filter((p) => p.filename === null)) {
      const value = part.data.toString('utf8');
      const attached = value.startsWith('attach://') ? files.get(value.slice('attach://'.length)) : undefined;
      payload[part.name] = attached ?? parseField(value);
    }
    return payload;
  }
  if (type.includes('application/x-www-form-urlencoded'))
    return { ...payload, ...Object.fromEntries(new URLSearchParams(body.toString('utf8'))) };
  return payload;
}

function parseField(value: string): unknown {
  if (value === 'true' || value === 'false' || /^[[{]/.test(value)) {
    try {
      return JSON.parse(value);
    } catch {
      return value;
    }
  }
  return value;
}
