// The cart: create, add, change quantity, remove, check out; live through
// /streams/carts/{id} (and cart.updated on /streams/me). After a command
// succeeds the cart is read with ?minVersion=<its version>&wait=5, so the
// page shows the command's effect even if the stream is slow or down.
//
// Offline, commands wait in the outbox (commands.js): the cart is drawn as
// the last known read model plus what waits, each waiting line marked
// "waiting for network"; a command refused once it was sent (rejected,
// failed) is shown on the line it concerns until dismissed. The app names
// a new cart itself (POST /api/carts {cartId}), so a cart can be started,
// filled and checked out without a network.

import { ApiError, get, query } from './api.js';
import { dismiss, submit } from './commands.js';
import { $, h, intOrRaw, money, setStatus, shortId, syncList, uuid, wholeNumberErrors } from './dom.js';
import { LiveStream } from './live.js';
import * as outbox from './outbox.js';
import * as session from './session.js';
import { newer, state, streams } from './store.js';

let stream = null;
let navigate = () => {};

/** init takes the router's navigate(hash). */
export function init(opts) {
  navigate = opts.navigate;
  $('#checkout-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    checkout(ev.currentTarget);
  });
  $('#cart-jump').addEventListener('click', () => {
    $('#cart-panel').scrollIntoView({ block: 'start' });
    $('#cart-title').focus();
  });
  $('#new-cart-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    startNew();
  });
  outbox.onChange(() => render());
}

/**
 * restore picks up the user's cart of this tab after sign-in or reload. A
 * cart the user started since (sign-in reads the device's outbox first,
 * which can take a while, and the shop is usable meanwhile) is the current
 * one already: restoring it would read it before its creation is projected,
 * take the 404 for a cart that is gone, and forget it.
 */
export async function restore() {
  if (state.cartId) return;
  const id = session.cartId(state.session.userId);
  if (!id) {
    render();
    return;
  }
  use(id);
  await load(0, { restoring: true });
}

/** forget drops the cart (sign out). */
export function forget() {
  closeStream();
  state.cart = null;
  state.cartId = '';
  render();
}

function use(id) {
  if (state.cartId === id) return;
  closeStream();
  state.cartId = id;
  state.cart = null;
  session.setCartId(state.session.userId, id);
  stream = new LiveStream(
    'cart',
    () => streams(`/streams/carts/${encodeURIComponent(id)}`),
    { 'cart.updated': apply },
    () => load(1),
  ).open();
}

function closeStream() {
  if (stream) stream.close();
  stream = null;
}

// waitingFor are the cart's commands still in the outbox (open or refused).
const waitingFor = (cartId) => outbox.entries().filter((e) => e.target && e.target.cartId === cartId);

/**
 * load reads the cart; minVersion waits (up to 5 s) until the read model
 * has caught up with a command of ours (1: until the cart exists at all).
 * restoring: the id comes from sessionStorage, and a cart that is not there
 * (any more, or not the user's) is forgotten, unless its creation is still
 * waiting in the outbox.
 */
export async function load(minVersion = 0, { restoring = false } = {}) {
  const id = state.cartId;
  if (!id) return;
  try {
    const doc = await get(query(`/api/carts/${encodeURIComponent(id)}`, minVersion ? { minVersion, wait: 5 } : {}));
    if (state.cartId === id) apply(doc);
  } catch (e) {
    if (state.cartId !== id) return;
    if (e instanceof ApiError && (e.status === 404 || e.status === 0)) {
      if (waitingFor(id).some((x) => x.target.kind === 'create')) {
        state.cart = state.cart || blank(id);
        render();
        return; // made offline: it exists once its CreateCart is through
      }
      if (restoring && e.status === 404) {
        session.setCartId(state.session.userId, '');
        forget();
      }
      if (e.status === 404) return; // not projected yet: its cart.updated or the next read brings it
    }
    setStatus($('#cart-status'), `The cart could not be loaded: ${e instanceof ApiError ? e.describe() : e}`, 'error');
  }
}

function blank(id) {
  return { cartId: id, userId: state.session?.userId || '', status: 'open', items: [], totalCents: 0, version: 0 };
}

/** apply takes a cart read model (from a load or a cart.updated event). */
export function apply(doc) {
  if (!doc || doc.cartId !== state.cartId || !newer(doc, state.cart)) return;
  state.cart = doc;
  if (doc.status !== 'open') {
    // Checked out (maybe in another tab) or expired: the next add starts a new cart.
    session.setCartId(state.session.userId, '');
  }
  render();
}

/**
 * settled is called by commands.js when a cart command settles, however
 * long after it was made (offline, before a reload): the cart is read at
 * the command's version, and a checkout opens its order.
 */
export async function settled(e, result) {
  if (!e.target || !e.target.cartId) return;
  if (result.ok && e.target.cartId === state.cartId) await load(result.version);
  if (result.ok && e.target.kind === 'checkout' && result.accepted?.orderId) {
    navigate(`#/orders/${encodeURIComponent(result.accepted.orderId)}`);
  }
  render();
}

// closing says a checkout of the cart is waiting in the outbox.
const closing = (id) => waitingFor(id).some((e) => e.target.kind === 'checkout' && outbox.isOpen(e));

/** ensure returns the id of an open cart, starting one if there is none. */
async function ensure(form) {
  if (state.cartId && (!state.cart || state.cart.status === 'open') && !closing(state.cartId)) return state.cartId;
  return create(form);
}

// create starts a cart the app names itself, so it can be filled (and
// checked out) before the API has even seen it: the commands wait behind
// its CreateCart in the outbox.
async function create(form) {
  const id = uuid();
  use(id);
  state.cart = blank(id);
  render();
  const { entry } = await submit({ label: 'Start a cart', method: 'POST', path: '/api/carts', body: { cartId: id }, target: { kind: 'create', cartId: id }, form, quiet: true });
  return entry ? id : '';
}

/** add puts one unit of product into the cart; card shows the outcome. */
export async function add(product, card) {
  if (!state.session) {
    setStatus($('[data-role="status"]', card), 'Sign in to add products to a cart.', 'error');
    $('#signin-jump').click();
    return;
  }
  const button = $('[data-testid="add-to-cart"]', card);
  button.setAttribute('aria-busy', 'true');
  try {
    const id = await ensure(card);
    if (!id) return;
    const name = product.name || product.sku;
    const { result } = await submit({
      label: `Add ${name} to the cart`,
      method: 'POST',
      path: `/api/carts/${encodeURIComponent(id)}/items`,
      body: { sku: product.sku, quantity: 1 },
      target: { kind: 'add', cartId: id, sku: product.sku, quantity: 1 },
      form: card,
    });
    render();
    await result;
  } finally {
    button.removeAttribute('aria-busy');
  }
}

async function setQuantity(line, li) {
  const input = $('[data-testid="cart-line-quantity"]', li);
  const quantity = intOrRaw(input.value);
  const { result } = await submit({
    label: `Set ${line.name || line.sku} to ${input.value.trim() || '?'}`,
    method: 'PUT',
    path: `/api/carts/${encodeURIComponent(state.cartId)}/items/${encodeURIComponent(line.sku)}`,
    body: { quantity },
    target: { kind: 'set', cartId: state.cartId, sku: line.sku, quantity },
    invalid: wholeNumberErrors({ quantity: input.value }),
    form: li,
  });
  input.blur();
  render();
  await result;
}

async function remove(line, li) {
  const { result } = await submit({
    label: `Remove ${line.name || line.sku}`,
    method: 'DELETE',
    path: `/api/carts/${encodeURIComponent(state.cartId)}/items/${encodeURIComponent(line.sku)}`,
    target: { kind: 'remove', cartId: state.cartId, sku: line.sku },
    form: li,
  });
  render();
  await result;
}

async function checkout(form) {
  const id = state.cartId;
  if (!id || closing(id)) return;
  const paymentToken = $('#payment-method').value;
  const { result } = await submit({
    label: 'Check out',
    method: 'POST',
    path: `/api/carts/${encodeURIComponent(id)}/checkout`,
    body: { paymentToken },
    target: { kind: 'checkout', cartId: id },
    form,
  });
  render();
  await result;
}

function startNew() {
  closeStream();
  state.cartId = '';
  state.cart = null;
  session.setCartId(state.session.userId, '');
  render();
  create($('#new-cart-form'));
}

function lineTotal(l) {
  return (Number(l.unitPriceCents) || 0) * (Number(l.quantity) || 0);
}

const pendingWords = { waiting: 'Waiting for network', sending: 'Sending…', accepted: 'Sending…' };

/**
 * view is the cart to draw: the read model plus the commands waiting in
 * the outbox (their quantities applied, marked pending), and those refused
 * shown on their line.
 */
function view() {
  const cart = state.cart;
  const lines = (cart ? cart.items || [] : []).map((l) => ({ ...l }));
  const byKey = new Map(lines.map((l) => [l.sku, l]));
  const lineFor = (sku) => {
    let l = byKey.get(sku);
    if (!l) {
      const p = state.products.get(sku) || {};
      l = { sku, name: p.name || sku, quantity: 0, unitPriceCents: Number(p.priceCents) || 0 };
      byKey.set(sku, l);
      lines.push(l);
    }
    return l;
  };
  let checkoutEntry = null;
  for (const e of waitingFor(state.cartId)) {
    const t = e.target;
    if (t.kind === 'checkout') checkoutEntry = e;
    if (!t.sku) continue;
    const l = lineFor(t.sku);
    if (!outbox.isOpen(e)) {
      l.refused = e;
      continue;
    }
    // A command the API accepted may already be in the read model: only
    // those not sent yet change the quantities drawn.
    const unsent = e.state !== outbox.Accepted;
    if (t.kind === 'add' && unsent) l.quantity += Number(t.quantity) || 0;
    if (t.kind === 'set' && unsent && Number.isInteger(t.quantity)) l.quantity = t.quantity;
    if (t.kind === 'remove' && unsent) l.removing = true;
    l.pending = e.state === outbox.Waiting ? 'waiting' : 'sending';
  }
  const shown = lines.filter((l) => (l.quantity > 0 && !l.removing) || l.refused || l.pending);
  return { lines: shown, checkoutEntry };
}

function createLine(l) {
  const qtyId = `qty-${l.sku}`;
  const errId = `qty-error-${l.sku}`;
  const li = h('li', { class: 'cart-line', 'data-testid': 'cart-line', dataset: { sku: l.sku } });
  li.append(
    h('span', { class: 'cart-line-name', 'data-testid': 'cart-line-name' }),
    h('span', { class: 'cart-line-total', 'data-testid': 'cart-line-total' }),
    h(
      'div',
      { class: 'cart-line-controls' },
      h('label', { for: qtyId, class: 'visually-hidden', 'data-role': 'qty-label' }),
      h('input', {
        id: qtyId,
        name: 'quantity',
        inputmode: 'numeric',
        'data-testid': 'cart-line-quantity',
        'aria-describedby': errId,
        onkeydown: (ev) => {
          if (ev.key === 'Enter') {
            ev.preventDefault();
            setQuantity(lineOf(l.sku), li);
          }
        },
      }),
      h('button', { type: 'button', class: 'btn btn-small', 'data-testid': 'cart-line-update', onclick: () => setQuantity(lineOf(l.sku), li) }, 'Update'),
      h('button', { type: 'button', class: 'btn btn-small btn-danger', 'data-testid': 'cart-line-remove', onclick: () => remove(lineOf(l.sku), li) }, 'Remove'),
    ),
    h('p', { class: 'field-error', id: errId, 'data-error-for': 'quantity' }),
    h('p', { class: 'form-status', 'data-role': 'status', 'data-testid': 'cart-line-status' }),
    h('p', { class: 'line-note', 'data-testid': 'cart-line-note', 'aria-live': 'polite' }),
  );
  return li;
}

function lineOf(sku) {
  return view().lines.find((l) => l.sku === sku) || { sku };
}

function updateLine(li, l) {
  const name = l.name || l.sku;
  li.dataset.quantity = String(l.quantity);
  li.dataset.pending = l.refused ? l.refused.state : l.pending || '';
  $('[data-testid="cart-line-name"]', li).textContent = `${name} × ${l.quantity}`;
  const total = $('[data-testid="cart-line-total"]', li);
  total.textContent = money(lineTotal(l));
  total.dataset.cents = String(lineTotal(l));
  $('[data-role="qty-label"]', li).textContent = `Quantity of ${name}`;
  const input = $('[data-testid="cart-line-quantity"]', li);
  // Leave what the user is typing alone.
  if (document.activeElement !== input) input.value = String(l.quantity);
  $('[data-testid="cart-line-update"]', li).setAttribute('aria-label', `Update the quantity of ${name}`);
  $('[data-testid="cart-line-remove"]', li).setAttribute('aria-label', `Remove ${name} from the cart`);
  const note = $('[data-testid="cart-line-note"]', li);
  if (l.refused) {
    const e = l.refused;
    note.dataset.kind = 'error';
    note.replaceChildren(
      `${e.label}: ${e.state === 'rejected' ? 'rejected' : e.state} — ${e.reason || 'refused'}. `,
      h('button', { type: 'button', class: 'btn btn-small btn-quiet', 'data-testid': 'cart-line-dismiss', onclick: () => dismiss(e) }, 'Dismiss'),
    );
  } else if (l.pending) {
    note.dataset.kind = 'pending';
    note.textContent = pendingWords[l.pending] || '';
  } else {
    note.dataset.kind = '';
    note.textContent = '';
  }
}

const expiredWords = (cart) => {
  const s = Number(cart.idleSeconds) || 0;
  const span = s >= 7200 ? `${Math.round(s / 3600)} hours` : s >= 120 ? `${Math.round(s / 60)} minutes` : s ? `${s} seconds` : 'a while';
  return `This cart expired after ${span} without changes; add a product to start a new one.`;
};

/** render draws the cart panel. */
export function render() {
  const cart = state.cart;
  const open = !!cart && cart.status === 'open';
  const { lines, checkoutEntry } = open ? view() : { lines: [], checkoutEntry: null };
  $('#cart-id').textContent = state.cartId ? shortId(state.cartId) : '—';
  $('#cart-id').title = state.cartId;
  const status = $('#cart-status');
  const count = lines.reduce((n, l) => n + (Number(l.quantity) || 0), 0);
  if (!state.cartId) setStatus(status, 'No cart yet: add a product, or start one.');
  else if (!cart) setStatus(status, 'Loading the cart…', 'pending');
  else if (cart.status === 'checkedOut') setStatus(status, 'This cart is checked out.');
  else if (cart.status === 'expired') setStatus(status, expiredWords(cart), 'error');
  else if (!lines.length) setStatus(status, 'The cart is empty.');
  else setStatus(status, `${count} item(s).`);
  const panel = $('#cart-panel');
  panel.dataset.status = cart ? cart.status : 'none';
  panel.dataset.pending = lines.some((l) => l.pending) || (checkoutEntry && outbox.isOpen(checkoutEntry)) ? 'true' : 'false';

  syncList($('#cart-lines'), lines, (l) => l.sku, createLine, updateLine);

  const total = $('#cart-total');
  const cents = lines.reduce((s, l) => s + lineTotal(l), 0);
  total.textContent = money(cents);
  total.dataset.cents = String(cents);
  $('#cart-jump-summary').textContent = count ? `${count} item(s), ${money(cents)}` : 'empty';

  const orderP = $('#cart-order');
  orderP.hidden = !(cart && cart.status === 'checkedOut' && cart.orderId);
  if (!orderP.hidden) {
    const a = $('#cart-order-link');
    a.href = `#/orders/${encodeURIComponent(cart.orderId)}`;
    a.textContent = `order ${shortId(cart.orderId)}`;
  }
  $('#checkout-form').hidden = !!cart && cart.status !== 'open';
  const waitingCheckout = checkoutEntry && outbox.isOpen(checkoutEntry);
  const button = $('#checkout-button');
  button.disabled = !open || lines.every((l) => !(l.quantity > 0)) || !!waitingCheckout;
  const coStatus = $('[data-testid="checkout-status"]');
  // The checkout's line is drawn from the outbox while it waits (its own
  // form status may be from before a reload), and cleared after.
  if (waitingCheckout) {
    button.setAttribute('aria-busy', 'true');
    setStatus(coStatus, checkoutEntry.state === outbox.Waiting ? 'Check out: waiting for network.' : 'Check out: sending…', 'pending');
    coStatus.dataset.fromOutbox = 'true';
  } else {
    button.removeAttribute('aria-busy');
    if (checkoutEntry) {
      setStatus(coStatus, `Check out: ${checkoutEntry.state} — ${checkoutEntry.reason}.`, 'error');
      coStatus.dataset.fromOutbox = 'true';
    } else if (coStatus.dataset.fromOutbox === 'true') {
      setStatus(coStatus, '');
      coStatus.dataset.fromOutbox = '';
    }
  }
}
