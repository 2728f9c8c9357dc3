// Unknown faces, end to end: the real assistant and store, the real face
// models, real photos of people nobody taught. With remember-faces on, a
// person seen in 3 photos becomes one cluster that /who lists with a face
// crop; naming it teaches the person; turning the setting off leaves no
// embedding of the unknown faces in the store files.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reply, Turn } from '../../src/assistant/turn.ts';
import { unpackKeys } from '../../src/heads/face/keys.ts';
import { asKeys } from '../../src/heads/face/clusters.ts';
import { testAssistant } from '../support/assistant.ts';
import { SHARED_DATA } from '../support/paths.ts';
import { needlesOf, tracesInFiles } from '../support/store-traces.ts';

type Runtime = Awaited<ReturnType<typeof testAssistant>>;

const SCOPE = 'telegram:chat:-100777';
const face = (person: string, file: string) => path.join(SHARED_DATA, 'faces', person, file);
const LAURA = ['00000000', '00000001', '00000002', '00000003'].map((n) =>
  face('laura_dern', `jp_ellie_sattler_${n}.jpg`),
);
const JEFF = ['00000000', '00000002', '00000003'].map((n) => face('jeff_goldblum', `jp_ian_malcolm_${n}.jpg`));

describe('unknown faces, remembered when the chat opts in', () => {
  let runtime: Runtime;

  beforeAll(async () => {
    runtime = await testAssistant();
  });

  afterAll(async () => {
    await runtime.close();
  });

  function say(text: string, files: string[] = [], admin = true): Promise<Reply> {
    const turn: Turn = {
      scope: SCOPE,
      user: admin ? 'telegram:user:1' : 'telegram:user:2',
      isScopeAdmin: admin,
      text,
      images: files.map((file) => ({ bytes: new Uint8Array(readFileSync(file)), name: path.basename(file) })),
    };
    return runtime.assistant.handle(turn);
  }

  it('keeps nothing by default, clusters once an admin turns it on, names a cluster, and forgets them all when off', async () => {
    // Off by default: photos are described, nothing about the faces is kept.
    for (const file of LAURA.slice(0, 3)) expect((await say('', [file])).text).toMatch(/I see a person I don't know/);
    expect(await runtime.store.scopeMemory(SCOPE)).toBeNull();
    expect((await say('/who')).text).toContain("I don't remember faces I don't know here.");
    expect((await say('/settings')).text).toContain('remember-faces: off');

    expect((await say('/settings remember-faces on', [], false)).text).toBe(
      'Sorry, only an admin of this chat can change its settings.',
    );
    expect((await say('/settings remember-faces on')).text).toMatch(/^Done: from now on I remember the faces/);
    expect((await say('/settings')).text).toContain('remember-faces: on');

    // Laura in 3 photos, one of them sent twice; Jeff in 1.
    for (const file of [LAURA[0], LAURA[1], LAURA[1], JEFF[0], LAURA[2]]) await say('', [file]);
    const listed = await say('/who');
    expect(listed.text).toBe(
      [
        "People I have seen here but don't know (the face crops below, in this order):",
        '1. seen in 3 photos',
        'Tell me who one is with /who <number> <name>, for example /who 1 Anna.',
      ].join('\n'),
    );
    expect(listed.images).toHaveLength(1);
    const crop = await sharp(listed.images[0].bytes).metadata();
    expect(crop.format).toBe('jpeg');
    expect(Math.max(crop.width ?? 0, crop.height ?? 0)).toBeLessThanOrEqual(96);
    const clusters = (await runtime.store.scopeMemory(SCOPE))!.faceClusters;
    expect(clusters.map((c) => c.photos).sort()).toEqual([1, 3]);
    const lauraKeys = clusters.find((c) => c.photos === 3)!.keys;

    // Naming the cluster teaches Laura, who is then recognized in a photo never seen before.
    const named = await say('/who 1 Laura');
    expect(named.text).toMatch(/^Nice to meet Laura! I learned their face from the 3 photos I had seen them in\./);
    expect(named.text).toContain('send photos with /teach Laura');
    const laura = await runtime.store.findByName(SCOPE, 'Laura');
    expect(laura?.head?.type === 'face' && Array.from(laura.head.keys)).toEqual(Array.from(lauraKeys));
    expect((await say('', [LAURA[3]])).text).toMatch(/^I see Laura \((left|centre|right)\)\./);
    expect((await say('/who')).text).toBe("I haven't seen anyone I don't know in 3 or more photos here yet.");

    // Jeff reaches 3 photos; turning the setting off erases his cluster and leaves no embedding of it in the files.
    for (const file of JEFF.slice(1)) await say('', [file]);
    expect((await say('/who')).text).toContain('1. seen in 3 photos');
    const jeffKeys = (await runtime.store.scopeMemory(SCOPE))!.faceClusters.flatMap((c) =>
      unpackKeys(asKeys(c)).map((key, i) => [`${c.id} key ${i}`, key] as const),
    );
    expect(jeffKeys.length).toBeGreaterThan(0);
    const secrets = { floats: { laura: lauraKeys, ...Object.fromEntries(jeffKeys) } };
    // The probe finds what is there: Laura's keys (now a person's) and Jeff's.
    expect(
      Object.values(await tracesInFiles(runtime.settings.dataDir, needlesOf(secrets)))
        .flat()
        .sort(),
    ).toEqual(['laura', ...jeffKeys.map(([label]) => label)].sort());
    expect((await say('/settings remember-faces off')).text).toBe(
      "Done: I no longer remember faces I don't know here, and I forgot the ones I had seen.",
    );
    expect(await runtime.store.scopeMemory(SCOPE)).toBeNull();
    expect(Object.values(await tracesInFiles(runtime.settings.dataDir, needlesOf(secrets))).flat()).toEqual(['laura']);
    expect((await say('/who')).text).toContain("I don't remember faces I don't know here.");
  });

  it('stops listing someone taught meanwhile, and forgets the clusters on /forget unknown faces, keeping the setting', async () => {
    await say('/settings remember-faces on');
    for (const file of JEFF) await say('', [file]);
    expect((await say('/who')).text).toContain('1. seen in 3 photos');
    const taught = await say('/teach Jeff person', [face('jeff_goldblum', 'jp_ian_malcolm_00000005.jpg')]);
    expect(taught.text).toMatch(/^Nice to meet Jeff!/);
    expect((await say('/who')).text).toBe("I haven't seen anyone I don't know in 3 or more photos here yet.");
    expect((await say('/who 1 Jeffrey')).text).toBe('There is nobody to name yet: /who lists the people I have seen.');
    expect((await say('/forget unknown faces')).text).toBe(
      "Done: I forgot every face I had seen here but didn't know (1 person).",
    );
    expect(await runtime.store.scopeMemory(SCOPE)).toMatchObject({ rememberFaces: true, faceClusters: [] });
    expect((await say('/forget Nobody')).text).toContain("I don't know anyone or anything called Nobody here.");
    expect((await say('/who one Anna')).text).toMatch(/^Send \/who to see the people I have seen/);
    expect((await say('/settings remember-faces maybe')).text).toMatch(/^Usage: \/settings/);
  });
});
