// The gallery: every concept of this scope with its kind, teaching photos,
// facts and lesson state, and Forget and Rename. Forget asks once more in
// place (no browser dialog, which a keyboard or a test can trip over);
// Rename opens a small form in the card.
import { sentenceOf } from './api.ts';
import type { ConceptCard } from './contract.ts';
import { element } from './dom.ts';

export interface GalleryActions {
  /** Resolves once the concept is forgotten and the gallery reloaded; rejects with a sentence to show. */
  forget(concept: ConceptCard): Promise<void>;
  rename(concept: ConceptCard, name: string): Promise<void>;
}

export interface GalleryParts {
  list: HTMLElement;
  empty: HTMLElement;
  status: HTMLElement;
}

export class Gallery {
  constructor(
    private readonly parts: GalleryParts,
    private readonly actions: GalleryActions,
  ) {}

  show(concepts: readonly ConceptCard[]): void {
    const { list, empty, status } = this.parts;
    status.textContent = '';
    // Focus inside a card that is redrawn would fall back to the page's top: put it on the same control of the new card.
    const focused = document.activeElement instanceof HTMLElement ? document.activeElement.dataset.focusKey : undefined;
    list.replaceChildren(...concepts.map((concept) => this.card(concept)));
    list.hidden = concepts.length === 0;
    empty.hidden = concepts.length > 0;
    if (focused !== undefined) list.querySelector<HTMLElement>(`[data-focus-key="${CSS.escape(focused)}"]`)?.focus();
  }

  /** Why the gallery could not load, read out by screen readers; cleared by the next load. */
  say(text: string): void {
    this.parts.status.textContent = text;
  }

  private card(concept: ConceptCard): HTMLLIElement {
    const headingId = `concept-${concept.id}`;
    const photos = element(
      'ul',
      { className: 'thumbs', attrs: { 'aria-label': `Teaching photos of ${concept.name}` } },
      concept.photos.map((photo, i) =>
        element('li', {}, [
          element('img', {
            attrs: {
              src: photo.url,
              alt: `Teaching photo ${i + 1} of ${concept.name}`,
              loading: 'lazy',
              width: '96',
              height: '96',
            },
          }),
        ]),
      ),
    );
    const facts =
      concept.facts.length > 0
        ? element(
            'ul',
            { className: 'facts', attrs: { 'aria-label': `Facts about ${concept.name}` } },
            concept.facts.map((fact) => element('li', { text: fact })),
          )
        : element('p', { className: 'no-facts', text: `No facts yet: /remember ${concept.name} …` });
    const lesson = concept.learned
      ? element('p', { className: 'lesson-state learned', text: 'Learned: answers can talk about it by name.' })
      : element('p', {
          className: 'lesson-state',
          text: 'Recognized in photos; no language-model lesson yet.',
        });
    const controls = element('div', { className: 'card-actions' });
    const card = element(
      'li',
      { className: 'concept', attrs: { 'data-concept-id': concept.id, 'aria-labelledby': headingId } },
      [
        element('h3', { attrs: { id: headingId } }, [
          element('span', { className: 'name', text: concept.name }),
          element('span', {
            className: `kind ${concept.kind}`,
            text: concept.kind === 'person' ? 'person' : 'thing or pet',
          }),
        ]),
        photos,
        facts,
        lesson,
        controls,
      ],
    );
    this.showButtons(concept, controls);
    return card;
  }

  private showButtons(concept: ConceptCard, controls: HTMLElement): void {
    const rename = button('Rename', `Rename ${concept.name}`, `${concept.id}:rename`);
    const forget = button('Forget', `Forget ${concept.name}`, `${concept.id}:forget`, 'danger');
    rename.addEventListener('click', () => this.showRename(concept, controls));
    forget.addEventListener('click', () => this.confirmForget(concept, controls));
    controls.replaceChildren(rename, forget);
  }

  private confirmForget(concept: ConceptCard, controls: HTMLElement): void {
    const question = element('p', { className: 'confirm', text: `Forget ${concept.name} with all their photos?` });
    const yes = button(`Yes, forget`, `Yes, forget ${concept.name}`, `${concept.id}:forget-yes`, 'danger');
    const no = button('Cancel', `Cancel forgetting ${concept.name}`, `${concept.id}:forget-no`);
    const problem = element('p', { className: 'problem', attrs: { role: 'alert' } });
    no.addEventListener('click', () => {
      this.showButtons(concept, controls);
      controls.querySelector<HTMLElement>('.danger')?.focus();
    });
    yes.addEventListener('click', () => {
      yes.disabled = true;
      no.disabled = true;
      this.actions.forget(concept).catch((error: unknown) => {
        problem.textContent = sentenceOf(error);
        yes.disabled = false;
        no.disabled = false;
      });
    });
    controls.replaceChildren(question, yes, no, problem);
    no.focus();
  }

  private showRename(concept: ConceptCard, controls: HTMLElement): void {
    const inputId = `rename-${concept.id}`;
    const input = element('input', {
      attrs: {
        id: inputId,
        type: 'text',
        value: concept.name,
        autocomplete: 'off',
        'data-focus-key': `${concept.id}:rename-input`,
      },
    });
    input.required = true;
    const save = element('button', { text: 'Save', attrs: { type: 'submit' } });
    const cancel = button('Cancel', `Cancel renaming ${concept.name}`, `${concept.id}:rename-no`);
    const problem = element('p', { className: 'problem', attrs: { role: 'alert' } });
    const form = element('form', { className: 'rename' }, [
      element('label', { text: `New name for ${concept.name}`, attrs: { for: inputId } }),
      input,
      save,
      cancel,
      problem,
    ]);
    cancel.addEventListener('click', () => {
      this.showButtons(concept, controls);
      controls.querySelector<HTMLElement>('button')?.focus();
    });
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') cancel.click();
    });
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const name = input.value.trim();
      if (name === '' || name === concept.name) return cancel.click();
      save.disabled = true;
      this.actions.rename(concept, name).catch((error: unknown) => {
        problem.textContent = sentenceOf(error);
        save.disabled = false;
      });
    });
    controls.replaceChildren(form);
    input.focus();
    input.select();
  }
}

function button(text: string, label: string, focusKey: string, className = ''): HTMLButtonElement {
  return element('button', {
    className,
    text,
    attrs: { type: 'button', 'aria-label': label, 'data-focus-key': focusKey },
  });
}
