// The page's entry point (bundled by adapters/web/assets.ts): finds the
// parts of index.html, and joins the chat, the gallery and the live events
// to the server's API.
import { assistantApi, sentenceOf } from './api.ts';
import { ChatLog, type PendingReply } from './chat.ts';
import { newTurnId } from './commands.ts';
import { Composer } from './composer.ts';
import type { ConceptCard } from './contract.ts';
import { byId } from './dom.ts';
import { Gallery } from './gallery.ts';
import { LessonBoard } from './lessons.ts';
import { listenLive } from './live.ts';

const csrfToken = document.querySelector<HTMLMetaElement>('meta[name="csrf-token"]')?.content ?? '';
const api = assistantApi(csrfToken, () => window.location.assign('/login'));
const chat = new ChatLog(byId('log', HTMLOListElement));
const connection = byId('connection', HTMLParagraphElement);
/** Turns waiting for their answer, by the id their status events carry. */
const waiting = new Map<string, PendingReply>();
const lessons = new LessonBoard();

const gallery = new Gallery(
  {
    list: byId('concepts', HTMLUListElement),
    empty: byId('gallery-empty', HTMLParagraphElement),
    status: byId('gallery-status', HTMLParagraphElement),
  },
  {
    // The core's answer goes to the chat, where every answer is (and which screen readers announce).
    async forget(concept: ConceptCard) {
      chat.said(await api.forget(concept.id));
      await reloadGallery();
    },
    async rename(concept: ConceptCard, name: string) {
      chat.said(await api.rename(concept.id, name));
      await reloadGallery();
    },
  },
);

let reloading: Promise<void> | null = null;
let reloadAgain = false;

/** Loads the gallery; a reload asked for while one runs happens once after it, so the last state wins. */
function reloadGallery(): Promise<void> {
  if (reloading) {
    reloadAgain = true;
    return reloading;
  }
  reloading = api
    .concepts()
    .then((concepts) => gallery.show(concepts))
    .catch((error: unknown) => gallery.say(sentenceOf(error)))
    .finally(() => {
      reloading = null;
      if (reloadAgain) {
        reloadAgain = false;
        void reloadGallery();
      }
    });
  return reloading;
}

async function sendTurn(text: string, photos: File[]): Promise<void> {
  chat.sent(text, photos);
  const reply = chat.waiting();
  const turnId = newTurnId();
  waiting.set(turnId, reply);
  try {
    reply.answer(await api.turn(text, photos, turnId));
  } catch (error) {
    reply.fail(sentenceOf(error));
  } finally {
    waiting.delete(turnId);
  }
  // A turn may have taught, renamed, remembered or forgotten something.
  await reloadGallery();
}

new Composer(
  {
    form: byId('composer', HTMLFormElement),
    message: byId('message', HTMLTextAreaElement),
    fileInput: byId('photos', HTMLInputElement),
    pickButton: byId('pick-photos', HTMLButtonElement),
    commands: byId('commands', HTMLDivElement),
    tray: byId('tray', HTMLUListElement),
    hint: byId('hint', HTMLParagraphElement),
    dropZone: document.body,
    dropOverlay: byId('drop-overlay', HTMLDivElement),
  },
  (text, photos) => void sendTurn(text, photos),
);

const live = listenLive({
  notice(notice) {
    chat.lesson(lessons.apply(notice));
    if (notice.done) void reloadGallery();
  },
  status(status) {
    waiting.get(status.turnId)?.update(status);
  },
  connected(up) {
    if (up) {
      // News sent while the connection was down is lost: the gallery shows where lessons ended.
      if (connection.textContent !== '') void reloadGallery();
      connection.textContent = '';
    } else {
      connection.textContent =
        live.readyState === EventSource.CLOSED
          ? 'Live updates stopped. Reload the page to see lesson progress again.'
          : 'Live updates paused: reconnecting…';
    }
    connection.hidden = up;
  },
});

byId('refresh', HTMLButtonElement).addEventListener('click', () => void reloadGallery());
void reloadGallery();
