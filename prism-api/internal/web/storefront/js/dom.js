// Small DOM helpers. Everything that comes from the server goes into the page
// as text (textContent, attributes), never as HTML.

/** $ returns the first element matching sel under root. */
export const $ = (sel, root = document) => root.querySelector(sel);

/** $$ returns every element matching sel under root, as an array. */
export const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

/**
 * h builds an element: h('button', {type: 'button', class: 'x', dataset: {sku},
 * onclick: fn, 'aria-label': '…'}, 'text', childNode, …). null, undefined and
 * false attributes and children are skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/**
 * syncList makes the children of list match items, reusing the element of
 * each key (so focus and typed input survive a live update): create(item)
 * makes an element, update(el, item) refreshes one.
 */
export function syncList(list, items, key, create, update) {
  const existing = new Map();
  for (const el of Array.from(list.children)) {
    if (el.dataset.key !== undefined) existing.set(el.dataset.key, el);
    else el.remove();
  }
  let cursor = list.firstElementChild;
  for (const item of items) {
    const k = String(key(item));
    let el = existing.get(k);
    if (el) {
      existing.delete(k);
      update(el, item);
    } else {
      el = create(item);
      el.dataset.key = k;
      update(el, item);
    }
    if (el !== cursor) list.insertBefore(el, cursor);
    else cursor = cursor.nextElementSibling;
  }
  for (const el of existing.values()) el.remove();
}

let moneyFormat = new Intl.NumberFormat('en', { style: 'currency', currency: 'EUR' });
let minorUnits = 100;

/**
 * configureMoney sets the currency (ISO 4217) and locale (BCP 47) that
 * money() formats with, as /storefront-config.json names them; a bad pair
 * keeps the previous one and returns false.
 */
export function configureMoney(currency, locale) {
  try {
    const f = new Intl.NumberFormat(locale || undefined, { style: 'currency', currency });
    moneyFormat = f;
    minorUnits = 10 ** f.resolvedOptions().maximumFractionDigits;
    return true;
  } catch {
    return false;
  }
}

/** money formats an amount in cents (minor units) with the currency: 450 → "€4.50". */
export function money(cents) {
  const n = Math.trunc(Number(cents) || 0);
  return moneyFormat.format(n / minorUnits);
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

/** timeEl is a <time> showing an RFC 3339 instant in the local time zone. */
export function timeEl(iso) {
  const d = new Date(iso);
  if (!iso || Number.isNaN(d.getTime())) return h('time', {}, '—');
  return h('time', { datetime: d.toISOString() }, dateTime.format(d));
}

/** shortId shortens a UUID for display ("3f2a9c1e…"); the full id stays in title. */
export function shortId(id) {
  return id && id.length > 12 ? `${id.slice(0, 8)}…` : id || '';
}

/** sentence capitalises the first letter: "cart is checked out" → "Cart is checked out". */
export function sentence(s) {
  s = String(s || '').trim();
  return s ? s[0].toUpperCase() + s.slice(1) : s;
}

/** setStatus writes a form's status line; kind is '', 'pending', 'ok' or 'error'. */
export function setStatus(el, text, kind = '') {
  if (!el) return;
  el.textContent = text || '';
  el.dataset.kind = kind;
}

/**
 * clearFieldErrors empties every [data-error-for] message in scope and
 * clears aria-invalid on its inputs.
 */
export function clearFieldErrors(scope) {
  if (!scope) return;
  for (const el of $$('[data-error-for]', scope)) el.textContent = '';
  for (const el of $$('[aria-invalid]', scope)) el.removeAttribute('aria-invalid');
}

/**
 * showFieldErrors puts each {field, message} next to its input (the element
 * [data-error-for=field] in scope, and the input [data-field=field] or
 * [name=field]); it returns the errors that have no place in the form, and
 * focuses the first invalid input.
 */
export function showFieldErrors(scope, errors) {
  const unplaced = [];
  let first = null;
  for (const e of errors || []) {
    const slot = scope && $(`[data-error-for="${cssEscape(e.field)}"]`, scope);
    if (!slot) {
      unplaced.push(e);
      continue;
    }
    slot.textContent = slot.textContent ? `${slot.textContent} ${sentence(e.message)}.` : `${sentence(e.message)}.`;
    const input = $(`[data-field="${cssEscape(e.field)}"], [name="${cssEscape(e.field)}"]`, scope);
    if (input) {
      input.setAttribute('aria-invalid', 'true');
      first = first || input;
    }
  }
  if (first) first.focus();
  return unplaced;
}

function cssEscape(s) {
  return window.CSS && CSS.escape ? CSS.escape(String(s)) : String(s).replace(/["\\]/g, '\\$&');
}

/**
 * intOrRaw turns an input's text into what the API should see: a number when
 * it is a whole number, undefined when empty (the API says "is required"),
 * and otherwise the text itself (the API names the field: "must be an integer").
 */
export function intOrRaw(text) {
  const t = String(text ?? '').trim();
  if (t === '') return undefined;
  return /^-?\d+$/.test(t) ? Number(t) : t;
}

/**
 * wholeNumberErrors checks number fields before sending: JSON cannot carry
 * "abc" as a number, and the API stops at the first wrongly typed field, so
 * these are found here, all at once. fields maps field names to input text;
 * empty text is left to the API ("is required").
 */
export function wholeNumberErrors(fields) {
  return Object.entries(fields)
    .filter(([, text]) => typeof intOrRaw(text) === 'string')
    .map(([field]) => ({ field, message: 'must be a whole number' }));
}

/** uuid is a random UUID v4, also outside secure contexts (no crypto.randomUUID there). */
export function uuid() {
  if (window.crypto && typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const x = Array.from(b, (v) => v.toString(16).padStart(2, '0')).join('');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
