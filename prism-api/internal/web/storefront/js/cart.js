// The cart: create, add, change quantity, remove, check out; live through
// /streams/carts/{id} (and cart.updated on /streams/me). After a command
// succeeds the cart is read with ?minVersion=<its version>&wait=5, so the
// page shows the command's effect even if the stream is slow or down.

import { ApiError, get, query } from './api.js';
import { run } from './commands.js';
import { $, h, intOrRaw, money, setStatus, shortId, syncList, wholeNumberErrors } from './dom.js';
import { LiveStream } from './live.js';
import * as session from './session.js';
import { newer, state, streams } from './store.js';

let stream = null;
let creating = null; // the CreateCart in progress, shared by concurrent adds
let navigate = () => {};
let checkingOut = false;

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
    startNew(ev.currentTarget);
  });
}

/** restore picks up the user's cart of this tab after sign-in or reload. */
export async function restore() {
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
  creating = null;
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

/**
 * load reads the cart; minVersion waits (up to 5 s) until the read model
 * has caught up with a command of ours (1: until the cart exists at all).
 * restoring: the id comes from sessionStorage, and a cart that is not there
 * (any more, or not the user's) is forgotten.
 */
export async function load(minVersion = 0, { restoring = false } = {}) {
  const id = state.cartId;
  if (!id) return;
  try {
    const doc = await get(query(`/api/carts/${encodeURIComponent(id)}`, minVersion ? { minVersion, wait: 5 } : {}));
    if (state.cartId === id) apply(doc);
  } catch (e) {
    if (state.cartId !== id) return;
    if (e instanceof ApiError && e.status === 404) {
      if (restoring) {
        session.setCartId(state.session.userId, '');
        forget();
      }
      return; // not projected yet: its cart.updated or the next read brings it
    }
    setStatus($('#cart-status'), `The cart could not be loaded: ${e instanceof ApiError ? e.describe() : e}`, 'error');
  }
}

/** apply takes a cart read model (from a load or a cart.updated event). */
export function apply(doc) {
  if (!doc || doc.cartId !== state.cartId || !newer(doc, state.cart)) return;
  state.cart = doc;
  if (doc.status === 'checkedOut') {
    // Checked out (maybe in another tab): the next add starts a new cart.
    session.setCartId(state.session.userId, '');
  }
  render();
}

/** ensure returns the id of an open cart, creating one if there is none. */
async function ensure(form) {
  if (state.cartId && (!state.cart || state.cart.status === 'open')) return state.cartId;
  if (!creating) {
    creating = create(form).finally(() => {
      creating = null;
    });
  }
  return creating;
}

async function create(form) {
  const res = await run({ label: 'Start a cart', method: 'POST', path: '/api/carts', body: {}, form, quiet: true });
  if (!res.ok) return '';
  use(res.aggregateId);
  state.cart = { cartId: res.aggregateId, status: 'open', items: [], totalCents: 0, version: 0 };
  render();
  await load(res.version);
  return res.aggregateId;
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
    const res = await run({
      label: `Add ${name} to the cart`,
      method: 'POST',
      path: `/api/carts/${encodeURIComponent(id)}/items`,
      body: { sku: product.sku, quantity: 1 },
      form: card,
    });
    if (res.ok) await load(res.version);
  } finally {
    button.removeAttribute('aria-busy');
  }
}

async function setQuantity(line, li) {
  const input = $('[data-testid="cart-line-quantity"]', li);
  const quantity = intOrRaw(input.value);
  const res = await run({
    label: `Set ${line.name || line.sku} to ${input.value.trim() || '?'}`,
    method: 'PUT',
    path: `/api/carts/${encodeURIComponent(state.cartId)}/items/${encodeURIComponent(line.sku)}`,
    body: { quantity },
    invalid: wholeNumberErrors({ quantity: input.value }),
    form: li,
  });
  if (res.ok) await load(res.version);
}

async function remove(line, li) {
  const res = await run({
    label: `Remove ${line.name || line.sku}`,
    method: 'DELETE',
    path: `/api/carts/${encodeURIComponent(state.cartId)}/items/${encodeURIComponent(line.sku)}`,
    form: li,
  });
  if (res.ok) await load(res.version);
}

async function checkout(form) {
  if (!state.cartId || checkingOut) return;
  const paymentToken = $('#payment-method').value;
  checkingOut = true;
  render();
  let res;
  try {
    res = await run({
      label: 'Check out',
      method: 'POST',
      path: `/api/carts/${encodeURIComponent(state.cartId)}/checkout`,
      body: { paymentToken },
      form,
    });
  } finally {
    checkingOut = false;
    render();
  }
  if (!res.ok) return;
  await load(res.version);
  const orderId = res.accepted.orderId;
  if (orderId) navigate(`#/orders/${encodeURIComponent(orderId)}`);
}

async function startNew(form) {
  closeStream();
  state.cartId = '';
  state.cart = null;
  session.setCartId(state.session.userId, '');
  render();
  await ensure(form);
}

function lineTotal(l) {
  return (Number(l.unitPriceCents) || 0) * (Number(l.quantity) || 0);
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
  );
  return li;
}

function lineOf(sku) {
  return (state.cart?.items || []).find((l) => l.sku === sku) || { sku };
}

function updateLine(li, l) {
  const name = l.name || l.sku;
  li.dataset.quantity = String(l.quantity);
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
}

/** render draws the cart panel. */
export function render() {
  const cart = state.cart;
  const open = !!cart && cart.status === 'open';
  const items = cart ? cart.items || [] : [];
  $('#cart-id').textContent = state.cartId ? shortId(state.cartId) : '—';
  $('#cart-id').title = state.cartId;
  const status = $('#cart-status');
  if (!state.cartId) setStatus(status, 'No cart yet: add a product, or start one.');
  else if (!cart) setStatus(status, 'Loading the cart…', 'pending');
  else if (cart.status === 'checkedOut') setStatus(status, 'This cart is checked out.');
  else if (!items.length) setStatus(status, 'The cart is empty.');
  else setStatus(status, `${items.reduce((n, l) => n + (Number(l.quantity) || 0), 0)} item(s).`);
  $('#cart-panel').dataset.status = cart ? cart.status : 'none';

  syncList($('#cart-lines'), open ? items : [], (l) => l.sku, createLine, updateLine);

  const total = $('#cart-total');
  const cents = cart ? Number(cart.totalCents) || items.reduce((s, l) => s + lineTotal(l), 0) : 0;
  total.textContent = money(cents);
  total.dataset.cents = String(cents);
  const count = open ? items.reduce((n, l) => n + (Number(l.quantity) || 0), 0) : 0;
  $('#cart-jump-summary').textContent = count ? `${count} item(s), ${money(cents)}` : 'empty';

  const orderP = $('#cart-order');
  orderP.hidden = !(cart && cart.status === 'checkedOut' && cart.orderId);
  if (!orderP.hidden) {
    const a = $('#cart-order-link');
    a.href = `#/orders/${encodeURIComponent(cart.orderId)}`;
    a.textContent = `order ${shortId(cart.orderId)}`;
  }
  $('#checkout-form').hidden = !!cart && cart.status === 'checkedOut';
  const button = $('#checkout-button');
  button.disabled = !open || items.length === 0;
  if (checkingOut) button.setAttribute('aria-busy', 'true');
  else button.removeAttribute('aria-busy');
}
