// The conversation column: what the person sent (text and photos), the
// assistant's replies with their images, and one line per background lesson
// that updates in place. A reply starts as a waiting bubble whose status
// line follows the turn's progress, and becomes the answer when it comes.
import type { ReplyImage, TurnReply, TurnStatus } from './contract.ts';
import { BottomFollower, element } from './dom.ts';
import type { LessonLine } from './lessons.ts';

export class ChatLog {
  private readonly lessons = new Map<string, HTMLLIElement>();
  private readonly scroller: BottomFollower;

  constructor(private readonly log: HTMLElement) {
    this.scroller = new BottomFollower(log);
  }

  /** What the person sent, with a thumbnail of every photo. */
  sent(text: string, photos: readonly File[]): void {
    const children: Node[] = [];
    if (text.trim() !== '') children.push(element('p', { className: 'text', text }));
    if (photos.length > 0)
      children.push(
        element(
          'div',
          { className: 'images' },
          photos.map((photo) => sentPhoto(photo)),
        ),
      );
    this.add(
      element('li', { className: 'message mine' }, [
        element('span', { className: 'who visually-hidden', text: 'You:' }),
        ...children,
      ]),
    );
  }

  /** A reply on its way: updated by the turn's status events, then by its answer. */
  waiting(): PendingReply {
    const status = element('p', { className: 'status', text: 'Thinking…' });
    const bar = element('progress', { attrs: { max: '1', 'aria-label': 'Progress' } });
    bar.hidden = true;
    const item = element('li', { className: 'message assistant', attrs: { 'aria-busy': 'true' } }, [
      assistantLabel(),
      status,
      bar,
    ]);
    this.add(item);
    return new PendingReply(item, status, bar, this.scroller);
  }

  /** An answer that did not come through a turn (forget and rename from the gallery). */
  said(text: string): void {
    this.add(
      element('li', { className: 'message assistant' }, [assistantLabel(), element('p', { className: 'text', text })]),
    );
  }

  /** A problem with what was sent, in the assistant's voice, announced at once. */
  problem(text: string): void {
    this.add(
      element('li', { className: 'message assistant problem', attrs: { role: 'alert' } }, [
        assistantLabel(),
        element('p', { className: 'text', text }),
      ]),
    );
  }

  /**
   * A lesson's line: added on its first notice, rewritten by the next ones.
   * Screen readers hear its start and its end, not each of its steps.
   */
  lesson(line: LessonLine): void {
    const children: Node[] = [element('span', { className: 'lesson-text', text: line.text })];
    if (line.step) {
      const label = `Lesson progress: step ${line.step.at} of ${line.step.of}`;
      const bar = element('progress', { attrs: { max: String(line.step.of), 'aria-label': label } });
      bar.value = line.step.at;
      children.push(bar);
    }
    const item = this.lessons.get(line.id) ?? element('li', { className: 'lesson', attrs: { 'data-lesson': line.id } });
    this.scroller.change(() => {
      item.setAttribute('aria-live', line.isNew || line.done ? 'polite' : 'off');
      item.replaceChildren(...children);
      item.classList.toggle('done', line.done);
      if (!item.isConnected) this.log.append(item);
    });
    if (line.done) this.lessons.delete(line.id);
    else this.lessons.set(line.id, item);
  }

  private add(item: HTMLLIElement): void {
    this.scroller.change(() => this.log.append(item));
  }
}

/** The waiting bubble of one turn. */
export class PendingReply {
  private finished = false;

  constructor(
    private readonly item: HTMLLIElement,
    private readonly status: HTMLParagraphElement,
    private readonly bar: HTMLProgressElement,
    private readonly scroller: BottomFollower,
  ) {}

  /** The turn's progress; a draft of the answer replaces the status text, as it would be replaced by the answer. */
  update(update: Pick<TurnStatus, 'text' | 'progress' | 'draft'>): void {
    if (this.finished) return;
    this.scroller.change(() => {
      this.status.textContent = update.text.trim() === '' ? '…' : update.text;
      this.status.classList.toggle('draft', update.draft === true);
      this.bar.hidden = update.progress === undefined || update.draft === true;
      if (update.progress !== undefined) this.bar.value = Math.min(1, Math.max(0, update.progress));
    });
  }

  answer(reply: TurnReply): void {
    this.finish([element('p', { className: 'text', text: reply.text }), ...replyImages(reply.images)]);
  }

  fail(message: string): void {
    this.item.classList.add('problem');
    this.item.setAttribute('role', 'alert');
    this.finish([element('p', { className: 'text', text: message })]);
  }

  private finish(children: Node[]): void {
    this.finished = true;
    this.scroller.change(() => {
      this.item.replaceChildren(assistantLabel(), ...children);
      this.item.removeAttribute('aria-busy');
      this.item.dataset.state = 'done';
    });
  }
}

function assistantLabel(): HTMLSpanElement {
  return element('span', { className: 'who visually-hidden', text: 'Assistant:' });
}

function sentPhoto(photo: File): HTMLImageElement {
  const url = URL.createObjectURL(photo);
  const image = element('img', { attrs: { src: url, alt: `Your photo ${photo.name}` } });
  // The browser keeps the decoded picture on screen; the file's blob can go.
  image.addEventListener('load', () => URL.revokeObjectURL(url), { once: true });
  return image;
}

/** A reply's images, each with its alt text and a link to keep it. */
function replyImages(images: readonly ReplyImage[]): Node[] {
  if (images.length === 0) return [];
  return [
    element(
      'div',
      { className: 'images' },
      images.map((image, i) => {
        const picture = element('img', { attrs: { src: image.dataUrl, alt: image.alt } });
        const save = element('a', {
          className: 'save',
          text: 'Save image',
          attrs: { href: image.dataUrl, download: `myvlm-${i + 1}${extensionOf(image.dataUrl)}` },
        });
        return element('figure', {}, [picture, element('figcaption', {}, [save])]);
      }),
    ),
  ];
}

function extensionOf(dataUrl: string): string {
  return dataUrl.startsWith('data:image/png') ? '.png' : '.jpg';
}
