import { describe, expect, it } from 'vitest';
import { addPhotos, isPhoto, MAX_PHOTOS_PER_MESSAGE } from './photos.ts';

const photo = (name: string, type = 'image/jpeg'): { name: string; type: string } => ({ name, type });

describe('the photos of the next message', () => {
  it('takes images, and image files the browser left without a type', () => {
    expect(isPhoto(photo('a.jpg'))).toBe(true);
    expect(isPhoto(photo('IMG_0042.HEIC', ''))).toBe(true);
    expect(isPhoto(photo('notes.txt', 'text/plain'))).toBe(false);
    expect(isPhoto(photo('archive', ''))).toBe(false);
  });

  it('leaves out files that are not photos, and says so', () => {
    const result = addPhotos([], [photo('a.jpg'), photo('notes.txt', 'text/plain')]);
    expect(result.photos.map((p) => p.name)).toEqual(['a.jpg']);
    expect(result.note).toBe('notes.txt is not a photo, so I left it out.');
    expect(addPhotos([], [photo('a.pdf', 'application/pdf'), photo('b.txt', 'text/plain')]).note).toBe(
      '2 files are not photos, so I left them out.',
    );
  });

  it(`keeps at most ${MAX_PHOTOS_PER_MESSAGE} photos per message, the first ones`, () => {
    const current = Array.from({ length: 8 }, (_, i) => photo(`old${i}.jpg`));
    const result = addPhotos(current, [photo('n1.jpg'), photo('n2.jpg'), photo('n3.jpg'), photo('n4.jpg')]);
    expect(result.photos).toHaveLength(MAX_PHOTOS_PER_MESSAGE);
    expect(result.photos.slice(-2).map((p) => p.name)).toEqual(['n1.jpg', 'n2.jpg']);
    expect(result.note).toBe('A message takes at most 10 photos, so I left out 2.');
    expect(addPhotos(current, [photo('n1.jpg')]).note).toBeNull();
  });
});
