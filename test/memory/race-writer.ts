// A child process for two-processes.test.ts: opens the store at a URL and
// writes one concept, racing a sibling process doing the same. It waits for
// "go" on stdin so both start together, then prints one JSON line of what it
// did.
//   modify <n>: n `modify` calls, each adding a fact.
//   update <n>: n read-then-`update` cycles, each adding a fact, re-reading after every ConflictError.
//   stale:      one `update` against the version read before "go".
//   create:     one `create` of a concept named "Twin".
import { once } from 'node:events';
import { pathToFileURL } from 'node:url';
import { ConflictError, UserError } from '../../src/errors.ts';
import { KeyvConceptStore } from '../../src/memory/keyv-store.ts';

export const RACE_SCOPE = 'telegram:chat:race';

async function main(url: string, id: string, mode: string, count: number, tag: string): Promise<void> {
  const store = await KeyvConceptStore.open({ url });
  const seen = (await store.get(RACE_SCOPE, id))!.version;
  process.stdout.write('ready\n');
  await once(process.stdin, 'data');
  let landed = 0;
  let conflicts = 0;
  if (mode === 'modify') {
    for (let i = 0; i < count; i++) {
      await store.modify(RACE_SCOPE, id, (d) => void d.facts.push(`${tag} ${i}`));
      landed += 1;
    }
  } else if (mode === 'update') {
    for (let i = 0; i < count; i++) {
      for (;;) {
        const current = (await store.get(RACE_SCOPE, id))!;
        try {
          await store.update(RACE_SCOPE, id, current.version, (d) => void d.facts.push(`${tag} ${i}`));
          landed += 1;
          break;
        } catch (error) {
          if (!(error instanceof ConflictError)) throw error;
          conflicts += 1;
        }
      }
    }
  } else if (mode === 'create') {
    try {
      await store.create({ scope: RACE_SCOPE, name: 'Twin', kind: 'object', owner: `terminal:${tag}` });
      landed += 1;
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      conflicts += 1;
    }
  } else {
    try {
      await store.update(RACE_SCOPE, id, seen, (d) => void d.facts.push(`${tag} stale`));
      landed += 1;
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      conflicts += 1;
    }
  }
  await store.close();
  process.stdout.write(`${JSON.stringify({ landed, conflicts })}\n`);
  process.exit(0);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [url, id, mode, count, tag] = process.argv.slice(2);
  await main(url, id, mode, Number(count), tag);
}
