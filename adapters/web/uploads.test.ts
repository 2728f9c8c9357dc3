import { describe, expect, it } from 'vitest';
import { displayName, maxTurnBytes, readTurnUpload, UploadRefused } from './uploads.ts';

function formRequest(form: FormData): Request {
  return new Request('http://127.0.0.1/api/turn', { method: 'POST', body: form });
}

describe('uploads', () => {
  it('keeps only the last part of a path as the display name, without control characters', () => {
    expect(displayName('../../etc/passwd.jpg', 0)).toBe('passwd.jpg');
    expect(displayName('C:\\Users\\me\\IMG_0042.jpg', 0)).toBe('IMG_0042.jpg');
    expect(displayName('..', 2)).toBe('photo-3');
    expect(displayName('a\u0000b\nc.jpg', 0)).toBe('abc.jpg');
    expect(displayName(`${'x'.repeat(100)}.jpg`, 0)).toHaveLength(80);
  });

  it('reads the text and the photos of a message', async () => {
    const form = new FormData();
    form.append('text', '/teach Rex');
    form.append('photos', new Blob([new Uint8Array([1, 2, 3])]), '../rex.jpg');
    const upload = await readTurnUpload(formRequest(form), 1024);
    expect(upload).toEqual({ text: '/teach Rex', images: [{ bytes: new Uint8Array([1, 2, 3]), name: 'rex.jpg' }] });
  });

  it('refuses a text sent as a file, and a body that is not a form', async () => {
    const form = new FormData();
    form.append('text', new Blob(['hi']), 'text.txt');
    await expect(readTurnUpload(formRequest(form), 1024)).rejects.toEqual(
      new UploadRefused('The text of a message must be text, not a file.', 400),
    );
    const notAForm = new Request('http://127.0.0.1/api/turn', { method: 'POST', body: 'text=hi' });
    await expect(readTurnUpload(notAForm, 1024)).rejects.toBeInstanceOf(UploadRefused);
  });

  it('reads a body as large as 10 photos at their limit and the form around them', () => {
    expect(maxTurnBytes(25 * 1024 * 1024)).toBe(10 * 25 * 1024 * 1024 + 1024 * 1024);
  });
});
