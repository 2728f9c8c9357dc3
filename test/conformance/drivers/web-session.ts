// A browser session of the web app, as the page holds one: the cookie GET /
// sets, the CSRF token in its <meta>, and the requests the page makes.
// Shared by the web conformance driver and the web security tests.

export interface WebSession {
  readonly cookie: string;
  readonly csrfToken: string;
  /** POST /api/turn as the page sends it; throws on anything but 200. */
  turn(
    text: string,
    photos: ReadonlyArray<{ name: string; bytes: Uint8Array }>,
  ): Promise<{ text: string; images: Array<{ bytes: Uint8Array; mimeType: string; alt: string }> }>;
  /** Any request with the session's cookie, CSRF token and the app's own origin. */
  request(pathname: string, init?: RequestInit): Promise<Response>;
}

/** The form the page posts for one message. */
export function turnForm(text: string, photos: ReadonlyArray<{ name: string; bytes: Uint8Array }>): FormData {
  const form = new FormData();
  form.append('text', text);
  for (const photo of photos) form.append('photos', new Blob([photo.bytes.slice()]), photo.name);
  return form;
}

export async function openSession(url: string, cookie = ''): Promise<WebSession> {
  const page = await fetch(url, { headers: cookie ? { Cookie: cookie } : {} });
  if (page.status !== 200) throw new Error(`GET / answered ${page.status}`);
  const sessionCookie = /myvlm_session=[^;]+/.exec(page.headers.get('set-cookie') ?? '')?.[0] ?? cookie;
  const csrfToken = /<meta name="csrf-token" content="([^"]+)"/.exec(await page.text())?.[1];
  if (!sessionCookie || !csrfToken) throw new Error('the page set no session cookie or CSRF token');
  const origin = new URL(url).origin;
  const request = (pathname: string, init: RequestInit = {}) =>
    fetch(new URL(pathname, url), {
      ...init,
      headers: { Cookie: sessionCookie, 'X-CSRF-Token': csrfToken, Origin: origin, ...init.headers },
    });
  return {
    cookie: sessionCookie,
    csrfToken,
    request,
    async turn(text, photos) {
      const response = await request('/api/turn', { method: 'POST', body: turnForm(text, photos) });
      if (response.status !== 200)
        throw new Error(`POST /api/turn answered ${response.status}: ${await response.text()}`);
      const reply = (await response.json()) as { text: string; images: Array<{ dataUrl: string; alt: string }> };
      return {
        text: reply.text,
        images: reply.images.map(({ dataUrl, alt }) => {
          const [, mimeType, base64] = /^data:([^;]+);base64,(.*)$/.exec(dataUrl) ?? [];
          return { bytes: new Uint8Array(Buffer.from(base64, 'base64')), mimeType, alt };
        }),
      };
    },
  };
}
