// The message box: text, photos (picked, dropped anywhere on the page, or
// pasted), the command buttons, and sending. Enter sends, Shift+Enter starts
// a new line; every control is a real button or input, so the keyboard
// reaches all of it.
import { COMMAND_BUTTONS, withCommand } from './commands.ts';
import { element } from './dom.ts';
import { addPhotos } from './photos.ts';

export interface ComposerParts {
  form: HTMLFormElement;
  message: HTMLTextAreaElement;
  fileInput: HTMLInputElement;
  pickButton: HTMLButtonElement;
  commands: HTMLElement;
  tray: HTMLElement;
  hint: HTMLElement;
  dropZone: HTMLElement;
  dropOverlay: HTMLElement;
}

/** Sends one message; the composer is cleared as soon as it is handed over. */
export type Send = (text: string, photos: File[]) => void;

export class Composer {
  private photos: File[] = [];
  /** Drag events fire for every child crossed; the overlay stays while any is entered. */
  private dragDepth = 0;

  constructor(
    private readonly parts: ComposerParts,
    private readonly send: Send,
  ) {
    const { form, message, fileInput, pickButton, commands } = parts;
    for (const button of COMMAND_BUTTONS) {
      const control = element('button', {
        className: 'command',
        text: button.label,
        attrs: { type: 'button', 'data-command': button.command, 'aria-describedby': 'hint' },
      });
      control.addEventListener('click', () => {
        message.value = withCommand(message.value, button.command);
        this.say(button.hint);
        message.focus();
        message.setSelectionRange(message.value.length, message.value.length);
      });
      commands.append(control);
    }
    pickButton.addEventListener('click', () => fileInput.click());
    fileInput.addEventListener('change', () => {
      this.add(Array.from(fileInput.files ?? []));
      // Picking the same file again must fire `change` again.
      fileInput.value = '';
    });
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.submit();
    });
    message.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.submit();
      }
    });
    message.addEventListener('paste', (event) => {
      const files = Array.from(event.clipboardData?.files ?? []);
      if (files.length === 0) return;
      // A pasted screenshot arrives as "image.png" on every paste: number them so the tray and replies can tell them apart.
      event.preventDefault();
      this.add(
        files.map((file, i) => (file.name === 'image.png' ? renamed(file, `pasted-${Date.now()}-${i + 1}.png`) : file)),
      );
    });
    this.listenForDrops();
  }

  /** Adds photos to the next message, saying what was left out. */
  add(files: File[]): void {
    const { photos, note } = addPhotos(this.photos, files);
    this.photos = photos;
    this.renderTray();
    this.say(note ?? '');
  }

  private submit(): void {
    const text = this.parts.message.value.trim();
    if (text === '' && this.photos.length === 0) {
      this.say('Type a message or add a photo first.');
      this.parts.message.focus();
      return;
    }
    const photos = this.photos;
    this.photos = [];
    this.parts.message.value = '';
    this.renderTray();
    this.say('');
    this.send(text, photos);
    this.parts.message.focus();
  }

  private say(text: string): void {
    this.parts.hint.textContent = text;
  }

  private renderTray(): void {
    const { tray } = this.parts;
    for (const image of tray.querySelectorAll('img')) URL.revokeObjectURL(image.src);
    tray.replaceChildren(
      ...this.photos.map((photo, i) => {
        const remove = element('button', {
          className: 'remove',
          text: '×',
          attrs: { type: 'button', 'aria-label': `Remove photo ${photo.name}`, title: `Remove ${photo.name}` },
        });
        remove.addEventListener('click', () => {
          this.photos = this.photos.filter((_, at) => at !== i);
          this.renderTray();
          this.parts.message.focus();
        });
        const thumbnail = element('img', {
          attrs: { src: URL.createObjectURL(photo), alt: `Photo to send: ${photo.name}` },
        });
        return element('li', { className: 'tray-photo' }, [thumbnail, remove]);
      }),
    );
    tray.hidden = this.photos.length === 0;
  }

  /** Photos dropped anywhere on the chat join the next message. */
  private listenForDrops(): void {
    const { dropZone, dropOverlay } = this.parts;
    const carriesFiles = (event: DragEvent): boolean => event.dataTransfer?.types.includes('Files') === true;
    dropZone.addEventListener('dragenter', (event) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      this.dragDepth += 1;
      dropOverlay.hidden = false;
    });
    dropZone.addEventListener('dragover', (event) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      if (event.dataTransfer) event.dataTransfer.dropEffect = 'copy';
    });
    dropZone.addEventListener('dragleave', () => {
      this.dragDepth = Math.max(0, this.dragDepth - 1);
      if (this.dragDepth === 0) dropOverlay.hidden = true;
    });
    dropZone.addEventListener('drop', (event) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      this.dragDepth = 0;
      dropOverlay.hidden = true;
      this.add(Array.from(event.dataTransfer?.files ?? []));
      this.parts.message.focus();
    });
  }
}

function renamed(file: File, name: string): File {
  return new File([file], name, { type: file.type, lastModified: file.lastModified });
}
