// Notifications: GET /api/notifications (paged), and `notification` events
// on /streams/me put new ones on top. The nav badge counts those that came
// while the page was not on screen.

import { ApiError, get, query } from './api.js';
import { $, h, sentence, setStatus, syncList, timeEl } from './dom.js';

const PAGE = 20;
const list = { items: [], nextCursor: '', loaded: false, loading: false };
let unread = 0;
let visible = false;
const fresh = new Set(); // ids that arrived live and are not yet seen

/** init wires the "Load more" button. */
export function init() {
  $('#notifications-more').addEventListener('click', () => load(true));
}

/** forget drops everything (sign out). */
export function forget() {
  list.items = [];
  list.nextCursor = '';
  list.loaded = false;
  unread = 0;
  fresh.clear();
  render();
}

/** setVisible says whether the notifications page is on screen (it marks them read). */
export function setVisible(v) {
  visible = v;
  if (v) unread = 0;
  else fresh.clear();
  render();
}

/** load reads the first page again, or (more) the next one. */
export async function load(more = false) {
  if (list.loading) return;
  list.loading = true;
  try {
    const page = await get(query('/api/notifications', { limit: PAGE, cursor: more ? list.nextCursor : '' }));
    const items = page.items || [];
    if (more) list.items.push(...items.filter((n) => !list.items.some((x) => x.id === n.id)));
    else {
      // Keep live arrivals the first page does not have yet.
      const ids = new Set(items.map((n) => n.id));
      list.items = [...list.items.filter((n) => fresh.has(n.id) && !ids.has(n.id)), ...items];
    }
    list.nextCursor = page.nextCursor || '';
    list.loaded = true;
    render();
  } catch (e) {
    setStatus($('#notifications-status'), `Notifications could not be loaded: ${e instanceof ApiError ? e.describe() : e}`, 'error');
  } finally {
    list.loading = false;
  }
}

/** apply takes a `notification` event. */
export function apply(n) {
  if (!n || !n.id || list.items.some((x) => x.id === n.id)) return;
  list.items.unshift(n);
  fresh.add(n.id);
  if (!visible) unread++;
  render();
}

function create() {
  return h('li', { 'data-testid': 'notification' });
}

function update(li, n) {
  li.dataset.kind = n.kind || '';
  li.dataset.id = n.id;
  if (n.orderId) li.dataset.orderId = n.orderId;
  li.classList.toggle('new', fresh.has(n.id));
  li.replaceChildren(
    h('span', { 'data-role': 'message' }, sentence(n.message || n.kind)),
    ...(n.orderId ? [' ', h('a', { href: `#/orders/${encodeURIComponent(n.orderId)}` }, 'View the order')] : []),
    timeEl(n.createdAt),
  );
}

function render() {
  syncList($('#notification-list'), list.items, (n) => n.id, create, update);
  if (list.loaded) setStatus($('#notifications-status'), list.items.length ? '' : 'No notifications yet.');
  $('#notifications-more').hidden = !list.nextCursor;
  const badge = $('[data-testid="notification-count"]');
  badge.hidden = unread === 0;
  badge.textContent = String(unread);
  badge.setAttribute('aria-label', `${unread} new`);
}
