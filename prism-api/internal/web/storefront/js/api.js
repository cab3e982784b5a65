// prism-api over fetch (same origin): JSON in and out, problem+json errors
// turned into ApiError, the bearer token added, commands sent with an
// Idempotency-Key that retries reuse, and the last answer of every read kept
// (localStorage, per user), so that offline a read answers the last known
// state instead of failing.

import { sleep, uuid } from './dom.js';

/** ApiError is a non-2xx answer (status 0: the network failed). */
export class ApiError extends Error {
  constructor(status, problem = {}) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
    /** errors are the problem's [{field, message}] (validation). */
    this.errors = Array.isArray(problem.errors) ? problem.errors : [];
  }

  /** describe says what went wrong in words. */
  describe() {
    if (this.status === 0) return 'The API cannot be reached; check your connection.';
    if (this.errors.length) return this.errors.map((e) => `${e.field} ${e.message}`).join('; ');
    if (this.status === 401) return 'Your session has expired; sign in again.';
    if (this.status === 403) return 'You are not allowed to do this (it needs the admin role).';
    if (this.status === 404) return this.problem.detail || 'Not found.';
    if (this.status === 503) return 'The service is unavailable right now; try again in a moment.';
    return this.problem.detail || this.problem.title || `The API answered ${this.status}.`;
  }
}

let tokenOf = () => '';
let onUnauthorized = () => {};
let ownerOf = () => '';
let onStale = () => {};

/**
 * configure sets where the token comes from, what a 401 does, whose reads
 * are kept (owner(): the user id) and what to do when a read answers the
 * last known state because the network failed (stale(path)).
 */
export function configure({ token, unauthorized, owner = () => '', stale = () => {} }) {
  tokenOf = token;
  onUnauthorized = unauthorized;
  ownerOf = owner;
  onStale = stale;
}

/**
 * request sends one request and returns {status, headers, data}; a non-2xx
 * answer throws ApiError. Options: body (sent as JSON), headers, auth
 * (default true: send the token when there is one).
 */
export async function request(method, path, { body, headers = {}, auth = true } = {}) {
  const h = { Accept: 'application/json, application/problem+json', ...headers };
  if (body !== undefined) h['Content-Type'] = 'application/json';
  const token = auth ? tokenOf() : '';
  if (token) h.Authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: h,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'same-origin',
    });
  } catch (e) {
    throw new ApiError(0, { title: 'Network error', detail: String(e && e.message) });
  }
  let data = null;
  const type = res.headers.get('Content-Type') || '';
  if (type.includes('json')) {
    try {
      data = await res.json();
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const err = new ApiError(res.status, data || {});
    err.retryAfter = Number(res.headers.get('Retry-After')) || 0;
    if (res.status === 401 && token) onUnauthorized(err);
    throw err;
  }
  return { status: res.status, headers: res.headers, data };
}

const READ_PREFIX = 'prism.read.';

// readKey names a read's kept answer: per user (public reads under "-"),
// without the read-your-writes parameters.
function readKey(path, opts) {
  const u = new URL(path, location.origin);
  u.searchParams.delete('minVersion');
  u.searchParams.delete('wait');
  const who = opts && opts.auth === false ? '-' : ownerOf() || '-';
  return `${READ_PREFIX}${who}:${u.pathname}${u.search}`;
}

/**
 * get is request('GET', …) returning only the data. When the network fails
 * it answers the last data this user read there, if any (and calls the
 * configured stale(path)); otherwise the ApiError.
 */
export async function get(path, opts) {
  const key = readKey(path, opts);
  try {
    const data = (await request('GET', path, opts)).data;
    try {
      localStorage.setItem(key, JSON.stringify(data));
    } catch {
      // full or unavailable: reads still work online
    }
    return data;
  } catch (e) {
    if (e instanceof ApiError && e.status === 0) {
      const kept = localStorage.getItem(key);
      if (kept !== null) {
        onStale(path);
        return JSON.parse(kept);
      }
    }
    throw e;
  }
}

/** forgetReads drops the reads kept for a user (sign out). */
export function forgetReads(userId) {
  const prefix = `${READ_PREFIX}${userId}:`;
  for (let i = localStorage.length - 1; i >= 0; i--) {
    const k = localStorage.key(i);
    if (k && k.startsWith(prefix)) localStorage.removeItem(k);
  }
}

/** query builds "path?k=v&…", leaving out empty values. */
export function query(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/** retriable says a command may be sent again with the same key later. */
export const retriable = (e) => e instanceof ApiError && (e.status === 0 || e.status === 409 || e.status === 429 || e.status === 503);

/**
 * send sends a command with its Idempotency-Key (a fresh one if key is
 * empty) and returns the 202's body (plus idempotencyKey and replayed). A
 * key still in flight (409) is retried here, a few times, with the same key,
 * which the API turns into the first answer instead of a second command; a
 * network error or 503 is thrown at once (the outbox sends it again later,
 * with the same key).
 */
export async function send(method, path, body, key = '') {
  key = key || uuid();
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await request(method, path, { body, headers: { 'Idempotency-Key': key } });
      return { ...res.data, idempotencyKey: key, replayed: res.headers.get('Idempotent-Replayed') === 'true' };
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 409) || attempt >= 5) throw e;
      await sleep(1000 * Math.max(e.retryAfter || 0, Math.min(attempt, 3)));
    }
  }
}

/** allPages follows nextCursor, at most maxPages, and returns every item. */
export async function allPages(path, params = {}, maxPages = 20) {
  const items = [];
  let cursor;
  for (let i = 0; i < maxPages; i++) {
    const page = await get(query(path, { ...params, cursor }));
    items.push(...(page.items || []));
    cursor = page.nextCursor;
    if (!cursor) break;
  }
  return items;
}
