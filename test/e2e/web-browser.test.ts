// The web app end to end, in a real browser: Debian's chromium, driven by
// playwright-core (no browser download), against the real server, core,
// SQLite store and face models on real photos. It tells one story as a
// person would live it: open the page, teach Obama from picked photos, drop
// a new photo and read his name, ask /refer and see the box drawn, rename
// him and forget him from the gallery; then, with a tiny generated LLaVA,
// watch a lesson's line count its steps. Every step leaves a screenshot in
// test-output/web/, kept after the run; docs/adapters.md shows one of them.
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type JSHandle, type Locator, type Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWeb, type WebHandle } from '../../adapters/web/web.ts';
import { OPERATOR_SCOPE } from '../../src/assistant/turn.ts';
import { testAssistant, testAssistantWithTinyLlava } from '../support/assistant.ts';
import { REPO_ROOT, SHARED_DATA, sharedPhoto } from '../support/paths.ts';

/** Debian's chromium (`.ci/run` installs it); MYVLM_CHROMIUM names another Chromium or Chrome. */
const CHROMIUM = process.env.MYVLM_CHROMIUM ?? '/usr/bin/chromium';
const SCREENSHOTS = path.join(REPO_ROOT, 'test-output', 'web');
/** The face models answer in seconds on two cores; a page waits longer than a person would, never forever. */
const ANSWER_MS = 60_000;
/** A 100-step lesson of the tiny LLaVA takes about 15 s here. */
const LESSON_MS = 120_000;

/** The reply image's own pixels: the red of the first box (src/image/draw.ts's palette). */
const BOX_RED = { r: 0xff, g: 0x3b, b: 0x30 };

/** The few browser classes the test builds dropped and pasted files with (the root tsconfig has no DOM types). */
interface FileGlobals {
  DataTransfer: new () => { items: { add(file: unknown): unknown } };
  File: new (parts: Uint8Array[], name: string, options: { type: string }) => unknown;
  ClipboardEvent: new (
    type: string,
    init: { clipboardData: unknown; bubbles: boolean; cancelable: boolean },
  ) => unknown;
}

/** A DataTransfer in the page holding one file, as a drag or a paste carries it. */
function transferOf(page: Page, file: string, type: string, name = path.basename(file)): Promise<JSHandle> {
  const data = [...readFileSync(file)];
  return page.evaluateHandle(
    (held) => {
      const browser = globalThis as unknown as FileGlobals;
      const transfer = new browser.DataTransfer();
      transfer.items.add(new browser.File([new Uint8Array(held.data)], held.name, { type: held.type }));
      return transfer;
    },
    { data, name, type },
  );
}

/** A full-page screenshot of the step, kept in test-output/web/. */
async function screenshot(page: Page, step: string): Promise<void> {
  await page.screenshot({ path: path.join(SCREENSHOTS, `${step}.png`), fullPage: true });
}

/** A fresh page in headless chromium, and the errors it logs or throws (a CSP refusal of its own script would show there). */
async function openBrowser(): Promise<{ browser: Browser; page: Page; errors: string[] }> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`No Chromium at ${CHROMIUM}: install Debian's (apt-get install chromium) or set MYVLM_CHROMIUM.`);
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  return { browser, page, errors };
}

describe('the web app in a real browser', () => {
  let runtime: Awaited<ReturnType<typeof testAssistant>>;
  let web: WebHandle;
  let browser: Browser;
  let page: Page;
  let pageErrors: string[];

  const conversation = () => page.getByRole('log', { name: 'Conversation' });
  /** The assistant's finished replies, oldest first. */
  const replies = () => conversation().locator('li.message.assistant[data-state="done"]');
  const gallery = () => page.getByRole('list', { name: 'Concepts' });

  /**
   * Whether the conversation shows the end of `item` (its newest entry)
   * without scrolling, as a chat does after every answer. The log scrolls on
   * its own, inside the page; one pixel of slack covers fractional layout.
   */
  async function endInView(item: Locator): Promise<boolean> {
    const [box, log] = await Promise.all([item.boundingBox(), conversation().boundingBox()]);
    if (!box || !log) return false;
    const end = box.y + box.height;
    return end > log.y && end <= log.y + log.height + 1;
  }

  /** Sends what is in the message box and returns the reply that answers it, once it is there. */
  async function sendAndWait(send: () => Promise<void>): Promise<Locator> {
    const before = await replies().count();
    await send();
    const reply = replies().nth(before);
    await reply.waitFor({ timeout: ANSWER_MS });
    return reply;
  }

  beforeAll(async () => {
    ({ browser, page, errors: pageErrors } = await openBrowser());
    // Only this run's screenshots: a step that no longer runs leaves no stale picture.
    rmSync(SCREENSHOTS, { recursive: true, force: true });
    mkdirSync(SCREENSHOTS, { recursive: true });
    runtime = await testAssistant({ MYVLM_WEB_PORT: '0' });
    web = await startWeb({
      core: runtime.assistant,
      store: runtime.store,
      web: runtime.settings.web!,
      settings: runtime.settings,
    });
  });

  afterAll(async () => {
    await browser?.close();
    await web?.stop();
    await runtime?.close();
  });

  it('opens the page on loopback without a token: chat, commands and an empty gallery', async () => {
    const response = await page.goto(web.url);
    expect(response?.status()).toBe(200);
    expect(web.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(await page.title()).toBe('MyVLM Assistant');
    expect(response?.headers()['content-security-policy']).toMatch(/script-src 'self'/);
    // The page's script ran under that policy: it drew the command buttons.
    for (const command of ['Teach', 'Ask', 'Caption', 'Refer']) {
      await expect(page.getByRole('button', { name: command, exact: true }).isVisible()).resolves.toBe(true);
    }
    await expect(page.getByText('Nobody and nothing yet.').isVisible()).resolves.toBe(true);
    await screenshot(page, '01-opened');
  });

  it('teaches a person from a photo file picked with "Add photos"', async () => {
    await page.getByRole('button', { name: 'Teach', exact: true }).click();
    const message = page.getByLabel('Message');
    await expect(message.inputValue()).resolves.toBe('/teach ');
    await message.pressSequentially('Obama');
    const chooser = page.waitForEvent('filechooser');
    await page.getByRole('button', { name: 'Add photos' }).click();
    await (await chooser).setFiles([sharedPhoto('ageitgey', 'obama.jpg'), sharedPhoto('ageitgey', 'obama2.jpg')]);
    await expect(page.getByRole('img', { name: 'Photo to send: obama2.jpg' }).isVisible()).resolves.toBe(true);

    const reply = await sendAndWait(() => page.getByRole('button', { name: 'Send' }).click());
    expect(await reply.textContent()).toMatch(/Nice to meet Obama! I learned their face from 2 photo\(s\)\./);
    expect.soft(await endInView(reply), 'the conversation shows the end of the reply').toBe(true);

    // The gallery shows him with both teaching photos, as thumbnails the server made.
    const card = gallery().getByRole('listitem', { name: /Obama/ });
    await card.waitFor({ timeout: ANSWER_MS });
    expect(await card.locator('.name').textContent()).toBe('Obama');
    expect(await card.locator('.kind').textContent()).toBe('person');
    const thumbnails = card.getByRole('img', { name: /^Teaching photo \d of Obama$/ });
    await expect(thumbnails.count()).resolves.toBe(2);
    await thumbnails.last().scrollIntoViewIfNeeded();
    for (const thumbnail of await thumbnails.all()) {
      const size = await thumbnail.evaluate((img) => {
        const loaded = img as unknown as { complete: boolean; naturalWidth: number; naturalHeight: number };
        return loaded.complete ? Math.max(loaded.naturalWidth, loaded.naturalHeight) : 0;
      });
      expect(size).toBe(256);
    }
    expect(await runtime.store.findByName(OPERATOR_SCOPE, 'Obama')).not.toBeNull();
    await screenshot(page, '02-taught');
  });

  it('names him in a new photo dropped on the page and sent with Enter', async () => {
    const transfer = await transferOf(page, sharedPhoto('ageitgey', 'two_people.jpg'), 'image/jpeg');
    await page.locator('body').dispatchEvent('dragenter', { dataTransfer: transfer });
    await page.locator('body').dispatchEvent('drop', { dataTransfer: transfer });
    await expect(page.getByRole('img', { name: 'Photo to send: two_people.jpg' }).isVisible()).resolves.toBe(true);

    const reply = await sendAndWait(() => page.getByLabel('Message').press('Enter'));
    expect(await reply.textContent()).toMatch(/I see Obama \(left\)\. There is 1 other person I don't know\./);
    expect.soft(await endInView(reply), 'the conversation shows the end of the reply').toBe(true);
    await screenshot(page, '03-recognized');
  });

  it('takes a pasted screenshot into the next message, and gives it back with its remove button', async () => {
    // Browsers name every pasted picture image.png; the page numbers them so they can be told apart.
    const transfer = await transferOf(page, sharedPhoto('ageitgey', 'alex-lacamoire.png'), 'image/png', 'image.png');
    await page.getByLabel('Message').evaluate((box, clipboardData) => {
      const browser = globalThis as unknown as FileGlobals;
      const target = box as unknown as { dispatchEvent(event: unknown): boolean };
      target.dispatchEvent(new browser.ClipboardEvent('paste', { clipboardData, bubbles: true, cancelable: true }));
    }, transfer);
    const pasted = page.getByRole('list', { name: 'Photos to send' }).getByRole('img');
    await expect(pasted.count()).resolves.toBe(1);
    expect(await pasted.getAttribute('alt')).toMatch(/^Photo to send: pasted-\d+-1\.png$/);
    await page.getByRole('button', { name: /^Remove photo pasted-\d+-1\.png$/ }).click();
    await expect(page.getByRole('list', { name: 'Photos to send' }).isHidden()).resolves.toBe(true);
  });

  it('answers /refer with the photo, his box drawn on it', async () => {
    await page.getByRole('button', { name: 'Refer', exact: true }).click();
    await page.getByLabel('Message').pressSequentially('Obama');
    await page.setInputFiles('#photos', sharedPhoto('ageitgey', 'two_people.jpg'));
    const reply = await sendAndWait(() => page.getByRole('button', { name: 'Send' }).click());
    expect(await reply.textContent()).toMatch(/Obama is here \(on the left\), marked on the photo\./);

    const image = reply.getByRole('img');
    await expect(image.count()).resolves.toBe(1);
    expect(await image.getAttribute('alt')).toMatch(/Obama/);
    const rendered = await image.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth);
    expect(rendered).toBeGreaterThan(0);
    // The chat follows the conversation: the answer is on screen, not below the fold of the log.
    expect.soft(await endInView(reply), 'the conversation shows the end of the reply').toBe(true);

    // Read the pixels the browser shows: the box's red outlines a region in the left half, where the sent photo has no such red.
    const src = (await image.getAttribute('src')) ?? '';
    expect(src).toMatch(/^data:image\/jpeg;base64,/);
    const shown = await sharp(Buffer.from(src.slice(src.indexOf(',') + 1), 'base64'))
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    const sent = await sharp(sharedPhoto('ageitgey', 'two_people.jpg'))
      .resize(shown.info.width, shown.info.height, { fit: 'fill' })
      .removeAlpha()
      .raw()
      .toBuffer();
    const boxInShown = redPixels(shown.data, shown.info.width);
    const boxInSent = redPixels(sent, shown.info.width);
    expect(boxInShown.count).toBeGreaterThan(200);
    expect(boxInSent.count).toBeLessThan(boxInShown.count / 20);
    expect(boxInShown.meanX / shown.info.width).toBeLessThan(0.5);
    await screenshot(page, '04-referred');
  });

  it('renames him from the gallery with the keyboard, keeping his photos', async () => {
    await gallery().getByRole('button', { name: 'Rename Obama' }).click();
    // The field opens focused with the old name selected: typing replaces it, Enter saves.
    await page.keyboard.type('Barack');
    await page.keyboard.press('Enter');
    const card = gallery().getByRole('listitem', { name: /Barack/ });
    await card.waitFor({ timeout: ANSWER_MS });
    await expect(conversation().getByText('Done: Obama is now called Barack.').isVisible()).resolves.toBe(true);
    await expect(card.getByRole('img', { name: /^Teaching photo \d of Barack$/ }).count()).resolves.toBe(2);
    expect(await runtime.store.findByName(OPERATOR_SCOPE, 'Obama')).toBeNull();
    expect(await runtime.store.findByName(OPERATOR_SCOPE, 'Barack')).not.toBeNull();
  });

  it('shows a fact with markup in it as plain text', async () => {
    const fact = 'likes <img src=x onerror="document.title=1"> basketball';
    const reply = await sendAndWait(async () => {
      await page.getByLabel('Message').fill(`/remember Barack ${fact}`);
      await page.getByLabel('Message').press('Enter');
    });
    expect(await reply.textContent()).toMatch(/I'll remember that about Barack\./);
    const facts = gallery().getByRole('list', { name: 'Facts about Barack' });
    await facts.waitFor({ timeout: ANSWER_MS });
    expect(await facts.getByRole('listitem').allTextContents()).toEqual([fact]);
    await expect(facts.locator('img').count()).resolves.toBe(0);
    expect(await page.title()).toBe('MyVLM Assistant');
    await screenshot(page, '05-renamed');
  });

  it('forgets him from the gallery, after asking once more, and the gallery is empty', async () => {
    const card = gallery().getByRole('listitem', { name: /Barack/ });
    await card.getByRole('button', { name: 'Forget Barack' }).click();
    // Asked in place; the keyboard lands on Cancel, so Enter alone never forgets.
    const focused = await card.getByRole('button', { name: 'Cancel forgetting Barack' }).evaluate((button) => {
      const element = button as unknown as { ownerDocument: { activeElement: unknown } };
      return element === element.ownerDocument.activeElement;
    });
    expect(focused).toBe(true);
    await screenshot(page, '06-forget-asked');
    await card.getByRole('button', { name: 'Yes, forget Barack' }).click();

    const empty = page.getByText('Nobody and nothing yet.');
    await empty.waitFor({ timeout: ANSWER_MS });
    await expect(gallery().getByRole('listitem').count()).resolves.toBe(0);
    const answer = conversation().getByText(/Done: I forgot Barack, with 2 photos/);
    await expect(answer.isVisible()).resolves.toBe(true);
    expect.soft(await endInView(answer), 'the conversation shows the answer').toBe(true);
    expect(await runtime.store.findByName(OPERATOR_SCOPE, 'Barack')).toBeNull();
    await screenshot(page, '07-forgotten');
  });

  it('keeps the page still on a wide screen: the chat and the gallery scroll on their own', async () => {
    // The conversation is now taller than its column; none of it may stretch the page below the window.
    const overflow = await page.evaluate(() => {
      const root = (
        globalThis as unknown as { document: { documentElement: { scrollHeight: number; clientHeight: number } } }
      ).document;
      return root.documentElement.scrollHeight - root.documentElement.clientHeight;
    });
    expect(overflow).toBe(0);
  });

  it('fits a phone: nothing wider than the screen', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = await page.evaluate(() => {
      const root = (
        globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number } } }
      ).document;
      return root.documentElement.scrollWidth - root.documentElement.clientWidth;
    });
    expect(overflow).toBe(0);
    await expect(page.getByRole('button', { name: 'Send' }).isVisible()).resolves.toBe(true);
    await screenshot(page, '08-phone');
  });

  it('logged no error in the page along the way', () => {
    expect(pageErrors).toEqual([]);
  });
});

describe('a lesson in a real browser', () => {
  let runtime: Awaited<ReturnType<typeof testAssistantWithTinyLlava>>;
  let web: WebHandle;
  let browser: Browser;
  let page: Page;
  let pageErrors: string[];
  let unsubscribe: (() => void) | undefined;

  beforeAll(async () => {
    ({ browser, page, errors: pageErrors } = await openBrowser());
    mkdirSync(SCREENSHOTS, { recursive: true });
    runtime = await testAssistantWithTinyLlava({ MYVLM_WEB_PORT: '0' });
    web = await startWeb({
      core: runtime.assistant,
      store: runtime.store,
      web: runtime.settings.web!,
      settings: runtime.settings,
    });
    // As startAdapters does: the core's notices of background work reach the page.
    unsubscribe = runtime.assistant.onNotice?.((notice) => web.notify(notice));
  });

  afterAll(async () => {
    unsubscribe?.();
    await browser?.close();
    await web?.stop();
    await runtime?.close();
  });

  it(
    'streams the lesson as one line that updates until it is learned, and the gallery says so',
    async () => {
      await page.goto(web.url);
      const dogs = [1, 2].map((n) => path.join(SHARED_DATA, 'myvlm', 'concepts', 'billy_dog', `billy_dog_${n}.jpg`));
      await page.getByLabel('Message').fill('/teach Billy object');
      await page.setInputFiles('#photos', dogs);
      await page.getByRole('button', { name: 'Send' }).click();

      // Every text the lesson's line shows, read as a person would watch it, until the line says the lesson is over.
      const line = page.getByRole('log', { name: 'Conversation' }).locator('li.lesson');
      await line.first().waitFor({ timeout: ANSWER_MS });
      await screenshot(page, '09-lesson-started');
      const seen: string[] = [];
      let progressShown = false;
      for (const started = Date.now(); Date.now() - started < LESSON_MS;) {
        const [text, state] = await Promise.all([line.first().textContent(), line.first().getAttribute('class')]);
        if (seen.at(-1) !== text) seen.push(text ?? '');
        if (!progressShown && /step \d+ of/.test(text ?? '')) {
          progressShown = true;
          await screenshot(page, '10-lesson-progress');
        }
        if (state?.split(' ').includes('done')) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(seen.at(-1)).toBe('Learned how to talk about Billy.');
      expect(seen.some((text) => /^Learning Billy: step \d+ of 100 \(loss \d+\.\d{3}\)$/.test(text))).toBe(true);
      // One line for the lesson, rewritten in place: never a line per step.
      await expect(line.count()).resolves.toBe(1);

      const card = page.getByRole('list', { name: 'Concepts' }).getByRole('listitem', { name: /Billy/ });
      await card.getByText('Learned: answers can talk about it by name.').waitFor({ timeout: ANSWER_MS });
      await expect(card.locator('.kind').textContent()).resolves.toBe('thing or pet');
      expect(pageErrors).toEqual([]);
      await screenshot(page, '11-lesson-learned');
    },
    LESSON_MS + 60_000,
  );
});

/** How many pixels are the box's red, and where they are on average across. */
function redPixels(rgb: Uint8Array, width: number): { count: number; meanX: number } {
  let count = 0;
  let sumX = 0;
  for (let i = 0; i < rgb.length; i += 3) {
    const close =
      Math.abs(rgb[i] - BOX_RED.r) < 40 &&
      Math.abs(rgb[i + 1] - BOX_RED.g) < 50 &&
      Math.abs(rgb[i + 2] - BOX_RED.b) < 50;
    if (!close) continue;
    count += 1;
    sumX += (i / 3) % width;
  }
  return { count, meanX: count === 0 ? 0 : sumX / count };
}
