// The storefront's entry point: configuration, sign-in, the hash router
// (#/, #/orders, #/orders/<id>, #/notifications, #/admin), the live streams,
// the connection indicator, and the installable app's offline behaviour:
// the service worker, the outbox sent when the network returns, and the
// reads refreshed (with minVersion) once it is back.

import * as admin from './admin.js';
import { ApiError, configure, forgetReads, get, request } from './api.js';
import * as cart from './cart.js';
import * as commands from './commands.js';
import { $, $$, configureMoney, setStatus, showFieldErrors, clearFieldErrors } from './dom.js';
import { LiveStream, onStateChange, State } from './live.js';
import * as notifications from './notifications.js';
import * as orders from './orders.js';
import * as outbox from './outbox.js';
import * as prefs from './prefs.js';
import * as products from './products.js';
import * as pwa from './pwa.js';
import * as session from './session.js';
import { state, streams } from './store.js';

let meStream = null;
let expiryTimer = 0;

const connWords = {
  [State.connecting]: 'Connecting…',
  [State.connected]: 'Live',
  [State.reconnecting]: 'Reconnecting…',
  [State.resumed]: 'Live (resumed)',
  [State.offline]: 'Offline',
};

async function boot() {
  commands.init({ liveRegion: $('#live-region'), activityLog: $('#command-log') });
  configure({
    token: () => state.session?.token || '',
    unauthorized: () => signOut('Your session has expired; sign in again.'),
    owner: () => state.session?.userId || '',
    stale: () => pwa.showNetwork(false),
  });
  commands.configure({
    user: () => state.session?.userId || '',
    onSettled: (e, result) => {
      cart.settled(e, result);
      if (result.ok) pwa.showNetwork(true);
    },
  });
  pwa.showNetwork(navigator.onLine);
  window.addEventListener('offline', () => pwa.showNetwork(false));
  window.addEventListener('online', () => backOnline());
  onStateChange((s, detail) => {
    const el = $('[data-testid="connection-status"]');
    el.dataset.state = s;
    el.dataset.streams = detail;
    $('.conn-text', el).textContent = connWords[s] || s;
    el.title = `Live updates: ${connWords[s] || s}`;
  });

  products.init({ add: cart.add });
  cart.init({ navigate });
  orders.init();
  notifications.init();
  prefs.init();
  admin.init();
  $('#signin-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    signIn(ev.currentTarget);
  });
  $('#signout').addEventListener('click', () => signOut(''));
  $('#signin-jump').addEventListener('click', (ev) => {
    ev.preventDefault();
    $('#signin-panel').scrollIntoView({ block: 'start' });
    focusSignIn();
  });
  window.addEventListener('hashchange', () => route(true));

  try {
    state.config = { ...state.config, ...(await get('/storefront-config.json', { auth: false })) };
  } catch (e) {
    const msg = $('#boot-error');
    msg.textContent = `The storefront's configuration could not be loaded (${e instanceof ApiError ? e.describe() : e}); live updates are off.`;
    msg.hidden = false;
  }
  configureMoney(state.config.currency, state.config.locale);
  pwa.init({ onPush: () => notifications.load() }); // not awaited: the app works without it
  for (const el of $$('[data-dev-only]')) el.hidden = !state.config.devMode;
  for (const el of $$('[data-token-only]')) el.hidden = !!state.config.devMode;

  if (state.config.streamsUrl) {
    new LiveStream(
      'products',
      () => streams('/streams/products', false),
      { 'product.updated': products.apply },
      () => products.load(),
    ).open();
  }
  products.load();

  const saved = session.load();
  state.session = saved;
  renderSession();
  route(false);
  if (saved) await startSession(saved);
  document.body.dataset.ready = 'true';
}

// ---- Session -------------------------------------------------------------

async function signIn(form) {
  clearFieldErrors(form);
  const status = $('[data-role="status"]', form);
  let s;
  if (state.config.devMode) {
    const userId = form.elements.userId.value.trim();
    const roles = form.elements.admin.checked ? ['admin'] : [];
    setStatus(status, 'Signing in…', 'pending');
    try {
      const res = await request('POST', '/api/dev/token', { body: { userId, roles }, auth: false });
      s = session.fromToken(res.data.token);
    } catch (e) {
      const err = e instanceof ApiError ? e : new ApiError(0, {});
      const unplaced = showFieldErrors(form, err.errors);
      setStatus(status, `Not signed in: ${unplaced.length || !err.errors.length ? err.describe() : 'check the highlighted field'}.`, 'error');
      return;
    }
  } else {
    s = session.fromToken(form.elements.token.value.trim());
    if (!s) {
      showFieldErrors(form, [{ field: 'token', message: 'is not a JWT with a subject' }]);
      setStatus(status, 'Not signed in.', 'error');
      return;
    }
  }
  session.save(s);
  setStatus(status, '');
  form.reset();
  await startSession(s);
  commands.announce(`Signed in as ${s.userId}.`);
  route(false);
}

async function startSession(s) {
  state.session = s;
  renderSession();
  clearTimeout(expiryTimer);
  if (s.expiresAt) {
    // The streams would only fail from then on: sign out instead.
    expiryTimer = setTimeout(() => signOut('Your session has expired; sign in again.'), Math.min(Math.max(s.expiresAt - Date.now(), 0), 2 ** 31 - 1));
  }
  if (state.config.streamsUrl) {
    // The stream first, then the reads: a change in between arrives as an
    // event, and older reads never overwrite newer versions.
    meStream = new LiveStream(
      'me',
      () => streams('/streams/me'),
      {
        'command.completed': commands.completed,
        'cart.updated': cart.apply,
        'order.updated': orders.apply,
        notification: notifications.apply,
      },
      refetchMine,
    ).open();
  }
  await outbox.refresh(s.userId);
  await Promise.all([cart.restore(), notifications.load()]);
  commands.drain(); // what waited on this device from before
}

// backOnline sends what waited in the outbox and rereads what is on screen
// (the cart at the version it had, so a stale copy never wins).
function backOnline() {
  pwa.showNetwork(true);
  products.load();
  if (!state.session) return;
  commands.drain();
  if (state.cartId) cart.load(state.cart?.version || 0);
  orders.refresh();
  notifications.load();
}

// refetchMine rereads everything /streams/me covers (after a reset).
function refetchMine() {
  commands.recheck();
  cart.load(1);
  orders.refresh();
  notifications.load();
}

function signOut(message) {
  if (!state.session) return; // already (several 401s can arrive at once)
  clearTimeout(expiryTimer);
  if (meStream) meStream.close();
  meStream = null;
  session.clear();
  forgetReads(state.session.userId);
  state.session = null;
  outbox.refresh('');
  prefs.forget();
  cart.forget();
  orders.forget();
  notifications.forget();
  $('#command-log').replaceChildren();
  renderSession();
  history.replaceState(null, '', '#/');
  route(false);
  const status = $('[data-role="status"]', $('#signin-form'));
  setStatus(status, message || 'Signed out.', message ? 'error' : '');
  commands.announce(message || 'Signed out.');
  focusSignIn();
}

function focusSignIn() {
  $(state.config.devMode ? '#signin-user' : '#signin-token').focus();
}

function renderSession() {
  const s = state.session;
  for (const el of $$('[data-signed-in]')) el.hidden = !s;
  for (const el of $$('[data-signed-out]')) el.hidden = !!s;
  for (const el of $$('[data-admin]')) el.hidden = !session.isAdmin(s);
  $('[data-testid="session-user"]').textContent = s ? s.userId + (session.isAdmin(s) ? ' (admin)' : '') : '';
}

// ---- Router --------------------------------------------------------------

/** navigate goes to a hash route (and renders it even if it is the same). */
export function navigate(hash) {
  if (location.hash === hash) route(true);
  else location.hash = hash;
}

function parse(hash) {
  let parts;
  try {
    parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    return { name: 'shop' }; // a malformed %-escape
  }
  if (parts[0] === 'orders' && parts[1]) return { name: 'order', id: parts[1] };
  if (['orders', 'notifications', 'admin'].includes(parts[0])) return { name: parts[0] };
  return { name: 'shop' };
}

const titles = { shop: 'Products', orders: 'Your orders', order: 'Order', notifications: 'Notifications', admin: 'Admin' };

function route(moveFocus) {
  // Only "#/…" is a route; "#main" (the skip link) is not.
  if (location.hash && !location.hash.startsWith('#/')) return;
  let r = parse(location.hash);
  if (r.name !== 'shop' && !state.session) {
    setStatus($('[data-role="status"]', $('#signin-form')), 'Sign in to see that page.', 'error');
    r = { name: 'shop' };
  }
  state.route = r;
  for (const v of $$('[data-view]')) v.hidden = v.dataset.view !== r.name;
  for (const a of $$('.nav a[data-route]')) {
    const current = a.dataset.route === r.name || (r.name === 'order' && a.dataset.route === 'orders');
    if (current) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = `${titles[r.name]} · Prism storefront`;

  if (r.name === 'order') orders.show(r.id);
  else orders.hide();
  if (r.name === 'orders') orders.loadList(false);
  notifications.setVisible(r.name === 'notifications');
  if (r.name === 'notifications') {
    notifications.load(false);
    prefs.load();
  }
  if (r.name === 'admin') {
    const ok = session.isAdmin(state.session);
    $('#admin-denied').hidden = ok;
    $('#admin-forms').hidden = !ok;
  }
  if (moveFocus) {
    const heading = $(`[data-view="${r.name}"] h1`);
    if (heading) heading.focus();
  }
}

boot().catch((e) => {
  console.error(e);
  const msg = $('#boot-error');
  msg.textContent = `The storefront failed to start: ${e}`;
  msg.hidden = false;
});
