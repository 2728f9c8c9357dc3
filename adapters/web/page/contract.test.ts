import { describe, expect, it } from 'vitest';
import {
  ContractError,
  errorText,
  parseAnswerText,
  parseConcepts,
  parseNotice,
  parseStatus,
  parseTurnReply,
} from './contract.ts';

const JPEG = 'data:image/jpeg;base64,/9j/4AAQ';

describe('the page reads what the server sends', () => {
  it('reads a reply with its images', () => {
    expect(parseTurnReply({ text: 'I see Anna.', images: [{ dataUrl: JPEG, alt: 'Anna, marked' }] })).toEqual({
      text: 'I see Anna.',
      images: [{ dataUrl: JPEG, alt: 'Anna, marked' }],
    });
    expect(parseTurnReply({ text: 'Hello' })).toEqual({ text: 'Hello', images: [] });
  });

  it('refuses a reply image that would make the page fetch from elsewhere', () => {
    expect(() => parseTurnReply({ text: '', images: [{ dataUrl: 'https://evil.example/x.jpg', alt: '' }] })).toThrow(
      /not an inline image/,
    );
    expect(() => parseTurnReply({ text: '', images: [{ dataUrl: 'data:text/html;base64,PGI+', alt: '' }] })).toThrow(
      ContractError,
    );
  });

  it('refuses answers of the wrong shape with a ContractError', () => {
    expect(() => parseTurnReply(null)).toThrow(ContractError);
    expect(() => parseTurnReply({ text: 3, images: [] })).toThrow('the reply text is not text');
    expect(() => parseAnswerText({ text: ['no'] })).toThrow(ContractError);
    expect(parseAnswerText({ text: 'Forgot Anna.' })).toBe('Forgot Anna.');
  });

  it('reads the gallery, keeping names as text and photos on this server', () => {
    const concepts = parseConcepts({
      concepts: [
        {
          id: 'c1',
          name: '<img src=x onerror=alert(1)>',
          kind: 'person',
          facts: ['loves horses'],
          photos: [{ sha256: 'ab', url: '/api/concepts/c1/photos/ab' }],
          learned: true,
        },
        { id: 'c2', name: 'Rex', kind: 'object', facts: [], photos: [], learned: false },
      ],
    });
    expect(concepts).toEqual([
      {
        id: 'c1',
        name: '<img src=x onerror=alert(1)>',
        kind: 'person',
        facts: ['loves horses'],
        photos: [{ sha256: 'ab', url: '/api/concepts/c1/photos/ab' }],
        learned: true,
      },
      { id: 'c2', name: 'Rex', kind: 'object', facts: [], photos: [], learned: false },
    ]);
    expect(() =>
      parseConcepts({
        concepts: [{ id: 'c', name: 'A', kind: 'person', facts: [], photos: [{ sha256: 'a', url: 'https://x/y' }] }],
      }),
    ).toThrow(/not served here/);
    expect(() => parseConcepts({ concepts: [{ id: 'c', name: 'A', kind: 'robot' }] })).toThrow(/unknown kind/);
  });

  it('reads notices and statuses', () => {
    expect(
      parseNotice({
        scope: 'web:local',
        key: 'job1',
        text: 'Learning Rex: step 25 of 100',
        step: { at: 25, of: 100 },
        done: false,
      }),
    ).toEqual({
      key: 'job1',
      text: 'Learning Rex: step 25 of 100',
      step: { at: 25, of: 100 },
      done: false,
    });
    expect(parseNotice({ key: 'job1', text: 'Learned Rex.', done: true })).toEqual({
      key: 'job1',
      text: 'Learned Rex.',
      done: true,
    });
    expect(parseStatus({ turnId: 't1', text: 'Looking…', progress: 0.5 })).toEqual({
      turnId: 't1',
      text: 'Looking…',
      progress: 0.5,
    });
    expect(parseStatus({ turnId: 't1', text: 'A dog', draft: true })).toEqual({
      turnId: 't1',
      text: 'A dog',
      draft: true,
    });
    expect(() => parseStatus({ turnId: 't1', text: 'x', progress: 'half' })).toThrow(ContractError);
  });

  it('finds the message of an error answer', () => {
    expect(errorText({ error: 'A message takes at most 10 photos.' })).toBe('A message takes at most 10 photos.');
    expect(errorText({ error: '' })).toBeNull();
    expect(errorText('Payload Too Large')).toBeNull();
  });
});
