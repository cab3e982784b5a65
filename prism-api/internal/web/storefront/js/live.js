// Live updates from stream-service (another origin) over EventSource, and the
// connection indicator.
//
// A stream's URL carries a single-use ticket (store.js streams()), so the
// browser's own reconnect, which reuses the URL, cannot work: on any error
// (a dropped connection, the stream closing when the token expires, an HTTP
// error, a CORS failure) the stream is reopened here with a fresh URL, at
// once the first time and then with a growing delay, passing the last id as
// ?lastEventId= (EventSource cannot set headers) so the service replays what
// was missed. A `reset` event, or reconnecting before any event had an id,
// means what was missed cannot be replayed: the stream's owner refetches its
// state. It also refetches once the stream first opens: a change between its
// first read and the moment the stream listened is in neither.
//
// A phone that sleeps or changes network leaves a stream that looks open but
// carries nothing, or one the browser gave up on: when the page becomes
// visible again, or the browser says it is back online, a stream that is not
// connected (or has heard nothing for a while) is reopened at once with its
// last id. url() may return a promise (a stream ticket is bought per
// connection), so every reconnect asks for a fresh URL.

/** State of one stream or of all of them together. */
export const State = {
  connecting: 'connecting',
  connected: 'connected',
  reconnecting: 'reconnecting',
  resumed: 'resumed',
  offline: 'offline',
};

const RESUMED_FOR_MS = 4000;
const MAX_BACKOFF_MS = 10000;
// Heartbeats come at least every 15 s (API.md); a stream silent for longer
// than this is presumed dead after a sleep or a network change.
const SILENT_MS = 35000;

const streams = new Set();
const listeners = new Set();

/** onStateChange calls fn(state, detail) whenever a stream's state changes; detail is "name:state …". */
export function onStateChange(fn) {
  listeners.add(fn);
  fn(overall(), detail());
}

function detail() {
  return [...streams].map((s) => `${s.name}:${s.state}`).join(' ');
}

/** overall sums up every open stream: the worst state wins. */
export function overall() {
  if (!navigator.onLine) return State.offline;
  const states = [...streams].map((s) => s.state);
  if (states.length === 0) return State.connecting;
  for (const s of [State.reconnecting, State.connecting, State.resumed]) {
    if (states.includes(s)) return s;
  }
  return State.connected;
}

let last = '';
function notify() {
  const now = `${overall()}|${detail()}`;
  if (now === last) return;
  last = now;
  for (const fn of listeners) fn(overall(), detail());
}
window.addEventListener('online', () => {
  notify();
  for (const s of streams) s.wake('online');
});
window.addEventListener('offline', notify);
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') for (const s of streams) s.wake('visible');
});

/**
 * LiveStream is one SSE stream. url() resolves to its URL, anew for every
 * (re)connect (a new ticket each time); handlers maps event types to
 * fn(data, event); refetch() is called when the stream cannot say what was
 * missed.
 */
export class LiveStream {
  constructor(name, url, handlers, refetch) {
    this.name = name;
    this.url = url;
    this.handlers = handlers;
    this.refetch = refetch;
    this.state = State.connecting;
    this.lastId = '';
    this.es = null;
    this.opened = false; // opened at least once
    this.failures = 0;
    this.timer = 0;
    this.resumedTimer = 0;
    this.heardAt = 0; // when the stream last carried anything
    this.connecting = 0; // connect() calls in flight (a URL being bought)
  }

  /** open connects; the stream counts in the indicator until close(). */
  open() {
    streams.add(this);
    this.connect(false);
    return this;
  }

  /**
   * wake reopens the stream at once (with its last id) if it is not
   * connected or has been silent too long: after a sleep or a network
   * change the browser's own retry may be minutes away, or never come.
   */
  wake(why) {
    if (!streams.has(this) || this.connecting) return;
    const silent = Date.now() - this.heardAt > SILENT_MS;
    const live = this.es && this.es.readyState === EventSource.OPEN;
    if (live && !silent) return;
    this.failures = 0;
    if (this.es) this.es.close();
    this.es = null;
    this.setState(this.opened ? State.reconnecting : State.connecting);
    this.connect(true, why);
  }

  async connect(manual) {
    clearTimeout(this.timer);
    let url;
    this.connecting++;
    try {
      url = new URL(await this.url());
    } catch {
      // No URL (no ticket: the API is unreachable or refused): try again.
      if (streams.has(this)) this.retry();
      return;
    } finally {
      this.connecting--;
    }
    if (!streams.has(this)) return; // closed while the URL was made
    if (manual && this.lastId) url.searchParams.set('lastEventId', this.lastId);
    if (this.es) this.es.close();
    const es = new EventSource(url.toString());
    this.es = es;
    this.heardAt = Date.now();
    es.onmessage = () => {
      this.heardAt = Date.now();
    };
    es.onopen = () => {
      if (this.es !== es) return;
      this.heardAt = Date.now();
      const reconnected = this.opened;
      this.opened = true;
      this.failures = 0;
      if (!reconnected) {
        this.setState(State.connected);
        this.refetch?.('opened');
        return;
      }
      // Back after a drop: with an id the service replays what was missed;
      // without one it cannot, so refetch.
      this.setState(State.resumed);
      clearTimeout(this.resumedTimer);
      this.resumedTimer = setTimeout(() => this.state === State.resumed && this.setState(State.connected), RESUMED_FOR_MS);
      if (!this.lastId) this.refetch?.('reconnected without a position');
    };
    es.onerror = () => {
      if (this.es !== es) return;
      // Whatever happened, the browser's own retry would reuse the used
      // ticket: close, and reconnect here with a new one.
      es.close();
      this.retry();
    };
    for (const [type, fn] of Object.entries(this.handlers)) {
      es.addEventListener(type, (ev) => this.dispatch(es, ev, fn));
    }
    es.addEventListener('reset', (ev) => {
      if (this.es !== es) return;
      if (ev.lastEventId) this.lastId = ev.lastEventId;
      this.refetch?.('reset');
    });
  }

  /** retry reconnects: at once after a first failure, then with a growing delay. */
  retry() {
    this.failures++;
    const delay = this.failures === 1 ? 0 : Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(this.failures - 2, 5)) * (0.75 + Math.random() / 2);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(true), delay);
    this.setState(this.opened ? State.reconnecting : State.connecting);
  }

  dispatch(es, ev, fn) {
    if (this.es !== es) return;
    this.heardAt = Date.now();
    if (ev.lastEventId) this.lastId = ev.lastEventId;
    let data = null;
    try {
      data = JSON.parse(ev.data);
    } catch {
      return;
    }
    try {
      fn(data, ev);
    } catch (e) {
      console.error(`${this.name}: handling ${ev.type}`, e);
    }
  }

  setState(s) {
    this.state = s;
    notify();
  }

  /** close disconnects for good. */
  close() {
    clearTimeout(this.timer);
    clearTimeout(this.resumedTimer);
    if (this.es) this.es.close();
    this.es = null;
    streams.delete(this);
    notify();
  }
}

/** streamUrl joins the streams base URL, a path and query parameters. */
export function streamUrl(base, path, params = {}) {
  const u = new URL(base.replace(/\/+$/, '') + path);
  for (const [k, v] of Object.entries(params)) if (v) u.searchParams.set(k, v);
  return u.toString();
}
