// The photos waiting to be sent with the next message: only images, and at
// most as many as the server takes in one message, with one sentence saying
// what was left out and why.

/** The server takes at most this many photos in one message (the HTTP contract of adapters/web). */
export const MAX_PHOTOS_PER_MESSAGE = 10;

/** File types a phone or camera produces that browsers may leave without a MIME type (HEIC on many systems). */
const IMAGE_NAME = /\.(jpe?g|png|webp|gif|tiff?|avif|heic|heif|bmp)$/i;

export function isPhoto(file: Pick<File, 'name' | 'type'>): boolean {
  return file.type.startsWith('image/') || (file.type === '' && IMAGE_NAME.test(file.name));
}

/** The tray after adding `incoming`, and what to tell the person about files that were left out (null: nothing was). */
export function addPhotos<T extends Pick<File, 'name' | 'type'>>(
  current: readonly T[],
  incoming: readonly T[],
): { photos: T[]; note: string | null } {
  const notes: string[] = [];
  const notPhotos = incoming.filter((file) => !isPhoto(file));
  if (notPhotos.length === 1) notes.push(`${notPhotos[0].name} is not a photo, so I left it out.`);
  else if (notPhotos.length > 1) notes.push(`${notPhotos.length} files are not photos, so I left them out.`);
  const room = Math.max(0, MAX_PHOTOS_PER_MESSAGE - current.length);
  const photos = incoming.filter(isPhoto);
  if (photos.length > room)
    notes.push(`A message takes at most ${MAX_PHOTOS_PER_MESSAGE} photos, so I left out ${photos.length - room}.`);
  return { photos: [...current, ...photos.slice(0, room)], note: notes.length > 0 ? notes.join(' ') : null };
}
