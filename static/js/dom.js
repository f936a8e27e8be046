// Small DOM helpers shared by every screen: element building, dialogs, toasts, formatting.

/** Builds an element: h('button', {class: 'primary', onclick}, 'Save'). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  // A button submits its form only when it says so: a plain click must never save twice.
  if (tag === 'button') el.type = 'button';
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'class') {
      el.className = value;
    } else if (key === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (key === 'value' || key === 'checked' || key === 'disabled') {
      el[key] = value;
    } else {
      el.setAttribute(key, value === true ? '' : value);
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A modal dialog on a native <dialog>: Escape closes it, focus stays inside. */
export function openDialog({ title, subtitle, body, footer, wide, onClose }) {
  const close = () => dialog.close();
  const dialog = h('dialog', { class: wide ? 'modal wide' : 'modal', 'aria-label': title },
    h('header', { class: 'modal-head' },
      h('div', {}, h('h2', {}, title), subtitle ? h('p', { class: 'muted' }, subtitle) : null),
      h('button', { class: 'icon', 'aria-label': 'Close dialog', onclick: close }, '×')),
    h('div', { class: 'modal-body' }, body),
    footer ? h('footer', { class: 'modal-foot' }, footer) : null);
  dialog.addEventListener('close', () => { dialog.remove(); onClose?.(); });
  document.body.append(dialog);
  dialog.showModal();
  return { dialog, close };
}

/** "This action cannot be undone" confirmation; resolves true on OK. */
export function confirmDialog(title, text, okLabel = 'OK') {
  return new Promise((resolve) => {
    let answered = false;
    const { close } = openDialog({
      title,
      body: h('p', {}, text),
      footer: [
        h('button', { class: 'outline', onclick: () => close() }, 'Cancel'),
        h('button', { class: 'danger', onclick: () => { answered = true; close(); } }, okLabel),
      ],
      onClose: () => resolve(answered),
    });
  });
}

/** A short message in the corner; errors stay until dismissed. */
export function toast(message, kind = 'info') {
  const box = document.getElementById('toasts');
  const item = h('div', { class: `toast ${kind}`, role: kind === 'error' ? 'alert' : 'status' },
    h('span', {}, message),
    h('button', { class: 'icon', 'aria-label': 'Dismiss', onclick: () => item.remove() }, '×'));
  box.append(item);
  if (kind !== 'error') setTimeout(() => item.remove(), 4000);
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August',
  'September', 'October', 'November', 'December'];

/** Label Studio's card date: "March 04, 2025 ∙ 14:03:22" in local time. */
export function formatSyncTime(iso) {
  if (!iso) return 'Not synced yet';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const pad = (n) => String(n).padStart(2, '0');
  return `${MONTHS[d.getMonth()]} ${pad(d.getDate())}, ${d.getFullYear()} ∙ `
    + `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** "3 minutes ago" for file previews. */
export function relativeTime(iso) {
  if (!iso) return '';
  const seconds = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
  const units = [['year', 31536000], ['month', 2592000], ['day', 86400], ['hour', 3600], ['minute', 60]];
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size) {
      const n = Math.round(seconds / size);
      return `${n} ${unit}${n === 1 ? '' : 's'} ago`;
    }
  }
  return 'just now';
}

export function humanSize(bytes) {
  if (bytes === null || bytes === undefined) return '';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  return `${value < 10 && unit > 0 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

export function shortDate(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleDateString(undefined,
    { year: 'numeric', month: 'short', day: 'numeric' });
}

/** Shortens a long key in the middle, keeping its start and its file name. */
export function middleEllipsis(text, max = 48) {
  if (text.length <= max) return text;
  const keep = Math.floor((max - 1) / 2);
  return `${text.slice(0, keep)}…${text.slice(text.length - keep)}`;
}

/** `key` shown below the folder the listing started from (the full key stays in a tooltip). */
export function relativeKey(key, root) {
  const folder = root.replace(/\/+$/, '');
  if (folder && key.startsWith(`${folder}/`)) return key.slice(folder.length + 1);
  return key;
}
