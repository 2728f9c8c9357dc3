import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildAssets, CSRF_TOKEN_PLACEHOLDER } from './assets.ts';

const PAGE_DIR = new URL('./page/', import.meta.url);

describe('the page assets', () => {
  it('bundles the browser code once, and serves the same files after', async () => {
    const first = await buildAssets();
    expect(await buildAssets()).toBe(first);
    // The bundle holds the page's modules (their code, not their imports): the app boots, the gallery draws.
    expect(first.js).toContain('new EventSource("/api/events")');
    expect(first.js).toContain('/api/concepts');
    expect(first.js).not.toMatch(/^\s*import\s/m);
    expect(first.css).toContain('prefers-color-scheme: dark');
  });

  it('has a page that a strict Content-Security-Policy allows: no inline scripts, styles or handlers, nothing from elsewhere', async () => {
    const { html, js, css } = await buildAssets();
    expect(html).toContain(`<meta name="csrf-token" content="${CSRF_TOKEN_PLACEHOLDER}" />`);
    expect(html).toContain('<script type="module" src="/assets/app.js"></script>');
    expect(html).toContain('<link rel="stylesheet" href="/assets/app.css" />');
    expect(html.match(/<script\b[^>]*>/g)).toEqual(['<script type="module" src="/assets/app.js">']);
    expect(html).not.toMatch(/<style\b|\sstyle=|\son[a-z]+=/i);
    for (const text of [html, js, css]) expect(text).not.toMatch(/https?:\/\//);
  });

  it('never builds markup from strings: a name or a reply cannot inject HTML', async () => {
    const { js } = await buildAssets();
    const markupSinks =
      /\b(innerHTML|outerHTML|insertAdjacentHTML|document\.write|createContextualFragment|DOMParser)\b/;
    expect(js).not.toMatch(markupSinks);
    const sources = readdirSync(PAGE_DIR).filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts'));
    expect(sources).toContain('gallery.ts');
    for (const name of sources) expect(readFileSync(new URL(name, PAGE_DIR), 'utf8'), name).not.toMatch(markupSinks);
  });

  it('labels every control of the page for screen readers and the keyboard', async () => {
    const { html } = await buildAssets();
    expect(html).toMatch(/<html lang="en">/);
    expect(html).toContain('<label for="message" class="visually-hidden">Message</label>');
    for (const id of [
      'log',
      'composer',
      'message',
      'photos',
      'pick-photos',
      'send',
      'concepts',
      'gallery-empty',
      'tray',
      'hint',
    ])
      expect(html, id).toContain(`id="${id}"`);
  });
});
