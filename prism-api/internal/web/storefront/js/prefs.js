// Notification settings (GET/PUT /api/me/preferences): which channels each
// kind of notification goes through, the e-mail address and the phone
// number; and "Turn on push notifications" for this device.

import { ApiError, get, request } from './api.js';
import { $, $$, clearFieldErrors, h, setStatus, showFieldErrors } from './dom.js';
import * as pwa from './pwa.js';
import { state } from './store.js';

const kinds = [
  ['order.confirmed', 'Order confirmed'],
  ['order.shipped', 'Order shipped'],
  ['order.delivered', 'Order delivered'],
  ['order.cancelled', 'Order cancelled'],
  ['payment.failed', 'Payment failed'],
  ['stock.low', 'Low stock (admins)'],
];
const channels = [
  ['email', 'E-mail'],
  ['sms', 'SMS'],
  ['push', 'Push'],
];

let loaded = null;

/** init draws the form and wires it. */
export function init() {
  const body = $('#prefs-channels');
  body.replaceChildren(
    ...kinds.map(([kind, words]) =>
      h(
        'tr',
        { dataset: { kind } },
        h('th', { scope: 'row' }, words),
        ...channels.map(([ch, chWords]) =>
          h(
            'td',
            {},
            h('input', { type: 'checkbox', name: `${kind}:${ch}`, 'aria-label': `${words} by ${chWords}`, 'data-testid': 'prefs-channel', dataset: { kind, channel: ch } }),
          ),
        ),
      ),
    ),
  );
  $('#prefs-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    save(ev.currentTarget);
  });
  $('#push-button').addEventListener('click', () => turnOnPush());
}

/** forget drops what was loaded (sign out). */
export function forget() {
  loaded = null;
}

/** load reads the settings into the form. */
export async function load() {
  const form = $('#prefs-form');
  const status = $('[data-role="status"]', form);
  try {
    loaded = await get('/api/me/preferences');
    fill(form, loaded);
    setStatus(status, '');
  } catch (e) {
    setStatus(status, `Settings could not be loaded: ${e instanceof ApiError ? e.describe() : e}`, 'error');
  }
  $('#push-button').hidden = !pwa.pushAvailable(state.config.vapidPublicKey);
}

function fill(form, p) {
  form.elements.email.value = p.email || '';
  form.elements.email.placeholder = p.defaultEmail || '';
  form.elements.phone.value = p.phone || '';
  for (const box of $$('[data-testid="prefs-channel"]', form)) {
    box.checked = (p.channels?.[box.dataset.kind] || []).includes(box.dataset.channel);
  }
}

function read(form) {
  const out = { email: form.elements.email.value.trim(), phone: form.elements.phone.value.trim(), channels: {} };
  for (const [kind] of kinds) out.channels[kind] = [];
  for (const box of $$('[data-testid="prefs-channel"]', form)) if (box.checked) out.channels[box.dataset.kind].push(box.dataset.channel);
  return out;
}

async function save(form, extra = '') {
  clearFieldErrors(form);
  const status = $('[data-role="status"]', form);
  setStatus(status, 'Saving…', 'pending');
  try {
    const res = await request('PUT', '/api/me/preferences', { body: read(form) });
    loaded = res.data;
    fill(form, loaded);
    setStatus(status, `Saved.${extra}`, 'ok');
  } catch (e) {
    const err = e instanceof ApiError ? e : new ApiError(0, {});
    const unplaced = showFieldErrors(form, err.errors);
    setStatus(status, `Not saved: ${unplaced.length || !err.errors.length ? err.describe() : 'check the highlighted fields'}.`, 'error');
  }
}

// turnOnPush subscribes this device and turns push on for the order kinds.
async function turnOnPush() {
  const form = $('#prefs-form');
  const status = $('[data-testid="push-status"]');
  setStatus(status, 'Turning on push notifications…', 'pending');
  try {
    await pwa.subscribePush(state.config.vapidPublicKey);
  } catch (e) {
    setStatus(status, `Push notifications are not on: ${e.message || e}.`, 'error');
    return;
  }
  for (const box of $$('[data-testid="prefs-channel"][data-channel="push"]', form)) {
    if (box.dataset.kind.startsWith('order.') || box.dataset.kind === 'payment.failed') box.checked = true;
  }
  setStatus(status, 'Push notifications are on for this device.', 'ok');
  await save(form, ' Push is on for your orders.');
}
