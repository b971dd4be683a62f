// Building the page: every piece of text goes in as a text node (textContent),
// never as markup, so a user named <img src=x onerror=alert(1)> shows as those characters.

/**
 * @typedef {string | number | Node | null | undefined | false} Child
 * @typedef {Record<string, string | number | boolean | ((ev: Event) => void) | undefined>} Props
 */

/**
 * An element with properties (on* are listeners, the rest attributes) and children (strings become text).
 * @param {string} tag
 * @param {Props} [props]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElement}
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
  return el;
}

/**
 * Replaces an element's children.
 * @param {Element} el
 * @param {...(Child | Child[])} children
 */
export function fill(el, ...children) {
  el.replaceChildren();
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
}

/** @param {number | null | undefined} v @param {number} [digits] */
export function pct(v, digits = 1) {
  return v === null || v === undefined ? '–' : `${(v * 100).toFixed(digits)} %`;
}

/** @param {number | null | undefined} v */
export function secs(v) {
  return v === null || v === undefined ? '–' : `${v.toFixed(1)} s`;
}

/** @param {number | null | undefined} bps */
export function rate(bps) {
  if (bps === null || bps === undefined) return '–';
  if (bps >= 1e6) return `${(bps / 1e6).toFixed(2)} Mbit/s`;
  if (bps >= 1e3) return `${(bps / 1e3).toFixed(0)} kbit/s`;
  return `${Math.round(bps)} bit/s`;
}

/** @param {string | null | undefined} iso */
export function when(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

/**
 * A table with a header row; rows are built by the caller.
 * @param {string[]} headings
 * @param {HTMLElement[]} rows
 */
export function table(headings, rows) {
  return h('table', {}, h('thead', {}, h('tr', {}, headings.map((t) => h('th', {}, t)))), h('tbody', {}, rows));
}

/**
 * A form whose submit calls `onSubmit` with its fields; an error from it shows in the form, as its message.
 * @param {string} className
 * @param {HTMLElement[]} fields
 * @param {string} label
 * @param {(data: Record<string, string>) => Promise<void>} onSubmit
 */
export function form(className, fields, label, onSubmit) {
  const error = h('span', { class: 'error', role: 'alert' });
  const el = /** @type {HTMLFormElement} */ (h('form', { class: `toolbar ${className}` }, fields, h('button', { type: 'submit' }, label), error));
  el.addEventListener('submit', (ev) => {
    ev.preventDefault();
    /** @type {Record<string, string>} */
    const data = {};
    for (const [k, v] of new window.FormData(el)) data[k] = String(v);
    fill(error);
    onSubmit(data).then(
      () => el.reset(),
      (err) => fill(error, err instanceof Error ? err.message : String(err)),
    );
  });
  return el;
}

/**
 * A labelled input.
 * @param {string} label
 * @param {Props} props
 */
export function field(label, props) {
  return h('label', {}, label, h('input', props));
}
