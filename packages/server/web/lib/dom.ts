/** A tiny DOM builder: text always goes in as text (textContent), never as HTML. */
export type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, string | number | boolean | null | undefined | ((event: Event) => void)>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(name.replace(/^on/, ''), value);
    else if (value === true) el.setAttribute(name, '');
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's children. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

export function $(selector: string): HTMLElement {
  const el = document.querySelector<HTMLElement>(selector);
  if (!el) throw new Error(`missing ${selector}`);
  return el;
}

/** Says something to screen readers through the page's polite live region. */
export function announce(text: string): void {
  const region = document.getElementById('announcer');
  if (!region) return;
  region.textContent = '';
  // A new text node after clearing makes screen readers announce even a repeated message.
  window.setTimeout(() => (region.textContent = text), 50);
}

/** Moves focus to a view's heading (or main) so keyboard and screen reader users land on it. */
export function focusMain(target?: HTMLElement | null): void {
  const el = target ?? document.getElementById('main');
  if (!el) return;
  if (!el.hasAttribute('tabindex')) el.setAttribute('tabindex', '-1');
  el.focus({ preventScroll: false });
}

/**
 * Re-renders part of the page without losing the keyboard user's place: if focus was on a link or
 * button inside `container`, the element with the same href (or label) gets it back afterwards.
 */
export function preserveFocus(container: Element, render: () => void): void {
  const active = document.activeElement;
  const key =
    active && container.contains(active) ? (active.getAttribute('href') ?? active.getAttribute('aria-label') ?? active.textContent) : null;
  render();
  if (key === null) return;
  for (const el of container.querySelectorAll<HTMLElement>('a, button')) {
    if ((el.getAttribute('href') ?? el.getAttribute('aria-label') ?? el.textContent) === key) {
      el.focus({ preventScroll: true });
      return;
    }
  }
}
