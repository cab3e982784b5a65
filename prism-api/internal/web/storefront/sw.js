// Prism's service worker: it makes the storefront an installable app that
// opens without a network. The app shell (index.html, the modules, the
// stylesheet, the icons, the manifest and the config) is cached at install;
// each of them is then fetched network-first (so a new build shows at once)
// and served from the cache when the network fails or hangs. API calls and
// stream-service are left alone: the app keeps its own last-known reads and
// its offline commands (js/offline.js, js/outbox.js).
//
// prism-api fills in SHELL and VERSION when it serves this file; VERSION
// changes with any file of the shell, so a new build installs a new cache
// and removes the old one.

const VERSION = '__VERSION__';
const SHELL = "__SHELL__";
const CACHE = `prism-shell-${VERSION}`;
const NETWORK_TIMEOUT_MS = 4000;

self.addEventListener('install', (ev) => {
  ev.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL.map((u) => new Request(u, { cache: 'reload' }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (ev) => {
  ev.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith('prism-shell-') && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (ev) => {
  const req = ev.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return; // stream-service
  const key = req.mode === 'navigate' ? '/' : url.pathname;
  if (!SHELL.includes(key)) return; // the API: the app handles it
  ev.respondWith(networkFirst(req, key));
});

// networkFirst answers from the network, refreshing the cache, and from the
// cache when the network fails or takes longer than NETWORK_TIMEOUT_MS.
async function networkFirst(req, key) {
  const cache = await caches.open(CACHE);
  const fromNetwork = fetch(req).then((res) => {
    if (res.ok) cache.put(key, res.clone());
    return res;
  });
  const cached = await cache.match(key);
  if (!cached) return fromNetwork;
  let timer;
  const late = new Promise((resolve) => {
    timer = setTimeout(() => resolve(cached), NETWORK_TIMEOUT_MS);
  });
  try {
    return await Promise.race([fromNetwork, late]);
  } catch {
    return cached;
  } finally {
    clearTimeout(timer);
  }
}

// Web push: show the notification (tagged with its id, so a resend shows
// once) and tell open pages, which refresh their lists.
self.addEventListener('push', (ev) => {
  let p = {};
  try {
    p = ev.data ? ev.data.json() : {};
  } catch {
    p = { body: ev.data ? ev.data.text() : '' };
  }
  ev.waitUntil(
    Promise.all([
      self.registration.showNotification(p.title || 'Prism shop', {
        body: p.body || '',
        tag: p.id || undefined,
        icon: '/assets/icons/icon-192.png',
        data: { url: p.url || '/#/notifications' },
      }),
      self.clients.matchAll({ type: 'window' }).then((clients) => clients.forEach((c) => c.postMessage({ type: 'push', payload: p }))),
    ]),
  );
});

self.addEventListener('notificationclick', (ev) => {
  ev.notification.close();
  const url = (ev.notification.data && ev.notification.data.url) || '/';
  ev.waitUntil(
    self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then((clients) => {
      for (const c of clients) {
        if ('focus' in c) {
          if ('navigate' in c) c.navigate(url);
          return c.focus();
        }
      }
      return self.clients.openWindow(url);
    }),
  );
});
