// Building the page's elements. Text goes in as textContent and attributes
// one by one, never as markup: a concept's name or a reply cannot inject
// HTML, whatever it contains.

export interface ElementSpec {
  className?: string;
  text?: string;
  attrs?: Record<string, string>;
}

export function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  spec: ElementSpec = {},
  children: readonly Node[] = [],
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (spec.className !== undefined) node.className = spec.className;
  if (spec.text !== undefined) node.textContent = spec.text;
  for (const [name, value] of Object.entries(spec.attrs ?? {})) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

/** The element with this id, of this type; a page missing it is a broken build, so this throws. */
export function byId<T extends HTMLElement>(id: string, type: new () => T): T {
  const node = document.getElementById(id);
  if (!(node instanceof type)) throw new Error(`The page has no ${type.name} #${id}`);
  return node;
}

/**
 * Keeps a scrolling list at its newest entry while the reader is there, and
 * leaves it alone once they scroll back to read. Pictures grow the list when
 * they load, after they were added, so each load scrolls again.
 */
export class BottomFollower {
  private following = true;
  private lastTop = 0;

  constructor(private readonly container: HTMLElement) {
    // Only the reader scrolling up stops the following: a picture that loads grows the list without a scroll of
    // its own, and must not count as the reader leaving the bottom.
    container.addEventListener('scroll', () => {
      const distance = container.scrollHeight - container.scrollTop - container.clientHeight;
      if (distance < 48) this.following = true;
      else if (container.scrollTop < this.lastTop) this.following = false;
      this.lastTop = container.scrollTop;
    });
    // `load` does not bubble; capturing sees every picture inside the list.
    container.addEventListener('load', () => this.settle(), true);
  }

  /** Makes a change to the list, and keeps its newest entry in view if the reader was following. */
  change(apply: () => void): void {
    apply();
    this.settle();
  }

  private settle(): void {
    if (this.following) this.container.scrollTop = this.container.scrollHeight;
  }
}
