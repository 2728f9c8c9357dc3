// The Assistant's notices: every lesson update becomes one notice of the
// lesson's scope, keyed by its job, with the status sentence adapters show
// and `done` on the last one. The adapter tests run it with a real lesson.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { KeyvConceptStore } from '../memory/keyv-store.ts';
import { describeUpdate, type JobUpdate } from '../teach/job-updates.ts';
import { Assistant, lessonNotice } from './assistant.ts';

const job = { jobId: 'job-1', scope: 'telegram:chat:42', conceptId: 'c1', modelId: 'llava-tiny', name: 'Rex' } as const;
const notice = (update: JobUpdate) => lessonNotice(update, describeUpdate(update));

describe('lessonNotice', () => {
  it('keys a lesson by its job in its scope and carries the status sentence', () => {
    expect(notice({ ...job, state: 'queued' })).toEqual({
      scope: 'telegram:chat:42',
      key: 'job-1',
      text: 'Learning Rex: about to start…',
      done: false,
    });
    expect(notice({ ...job, state: 'preparing', stage: 'model' })).toEqual({
      scope: 'telegram:chat:42',
      key: 'job-1',
      text: 'Learning Rex: loading the model…',
      done: false,
    });
  });

  it('gives training its step', () => {
    expect(notice({ ...job, state: 'training', step: 25, steps: 100, loss: 0.8412 })).toEqual({
      scope: 'telegram:chat:42',
      key: 'job-1',
      text: 'Learning Rex: step 25 of 100 (loss 0.841)',
      step: { at: 25, of: 100 },
      done: false,
    });
  });

  it('ends with done for a finished, failed or stopped lesson', () => {
    expect(notice({ ...job, state: 'done', steps: 100, finalLoss: 0.2 })).toMatchObject({
      text: 'Learned how to talk about Rex.',
      done: true,
    });
    expect(notice({ ...job, state: 'failed', message: 'the photo is too small', actor: 'user' })).toMatchObject({
      text: 'I could not finish learning to talk about Rex: the photo is too small',
      done: true,
    });
    expect(notice({ ...job, state: 'cancelled' })).toMatchObject({ text: 'Stopped learning Rex.', done: true });
    expect(notice({ ...job, state: 'cancelled' }).step).toBeUndefined();
  });

  it('tells a chat who must act on a failed lesson, without the paths and settings meant for the operator', () => {
    const operator = notice({
      ...job,
      state: 'failed',
      message: 'Cannot read config.json of the model in /srv/models/llava.',
      actor: 'operator',
      hint: 'Set MYVLM_VLM to a model folder.',
    });
    expect(operator).toMatchObject({
      text: 'I could not finish learning to talk about Rex: something on my side needs the attention of whoever runs me.',
      done: true,
    });
    expect(operator.text).not.toMatch(/srv|MYVLM_VLM|config\.json/);
    expect(notice({ ...job, state: 'failed', message: 'x is undefined', actor: 'developer' })).toMatchObject({
      text: 'I could not finish learning to talk about Rex.',
      done: true,
    });
  });
});

describe('Assistant.onNotice', () => {
  it('has nothing to say without lessons, and unsubscribing is harmless', async () => {
    const store = await KeyvConceptStore.open({ directory: mkdtempSync(path.join(tmpdir(), 'myvlm-notices-')) });
    try {
      const assistant = new Assistant({
        store,
        heads: null,
        imageLimits: { maxBytes: 1024, maxPixels: 1024 },
        lessons: null,
      });
      const seen: unknown[] = [];
      const unsubscribe = assistant.onNotice((n) => seen.push(n));
      const reply = await assistant.handle({
        scope: 'test:notices',
        user: 'test:me',
        isScopeAdmin: true,
        text: '/concepts',
        images: [],
      });
      expect(reply.text.length).toBeGreaterThan(0);
      unsubscribe();
      expect(seen).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
