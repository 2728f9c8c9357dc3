// The pacing of an edited-in-place message: late first post, only the latest
// text, throttled edits, waiting for the answer it must not overtake, and a
// settle that drops what was never shown.
import { describe, expect, it } from 'vitest';
import { EditedMessage, type MessageSink } from './edited-message.ts';

/** A platform that records what it was asked to show, and when. */
class RecordingSink implements MessageSink {
  readonly calls: Array<{ kind: 'send' | 'edit' | 'remove'; text: string; at: number }> = [];
  failNext = false;
  send(text: string): Promise<void> {
    this.record('send', text);
    return Promise.resolve();
  }
  edit(text: string): Promise<void> {
    this.record('edit', text);
    return Promise.resolve();
  }
  remove(): Promise<void> {
    this.record('remove', '');
    return Promise.resolve();
  }
  private record(kind: 'send' | 'edit' | 'remove', text: string): void {
    if (this.failNext) {
      this.failNext = false;
      throw new Error(`${kind} refused`);
    }
    this.calls.push({ kind, text, at: Date.now() });
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('EditedMessage', () => {
  it('posts after the first delay with the latest text, then edits at most once per interval', async () => {
    const sink = new RecordingSink();
    const message = new EditedMessage(sink, { intervalMs: 120, firstDelayMs: 40, onError: () => {} });
    message.update('step 1');
    message.update('step 2');
    await sleep(80);
    expect(sink.calls.map((c) => [c.kind, c.text])).toEqual([['send', 'step 2']]);
    expect(message.isPosted).toBe(true);
    // A burst of updates becomes one edit with the latest text, no sooner than one interval after the post.
    for (let step = 3; step <= 8; step++) message.update(`step ${step}`);
    await sleep(150);
    message.update('step 9');
    await sleep(150);
    expect(sink.calls.map((c) => [c.kind, c.text])).toEqual([
      ['send', 'step 2'],
      ['edit', 'step 8'],
      ['edit', 'step 9'],
    ]);
    for (let i = 1; i < sink.calls.length; i++)
      expect(sink.calls[i].at - sink.calls[i - 1].at).toBeGreaterThanOrEqual(115);
  });

  it('does not post before `after` settles, even when it fails', async () => {
    const sink = new RecordingSink();
    let release: () => void = () => {};
    const answer = new Promise<void>((_resolve, reject) => (release = () => reject(new Error('the turn failed'))));
    const message = new EditedMessage(sink, { intervalMs: 50, firstDelayMs: 0, after: answer, onError: () => {} });
    message.update('Learning Rex: waiting…');
    await sleep(60);
    expect(sink.calls).toEqual([]);
    release();
    await sleep(20);
    expect(sink.calls.map((c) => c.text)).toEqual(['Learning Rex: waiting…']);
  });

  it('settle drops a message not yet posted and sends a pending edit at once', async () => {
    const quick = new RecordingSink();
    const unposted = new EditedMessage(quick, { intervalMs: 50, firstDelayMs: 1_000, onError: () => {} });
    unposted.update('Looking at the photo…');
    await unposted.settle();
    await sleep(20);
    expect(quick.calls).toEqual([]);

    const slow = new RecordingSink();
    const posted = new EditedMessage(slow, { intervalMs: 10_000, firstDelayMs: 0, onError: () => {} });
    posted.update('step 1');
    await sleep(20);
    posted.update('step 2');
    const started = Date.now();
    await posted.settle();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(slow.calls.map((c) => [c.kind, c.text])).toEqual([
      ['send', 'step 1'],
      ['edit', 'step 2'],
    ]);
  });

  it('reports a failed edit and keeps showing later texts', async () => {
    const sink = new RecordingSink();
    const errors: unknown[] = [];
    const message = new EditedMessage(sink, { intervalMs: 20, firstDelayMs: 0, onError: (e) => errors.push(e) });
    message.update('step 1');
    await sleep(10);
    sink.failNext = true;
    message.update('step 2');
    await sleep(40);
    message.update('done');
    await sleep(40);
    expect(errors.map((e) => (e as Error).message)).toEqual(['edit refused']);
    expect(sink.calls.map((c) => c.text)).toEqual(['step 1', 'done']);
  });

  it('remove deletes a posted message, never posts one not yet posted, and ignores later updates', async () => {
    const sink = new RecordingSink();
    const posted = new EditedMessage(sink, { intervalMs: 10_000, firstDelayMs: 0, onError: () => {} });
    posted.update("Learning Obama's face…");
    await sleep(20);
    posted.update('step 2');
    await posted.remove();
    posted.update('step 3');
    await sleep(20);
    expect(sink.calls.map((c) => [c.kind, c.text])).toEqual([
      ['send', "Learning Obama's face…"],
      ['remove', ''],
    ]);

    const quick = new RecordingSink();
    const unposted = new EditedMessage(quick, { intervalMs: 50, firstDelayMs: 1_000, onError: () => {} });
    unposted.update('Looking at the photo…');
    await unposted.remove();
    await sleep(20);
    expect(quick.calls).toEqual([]);
  });

  it('edits a message a previous run posted, without posting a new one', async () => {
    const sink = new RecordingSink();
    const message = new EditedMessage(sink, {
      intervalMs: 10,
      firstDelayMs: 1_000,
      shown: 'Learning Rex: step 33 of 100',
      onError: () => {},
    });
    expect(message.isPosted).toBe(true);
    message.update('Learning Rex: step 33 of 100');
    message.update('Learning Rex: step 34 of 100');
    await sleep(30);
    expect(sink.calls.map((c) => [c.kind, c.text])).toEqual([['edit', 'Learning Rex: step 34 of 100']]);
  });
});
