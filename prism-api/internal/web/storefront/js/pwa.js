// The installable app: the service worker (sw.js caches the app shell, so
// the app opens offline), the install button (when the browser offers it),
// whether the network is there, and web push on this device.

import { ApiError, request } from './api.js';
import { $, setStatus } from './dom.js';

let installEvent = null;
let registration = null;

/**
 * init registers the service worker and wires the install button. onPush
 * is called with the payload of each push the worker receives while the
 * page is open.
 */
export async function init({ onPush }) {
  window.addEventListener('beforeinstallprompt', (ev) => {
    ev.preventDefault();
    installEvent = ev;
    $('#install-button').hidden = false;
  });
  window.addEventListener('appinstalled', () => {
    installEvent = null;
    $('#install-button').hidden = true;
  });
  $('#install-button').addEventListener('click', async () => {
    if (!installEvent) return;
    installEvent.prompt();
    await installEvent.userChoice.catch(() => null);
    installEvent = null;
    $('#install-button').hidden = true;
  });
  if (!('serviceWorker' in navigator)) {
    document.body.dataset.sw = 'unsupported';
    return;
  }
  navigator.serviceWorker.addEventListener('message', (ev) => {
    if (ev.data && ev.data.type === 'push') onPush(ev.data.payload || {});
  });
  try {
    registration = await navigator.serviceWorker.register('/sw.js', { scope: '/' });
    await navigator.serviceWorker.ready;
    document.body.dataset.sw = 'ready';
  } catch (e) {
    console.warn('service worker not registered', e);
    document.body.dataset.sw = 'failed';
  }
}

/** pushAvailable says whether this browser can subscribe to web push here. */
export function pushAvailable(vapidKey) {
  return !!vapidKey && 'PushManager' in window && 'Notification' in window && !!registration;
}

function keyBytes(b64url) {
  const b64 = b64url.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(b64url.length / 4) * 4, '=');
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

/**
 * subscribePush asks for permission, subscribes this device to web push
 * with the VAPID key and registers the subscription with the API. It
 * resolves to true, or throws an Error saying why not.
 */
export async function subscribePush(vapidKey) {
  if (!pushAvailable(vapidKey)) throw new Error('this browser cannot receive push notifications here');
  const permission = await Notification.requestPermission();
  if (permission !== 'granted') throw new Error(`notifications are ${permission === 'denied' ? 'blocked' : 'not allowed'} for this site`);
  let sub = await registration.pushManager.getSubscription();
  if (!sub) sub = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(vapidKey) });
  try {
    await request('POST', '/api/me/push-subscriptions', { body: sub.toJSON() });
  } catch (e) {
    throw new Error(e instanceof ApiError ? e.describe() : String(e));
  }
  return true;
}

/** showNetwork marks the page online or offline (the banner, body[data-network]). */
export function showNetwork(online) {
  document.body.dataset.network = online ? 'online' : 'offline';
  const banner = $('#offline-banner');
  banner.hidden = online;
  if (!online) setStatus($('[data-testid="offline-status"]'), 'You are offline: what you do waits on this device and is sent when the connection returns.');
}
