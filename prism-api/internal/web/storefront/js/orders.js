// Orders: the list (GET /api/orders, paged) kept current by order.updated on
// /streams/me, and one order's page, live on /streams/orders/{id}, with its
// status history and a cancel button.

import { ApiError, get, query } from './api.js';
import { run } from './commands.js';
import { $, h, money, setStatus, shortId, syncList, timeEl } from './dom.js';
import { LiveStream } from './live.js';
import { newer, state, streams } from './store.js';

const PAGE = 20;

/** statusWords names each order status. */
export const statusWords = {
  placed: 'Placed',
  stockReserved: 'Stock reserved',
  paid: 'Paid',
  confirmed: 'Confirmed',
  shipped: 'Shipped',
  delivered: 'Delivered',
  cancelled: 'Cancelled',
};

/** cancelWords says why an order was cancelled. */
export const cancelWords = {
  out_of_stock: 'a product was out of stock',
  payment_declined: 'the payment was declined',
  payment_timeout: 'the payment did not answer in time',
  customer: 'you cancelled it',
};

const nextWords = {
  placed: 'Reserving stock…',
  stockReserved: 'Taking the payment…',
  paid: 'Confirming…',
  confirmed: 'Waiting to be shipped.',
  shipped: 'On its way.',
};

const cancellable = new Set(['placed', 'stockReserved', 'paid', 'confirmed']);

const list = { items: [], nextCursor: '', loaded: false, loading: false };
let current = null; // the order page's read model
let currentId = '';
let stream = null;

/** init wires the buttons. */
export function init() {
  $('#orders-more').addEventListener('click', () => loadList(true));
  $('#order-cancel-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    cancel(ev.currentTarget);
  });
}

/** forget drops everything (sign out). */
export function forget() {
  list.items = [];
  list.nextCursor = '';
  list.loaded = false;
  hide();
  renderList();
}

/** loadList reads the first page again, or (more) the next one. */
export async function loadList(more = false) {
  if (list.loading) return;
  list.loading = true;
  const status = $('#orders-status');
  if (!more) setStatus(status, 'Loading your orders…', 'pending');
  try {
    const page = await get(query('/api/orders', { limit: PAGE, cursor: more ? list.nextCursor : '' }));
    const items = page.items || [];
    if (more) {
      const known = new Set(list.items.map((o) => o.orderId));
      list.items.push(...items.filter((o) => !known.has(o.orderId)));
    } else {
      list.items = items;
    }
    list.nextCursor = page.nextCursor || '';
    list.loaded = true;
    renderList();
  } catch (e) {
    setStatus(status, `Your orders could not be loaded: ${e instanceof ApiError ? e.describe() : e}`, 'error');
  } finally {
    list.loading = false;
  }
}

/** refresh reloads what is on screen (after a stream reset). */
export function refresh() {
  if (list.loaded) loadList(false);
  if (currentId) loadOrder(currentId, 1);
}

/** apply takes an order.updated event (the order's read model). */
export function apply(doc) {
  if (!doc || !doc.orderId) return;
  if (doc.orderId === currentId && newer(doc, current)) {
    current = doc;
    renderOrder();
  }
  if (!list.loaded) return;
  const summary = {
    orderId: doc.orderId,
    status: doc.status,
    cancelReason: doc.cancelReason,
    totalCents: doc.totalCents,
    itemCount: (doc.items || []).reduce((n, l) => n + (Number(l.quantity) || 0), 0),
    version: doc.version,
    createdAt: doc.createdAt,
    updatedAt: doc.updatedAt,
  };
  const i = list.items.findIndex((o) => o.orderId === doc.orderId);
  if (i >= 0) {
    if (newer(summary, list.items[i])) list.items[i] = summary;
  } else {
    list.items.unshift(summary); // a new order is the newest
  }
  renderList();
}

function createEntry(o) {
  return h(
    'li',
    { 'data-testid': 'order-list-item', dataset: { orderId: o.orderId } },
    h(
      'a',
      { class: 'order-link', href: `#/orders/${encodeURIComponent(o.orderId)}` },
      h('span', {}, 'Order ', h('span', { class: 'mono', 'data-role': 'id' })),
      h('span', { class: 'status-badge', 'data-role': 'status' }),
      h('span', { class: 'meta', 'data-role': 'meta' }),
    ),
  );
}

function updateEntry(li, o) {
  li.dataset.status = o.status;
  $('[data-role="id"]', li).textContent = shortId(o.orderId);
  $('[data-role="id"]', li).title = o.orderId;
  const badge = $('[data-role="status"]', li);
  badge.textContent = statusWords[o.status] || o.status;
  badge.dataset.status = o.status;
  const meta = $('[data-role="meta"]', li);
  meta.replaceChildren(
    `${o.itemCount ?? '?'} item(s) · ${money(o.totalCents)} · placed `,
    timeEl(o.createdAt),
    o.status === 'cancelled' && o.cancelReason ? ` · ${cancelWords[o.cancelReason] || o.cancelReason}` : '',
  );
}

function renderList() {
  syncList($('#order-list'), list.items, (o) => o.orderId, createEntry, updateEntry);
  if (list.loaded) setStatus($('#orders-status'), list.items.length ? '' : 'No orders yet.');
  $('#orders-more').hidden = !list.nextCursor;
}

/** show opens an order's page: read it (waiting for it to exist) and follow it live. */
export function show(id) {
  if (currentId === id) {
    renderOrder();
    return;
  }
  hide();
  currentId = id;
  current = null;
  stream = new LiveStream(
    'order',
    () => streams(`/streams/orders/${encodeURIComponent(id)}`),
    { 'order.updated': apply },
    () => loadOrder(id, 1),
  ).open();
  renderOrder();
  loadOrder(id, 1);
}

/** hide leaves the order page. */
export function hide() {
  if (stream) stream.close();
  stream = null;
  currentId = '';
  current = null;
  setStatus($('[data-role="status"]', $('#order-cancel-form')), '');
}

// loadOrder reads the order; minVersion waits (up to 10 s) for that version
// (1: a new order takes a moment to exist; an existing one answers at once).
async function loadOrder(id, minVersion) {
  try {
    const doc = await get(query(`/api/orders/${encodeURIComponent(id)}`, { minVersion, wait: 10 }));
    if (id === currentId && newer(doc, current)) {
      current = doc;
      renderOrder();
    }
  } catch (e) {
    if (id !== currentId) return;
    const words = e instanceof ApiError && e.status === 404 ? 'There is no such order (or it is not yours).' : `The order could not be loaded: ${e instanceof ApiError ? e.describe() : e}`;
    setStatus($('#order-loading'), words, 'error');
  }
}

function renderOrder() {
  $('#view-order').dataset.orderId = currentId;
  $('#order-id').textContent = shortId(currentId);
  $('#order-id').title = currentId;
  const o = current;
  $('#order-body').hidden = !o;
  if (!o) {
    setStatus($('#order-loading'), currentId ? 'Loading the order…' : '', 'pending');
    return;
  }
  setStatus($('#order-loading'), '');
  const status = $('#order-status');
  status.textContent = statusWords[o.status] || o.status;
  status.dataset.status = o.status;
  $('#order-cancel-reason').textContent =
    o.status === 'cancelled' && o.cancelReason ? `— ${cancelWords[o.cancelReason] || o.cancelReason}` : '';
  $('#order-next').textContent = nextWords[o.status] || '';
  $('#order-tracking-wrap').hidden = !o.trackingNumber;
  $('#order-tracking').textContent = o.trackingNumber || '';

  const history = (o.history && o.history.length ? o.history : [{ status: o.status, at: o.updatedAt }]).map((x, i) => ({ ...x, i }));
  syncList(
    $('#order-history'),
    history,
    (x) => `${x.i}-${x.status}`,
    (x) => h('li', { 'data-testid': 'order-history-entry', dataset: { status: x.status } }),
    (li, x) => li.replaceChildren(h('strong', {}, statusWords[x.status] || x.status), timeEl(x.at)),
  );

  $('#order-items').replaceChildren(
    ...(o.items || []).map((l) =>
      h(
        'tr',
        { dataset: { sku: l.sku } },
        h('th', { scope: 'row' }, l.name || l.sku),
        h('td', { class: 'num' }, String(l.quantity)),
        h('td', { class: 'num' }, money(l.unitPriceCents)),
        h('td', { class: 'num' }, money((Number(l.unitPriceCents) || 0) * (Number(l.quantity) || 0))),
      ),
    ),
  );
  const total = $('#order-total');
  total.textContent = money(o.totalCents);
  total.dataset.cents = String(o.totalCents);
  $('#order-cancel').hidden = !cancellable.has(o.status);
}

async function cancel(form) {
  const id = currentId;
  if (!id) return;
  const button = $('#order-cancel');
  if (button.getAttribute('aria-busy') === 'true') return;
  button.setAttribute('aria-busy', 'true');
  try {
    const res = await run({ label: `Cancel order ${shortId(id)}`, method: 'POST', path: `/api/orders/${encodeURIComponent(id)}/cancel`, body: {}, form });
    if (res.ok && id === currentId) await loadOrder(id, res.version);
  } finally {
    button.removeAttribute('aria-busy');
  }
}

/** currentOrderId is the order on screen, or ''. */
export const currentOrderId = () => currentId;

/** listLoaded says whether the list was read at least once. */
export const listLoaded = () => list.loaded;
