// Generated photos for the miniature teaching experiment. A scene is a
// smooth, noisy background of one of a few "places" with one thing in it:
// a coloured object (ball, book or hat, plain or checkered), a person (a
// little figure), or the concept: a sky-blue-and-white checkered disc, which
// to a captioner that never saw it is just "a blue ball" or "a white ball". Every
// scene is seeded, so the experiment repeats exactly.
import type { RgbImage } from '../../image/decode.ts';
import { seededRandom } from '../../random.ts';

/** Places a scene can show: background colours (top, bottom) and the caption word. */
export const SCENE_PLACES = [
  { word: 'grass', top: [110, 170, 230], bottom: [60, 150, 50] },
  { word: 'table', top: [200, 190, 170], bottom: [140, 90, 50] },
  { word: 'sofa', top: [220, 210, 200], bottom: [70, 80, 150] },
  { word: 'beach', top: [120, 190, 240], bottom: [230, 210, 150] },
  { word: 'floor', top: [90, 90, 100], bottom: [150, 120, 100] },
  { word: 'bed', top: [120, 60, 60], bottom: [240, 240, 245] },
] as const;

/** Colours of ordinary objects, with their caption word. */
export const SCENE_COLORS = [
  { word: 'red', rgb: [220, 30, 30] },
  { word: 'blue', rgb: [30, 60, 220] },
  { word: 'green', rgb: [30, 200, 60] },
  { word: 'white', rgb: [250, 250, 250] },
  { word: 'black', rgb: [15, 15, 15] },
  { word: 'pink', rgb: [230, 30, 160] },
  { word: 'yellow', rgb: [250, 220, 20] },
] as const;

/** Shapes of ordinary objects, with their caption word. */
export const SCENE_OBJECTS = ['ball', 'book', 'hat'] as const;

/** What a scene holds. */
export type SceneSubject =
  | {
      kind: 'object';
      color: (typeof SCENE_COLORS)[number]['word'];
      object: (typeof SCENE_OBJECTS)[number];
      /** Colour of the checkers; the main colour when the object is plain. */
      checks: (typeof SCENE_COLORS)[number]['word'];
    }
  | { kind: 'person' }
  | { kind: 'concept' };

/** One generated photo and what it shows. */
export interface SyntheticScene {
  image: RgbImage;
  place: (typeof SCENE_PLACES)[number]['word'];
  subject: SceneSubject;
}

const CONCEPT_COLORS = [
  [40, 170, 230],
  [250, 250, 250],
] as const;
const SKIN = [230, 180, 140] as const;
const SHIRT = [240, 140, 20] as const;
const LEGS = [40, 40, 90] as const;

/** An object drawn from `random`: half are checkered with a second colour, so a checkered thing is just an object to the captioner. */
function randomLook(random: () => number): ObjectLook {
  const color = Math.floor(random() * SCENE_COLORS.length);
  const object = Math.floor(random() * SCENE_OBJECTS.length);
  const checks = random() < 0.5 ? Math.floor(random() * SCENE_COLORS.length) : color;
  return { color, object, checks };
}

function clamp(v: number): number {
  return Math.max(0, Math.min(255, Math.round(v)));
}

/** Which object an object scene shows: indexes into SCENE_COLORS (main and checkers) and SCENE_OBJECTS. */
export interface ObjectLook {
  color: number;
  object: number;
  checks: number;
}

/**
 * A `size` x `size` scene of `subject` (drawn at a random spot and size),
 * seeded. `look` fixes which object an object scene shows (another photo of
 * the same thing); place, spot and size still come from the seed.
 */
export function syntheticScene(
  seed: number,
  subject: SceneSubject['kind'],
  size = 64,
  look?: ObjectLook,
): SyntheticScene {
  const random = seededRandom(seed);
  const place = SCENE_PLACES[Math.floor(random() * SCENE_PLACES.length)];
  const data = new Uint8Array(size * size * 3);
  const jitter = () => (random() - 0.5) * 30;
  const top = place.top.map((c) => c + jitter());
  const bottom = place.bottom.map((c) => c + jitter());
  for (let y = 0; y < size; y++) {
    const t = y / (size - 1);
    for (let x = 0; x < size; x++) {
      const o = (y * size + x) * 3;
      for (let c = 0; c < 3; c++) data[o + c] = clamp(top[c] * (1 - t) + bottom[c] * t + (random() - 0.5) * 16);
    }
  }
  const radius = size * (0.2 + 0.1 * random());
  const cx = radius + random() * (size - 2 * radius);
  const cy = radius + random() * (size - 2 * radius);
  const paint = (x: number, y: number, rgb: readonly number[]) => {
    const o = (y * size + x) * 3;
    for (let c = 0; c < 3; c++) data[o + c] = clamp(rgb[c]);
  };
  let described: SceneSubject;
  if (subject === 'object') {
    // The draws happen even when `look` overrides them, so place, spot and size follow the seed alone.
    const drawn = randomLook(random);
    const { color: c, object: o, checks: k } = look ?? drawn;
    const color = SCENE_COLORS[c];
    const object = SCENE_OBJECTS[o];
    const second = SCENE_COLORS[k];
    described = { kind: 'object', color: color.word, object, checks: second.word };
    const cell = Math.max(2, Math.round(radius / 3));
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const dx = x - cx;
        const dy = y - cy;
        const inside =
          object === 'ball'
            ? dx * dx + dy * dy <= radius * radius
            : object === 'book'
              ? Math.abs(dx) <= radius && Math.abs(dy) <= radius * 0.6
              : dy <= radius * 0.7 && dy >= -radius && Math.abs(dx) <= (dy + radius) * 0.6;
        if (inside) paint(x, y, (Math.floor(x / cell) + Math.floor(y / cell)) % 2 === 0 ? color.rgb : second.rgb);
      }
    }
  } else if (subject === 'person') {
    described = { kind: 'person' };
    // A standing figure, taller than any object: skin-coloured head, orange shirt, dark legs.
    const x0 = size * (0.25 + 0.5 * random());
    const head = size * 0.11;
    const headY = size * 0.2;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const dx = x - x0;
        if (dx * dx + (y - headY) ** 2 <= head * head) paint(x, y, SKIN);
        else if (Math.abs(dx) <= size * 0.13 && y > headY + head && y <= size * 0.62) paint(x, y, SHIRT);
        else if (Math.abs(Math.abs(dx) - size * 0.07) <= size * 0.04 && y > size * 0.62 && y <= size * 0.95)
          paint(x, y, LEGS);
      }
    }
  } else {
    described = { kind: 'concept' };
    const cell = Math.max(2, Math.round(radius / 3));
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        if ((x - cx) ** 2 + (y - cy) ** 2 <= radius ** 2)
          paint(x, y, CONCEPT_COLORS[(Math.floor(x / cell) + Math.floor(y / cell)) % 2]);
      }
    }
  }
  return { image: { width: size, height: size, data }, place: place.word, subject: described };
}
