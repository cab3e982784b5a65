// The product list, with live stock from /streams/products.

import { allPages, ApiError } from './api.js';
import { $, h, money, setStatus, syncList } from './dom.js';
import { newer, state } from './store.js';

let onAdd = () => {};

/** init takes what "Add to cart" does: onAdd(product, card). */
export function init({ add }) {
  onAdd = add;
}

/** load (re)reads the whole catalogue. */
export async function load() {
  const status = $('#products-status');
  try {
    const items = await allPages('/api/products', { limit: 100 });
    const seen = new Set();
    for (const p of items) {
      seen.add(p.sku);
      const cur = state.products.get(p.sku);
      if (newer(p, cur)) state.products.set(p.sku, p);
    }
    for (const sku of [...state.products.keys()]) if (!seen.has(sku)) state.products.delete(sku);
    render();
  } catch (e) {
    setStatus(status, `Products could not be loaded: ${e instanceof ApiError ? e.describe() : e}`, 'error');
  }
}

/** apply takes a product.updated event (the product's read model). */
export function apply(p) {
  if (!p || !p.sku) return;
  const cur = state.products.get(p.sku);
  if (!newer(p, cur)) return;
  state.products.set(p.sku, p);
  render();
  if (cur) {
    const card = $(`#product-list [data-sku="${CSS.escape(p.sku)}"]`);
    if (card) {
      card.classList.remove('flash');
      void card.offsetWidth; // restart the animation
      card.classList.add('flash');
    }
  }
}

function stockWords(n) {
  if (n <= 0) return ['Out of stock', 'out'];
  if (n <= 3) return [`Only ${n} left`, 'low'];
  return [`${n} in stock`, 'ok'];
}

function create(p) {
  const statusId = `product-status-${p.sku}`;
  return h(
    'li',
    { class: 'product', 'data-testid': 'product-card', dataset: { sku: p.sku } },
    h('h3', { 'data-testid': 'product-name' }),
    h('span', { class: 'sku' }, 'SKU ', h('span', { class: 'mono' }, p.sku)),
    h('span', { class: 'price', 'data-testid': 'product-price' }),
    h('span', { class: 'stock', 'data-testid': 'product-stock' }),
    h('button', {
      type: 'button',
      class: 'btn btn-primary',
      'data-testid': 'add-to-cart',
      'aria-describedby': statusId,
      onclick: (ev) => onAdd(state.products.get(p.sku), ev.currentTarget.closest('li')),
    }),
    h('p', { class: 'form-status', 'data-role': 'status', 'data-testid': 'product-status', id: statusId, 'aria-live': 'off' }),
  );
}

function update(el, p) {
  $('[data-testid="product-name"]', el).textContent = p.name || p.sku;
  const price = $('[data-testid="product-price"]', el);
  price.textContent = money(p.priceCents);
  price.dataset.cents = String(p.priceCents);
  const [words, level] = stockWords(Number(p.available) || 0);
  const stock = $('[data-testid="product-stock"]', el);
  stock.textContent = words;
  stock.dataset.level = level;
  el.dataset.available = String(p.available);
  $('[data-testid="add-to-cart"]', el).setAttribute('aria-label', `Add ${p.name || p.sku} to the cart`);
  $('[data-testid="add-to-cart"]', el).textContent = 'Add to cart';
}

/** render draws the list in SKU order. */
export function render() {
  const list = $('#product-list');
  const items = [...state.products.values()].sort((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0));
  syncList(list, items, (p) => p.sku, create, update);
  setStatus(
    $('#products-status'),
    items.length ? `${items.length} product${items.length === 1 ? '' : 's'}; stock updates live.` : 'No products yet.',
  );
  const known = $('#known-skus');
  if (known) syncList(known, items, (p) => p.sku, (p) => h('option', { value: p.sku }), () => {});
}
