import { describe, expect, it } from 'vitest';
import { KeyedLock } from './keyed-lock.ts';

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

describe('KeyedLock', () => {
  it('runs tasks on one key one at a time, in arrival order, past failures', async () => {
    const lock = new KeyedLock();
    const events: string[] = [];
    const task = (name: string, fail = false) =>
      lock.run('k', async () => {
        events.push(`${name} start`);
        await tick();
        events.push(`${name} end`);
        if (fail) throw new Error(name);
        return name;
      });
    const results = await Promise.allSettled([task('a'), task('b', true), task('c')]);
    expect(events).toEqual(['a start', 'a end', 'b start', 'b end', 'c start', 'c end']);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });

  it('lets different keys overlap, and idle() waits for all', async () => {
    const lock = new KeyedLock();
    const events: string[] = [];
    const task = (key: string) =>
      lock.run(key, async () => {
        events.push(`${key} start`);
        await tick();
        events.push(`${key} end`);
      });
    void task('x');
    void task('y');
    await lock.idle();
    expect(events.slice(0, 2)).toEqual(['x start', 'y start']);
    expect(events).toHaveLength(4);
  });
});
