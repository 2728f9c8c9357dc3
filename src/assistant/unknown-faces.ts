// Faces the assistant sees but does not know, remembered only where the
// chat's admins turned `/settings remember-faces on`: each described photo
// adds its unknown faces to the scope's clusters (embeddings and one small
// face crop per person; never the photo), `/who` lists the people seen in
// enough photos and names one, and `/forget unknown faces` erases them.
import { randomUUID } from 'node:crypto';
import { UsageError, UserError } from '../errors.ts';
import { logFailure, moduleLogger } from '../log.ts';
import { FACE } from '../config/defaults.ts';
import { asKeys, listedClusters, placeFaces, type UnknownFace } from '../heads/face/clusters.ts';
import { toFaceHeadParams, unpackKeys } from '../heads/face/keys.ts';
import type { ConceptHeads, Recognition } from '../heads/types.ts';
import type { DecodedImage } from '../image/decode.ts';
import { encodeJpeg } from '../image/encode.ts';
import { cropRgb } from '../image/tensor.ts';
import type { Box } from '../image/box.ts';
import type { FaceHeadParams } from '../memory/concept.ts';
import type { FaceCluster } from '../memory/scope-memory.ts';
import type { ConceptStore } from '../memory/store.ts';
import { assertDistinctName, chooseIdentifier, validateName } from './names.ts';
import { assertMayChange } from './permissions.ts';
import { lookalikeNote } from './teach.ts';
import type { OutgoingImage, Reply, Turn } from './turn.ts';

const logger = moduleLogger('unknown-faces');

/** The words of `/forget unknown faces`: they erase the clusters, not a concept. */
export const FORGET_UNKNOWN_FACES = 'unknown faces';

/** People /who shows at most: Discord takes 10 attachments per message. */
const MAX_LISTED = 10;

/** The face crop around the box, as a share of the box's longer side on each side: enough of the head to recognize. */
const THUMBNAIL_MARGIN = 0.3;

/** A 96-pixel face crop is a few kilobytes; this only bounds a pathological one. */
const THUMBNAIL_MAX_BYTES = 32 * 1024;

const TURN_ON = 'An admin here can turn it on with /settings remember-faces on.';

/**
 * Adds the photo's unknown faces to the scope's clusters, when the scope
 * keeps them. Never fails the turn: the answer about the photo matters more
 * than one photo's faces, so a failure here is logged and the faces dropped.
 */
export async function rememberUnknownFaces(
  store: ConceptStore,
  scope: string,
  image: DecodedImage,
  recognition: Recognition | null,
): Promise<void> {
  try {
    await addUnknownFaces(store, scope, image, recognition);
  } catch (error) {
    logFailure(logger, error, 'could not remember the unknown faces of a photo', { scope });
  }
}

async function addUnknownFaces(
  store: ConceptStore,
  scope: string,
  image: DecodedImage,
  recognition: Recognition | null,
): Promise<void> {
  const unknown = recognition?.unknownFaces;
  if (!unknown || unknown.faces.length === 0 || !(await store.scopeMemory(scope))?.rememberFaces) return;
  const faces: UnknownFace[] = [];
  for (const face of unknown.faces)
    faces.push({ embedding: face.embedding, thumbnail: await thumbnail(image, face.box) });
  await store.changeScopeMemory(scope, (memory) => {
    // Turned off since the read above: keep nothing.
    if (!memory?.rememberFaces) return memory;
    const { clusters } = placeFaces(
      memory.faceClusters,
      faces,
      image.sha256,
      unknown.clustering,
      randomUUID,
      new Date().toISOString(),
    );
    return { ...memory, faceClusters: clusters };
  });
}

/** `/who`: the people seen in enough photos, with a face crop each; `/who <number> <name>` names one. */
export async function who(
  deps: { store: ConceptStore; heads: ConceptHeads | null },
  turn: Turn,
  rest: string,
): Promise<Reply> {
  if (rest.trim()) return { text: await nameCluster(deps, turn, rest), images: [] };
  const memory = await deps.store.scopeMemory(turn.scope);
  if (!memory?.rememberFaces) return { text: `I don't remember faces I don't know here. ${TURN_ON}`, images: [] };
  const listed = await stillUnknown(deps, turn.scope, memory.faceClusters);
  const minPhotos = FACE.unknownFaces.minPhotos;
  if (listed.length === 0)
    return { text: `I haven't seen anyone I don't know in ${minPhotos} or more photos here yet.`, images: [] };
  const lines = [
    `People I have seen here but don't know (the face crops below, in this order):`,
    ...listed.map((c, i) => `${i + 1}. seen in ${c.photos} photos`),
    `Tell me who one is with /who <number> <name>, for example /who 1 Anna.`,
  ];
  const images = listed.map((c, i): OutgoingImage => ({
    bytes: Buffer.from(c.thumbnail, 'base64'),
    mimeType: 'image/jpeg',
    name: `who-${i + 1}.jpg`,
  }));
  return { text: lines.join('\n'), images };
}

/** `/forget unknown faces`: erases every cluster of the scope; the setting stays as it is. */
export async function forgetUnknownFaces(store: ConceptStore, turn: Turn): Promise<string> {
  let erased = 0;
  await store.changeScopeMemory(turn.scope, (memory) => {
    erased = memory?.faceClusters.length ?? 0;
    return memory && (memory.rememberFaces ? { ...memory, faceClusters: [] } : null);
  });
  return erased === 0
    ? "I don't remember any face I don't know here."
    : `Done: I forgot every face I had seen here but didn't know (${erased} ${erased === 1 ? 'person' : 'people'}).`;
}

/**
 * `/who 3 Anna` (or `/who 3 is Anna`): Anna is learned from the faces of
 * cluster 3, as a new person or added to the Anna the scope knows, and the
 * cluster is dropped. The person is stored first, so a crash in between
 * leaves a cluster too many, never a person lost.
 */
async function nameCluster(
  deps: { store: ConceptStore; heads: ConceptHeads | null },
  turn: Turn,
  rest: string,
): Promise<string> {
  const parsed = /^(\d+)\s+(?:is\s+)?(\S[\s\S]*)$/i.exec(rest.trim());
  if (!parsed)
    throw new UsageError(
      'Send /who to see the people I have seen, or /who <number> <name> to name one, for example /who 1 Anna.',
    );
  const { store } = deps;
  const memory = await store.scopeMemory(turn.scope);
  if (!memory?.rememberFaces) throw new UserError(`I don't remember faces I don't know here. ${TURN_ON}`);
  const listed = await stillUnknown(deps, turn.scope, memory.faceClusters);
  const cluster = listed[Number(parsed[1]) - 1];
  if (!cluster)
    throw new UserError(
      listed.length === 0
        ? 'There is nobody to name yet: /who lists the people I have seen.'
        : `Send a number from 1 to ${listed.length}: /who lists them.`,
    );
  const name = validateName(parsed[2]);
  const existing = await store.findByName(turn.scope, name);
  const others = (await store.list(turn.scope)).filter((c) => c.id !== existing?.id);
  const keys = toFaceHeadParams(cluster.recognizer, cluster.dims, unpackKeys(asKeys(cluster)));
  const notes: string[] = [];
  if (existing) {
    assertMayChange(turn, existing, 'teach me more about');
    if (existing.kind !== 'person')
      throw new UserError(`I know ${existing.name} as a thing or a pet, not a person; pick another name.`);
    await store.modify(turn.scope, existing.id, (draft) => {
      draft.head = merged(draft.head?.type === 'face' ? draft.head : null, keys);
    });
  } else {
    assertDistinctName(name, others);
    if (deps.heads) notes.push(...(await lookalikeNote(deps.heads, name, keys, others)));
    await store.create({
      scope: turn.scope,
      name,
      identifier: chooseIdentifier(name, 'person', others),
      kind: 'person',
      owner: turn.user,
      head: keys,
    });
  }
  await store.changeScopeMemory(
    turn.scope,
    (current) => current && { ...current, faceClusters: current.faceClusters.filter((c) => c.id !== cluster.id) },
  );
  return [
    existing
      ? `Thanks! I added the faces I had seen in ${cluster.photos} photos to ${existing.name}.`
      : `Nice to meet ${name}! I learned their face from the ${cluster.photos} photos I had seen them in.`,
    ...notes,
    `I keep no photos of them, so to let me also describe ${name} by name, send photos with /teach ${name}.`,
  ].join('\n');
}

/**
 * What /who lists and numbers: the clusters seen in enough photos, less
 * those whose faces match a person taught since (with /teach), who are no
 * longer unknown.
 */
async function stillUnknown(
  deps: { store: ConceptStore; heads: ConceptHeads | null },
  scope: string,
  clusters: readonly FaceCluster[],
): Promise<FaceCluster[]> {
  const listed = listedClusters(clusters);
  const people = (await deps.store.list(scope)).filter((c) => c.head?.type === 'face');
  const unknown: FaceCluster[] = [];
  for (const cluster of listed) {
    if (deps.heads && people.length > 0 && (await deps.heads.lookalikes(asKeys(cluster), people)).length > 0) continue;
    unknown.push(cluster);
  }
  return unknown.slice(0, MAX_LISTED);
}

/** A person's keys with the cluster's added; keys of another recognizer cannot be mixed, so the cluster's replace them. */
function merged(head: FaceHeadParams | null, keys: FaceHeadParams): FaceHeadParams {
  if (!head || head.recognizer !== keys.recognizer || head.dims !== keys.dims) return keys;
  return toFaceHeadParams(keys.recognizer, keys.dims, [...unpackKeys(head), ...unpackKeys(keys)]);
}

/** A small JPEG of the face with some of the head around it, base64. */
async function thumbnail(image: DecodedImage, box: Box): Promise<string> {
  const side = Math.max(box.width, box.height) * (1 + 2 * THUMBNAIL_MARGIN);
  const left = Math.max(0, Math.round(box.x + box.width / 2 - side / 2));
  const top = Math.max(0, Math.round(box.y + box.height / 2 - side / 2));
  const width = Math.max(1, Math.min(image.width - left, Math.round(side)));
  const height = Math.max(1, Math.min(image.height - top, Math.round(side)));
  const fit = { maxSide: FACE.unknownFaces.thumbnailSide, maxBytes: THUMBNAIL_MAX_BYTES };
  const { bytes } = await encodeJpeg(cropRgb(image, left, top, width, height), fit);
  return Buffer.from(bytes).toString('base64');
}
