// The page's files, made once per process: esbuild bundles the browser code
// (page/main.ts and what it imports) in memory at the first request, so
// there is no build step, no output folder and nothing fetched from a CDN.
// The HTML and the stylesheet are served as they are written.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { InternalError } from '../../src/errors.ts';

export interface PageAssets {
  /** The bundle, served as /assets/app.js. */
  js: string;
  /** Served as /assets/app.css. */
  css: string;
  /** The page; the server writes the session's CSRF token in place of {@link CSRF_TOKEN_PLACEHOLDER}. */
  html: string;
}

/** Stands in index.html for the session's CSRF token (`<meta name="csrf-token" content="__CSRF_TOKEN__" />`). */
export const CSRF_TOKEN_PLACEHOLDER = '__CSRF_TOKEN__';

/** The browser code's entry point; esbuild follows its imports. */
const ENTRY = new URL('./page/main.ts', import.meta.url);
const STYLESHEET = new URL('./page/app.css', import.meta.url);
const HTML = new URL('./page/index.html', import.meta.url);

let assets: Promise<PageAssets> | null = null;

/** The page's files, bundled on the first call and kept for the life of the process. */
export function buildAssets(): Promise<PageAssets> {
  assets ??= bundle().catch((error: unknown) => {
    // A failed build is not kept: the next request tries again (and fails the same way if the sources are broken).
    assets = null;
    throw error;
  });
  return assets;
}

async function bundle(): Promise<PageAssets> {
  const [result, css, html] = await Promise.all([
    build({
      entryPoints: [fileURLToPath(ENTRY)],
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'browser',
      target: 'es2020',
      charset: 'utf8',
      legalComments: 'none',
      logLevel: 'silent',
    }).catch((error: unknown) => {
      throw new InternalError(
        `The web page's code does not build: ${error instanceof Error ? error.message : String(error)}`,
        {
          cause: error,
        },
      );
    }),
    readFile(STYLESHEET, 'utf8'),
    readFile(HTML, 'utf8'),
  ]);
  const [js] = result.outputFiles;
  if (!js || !html.includes(CSRF_TOKEN_PLACEHOLDER))
    throw new InternalError('The web page is incomplete: no bundle, or no CSRF token slot in index.html');
  return { js: js.text, css, html };
}
