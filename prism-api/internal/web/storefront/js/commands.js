// Commands and their outcomes. Every command first goes into the outbox
// (IndexedDB, with its Idempotency-Key), then is sent, one at a time and in
// the order they were made, and answered 202 pending; its outcome arrives as
// a command.completed event on /streams/me, or, if that does not come soon
// (stream down, event missed), by polling GET /api/commands/{id}. Only then
// is the next one sent: the domain service's replicas compete for commands,
// so this is what keeps "create the cart, add, add, check out" in order.
// Without a network a command stays in the outbox "waiting for network" and
// is sent when the connection returns, with the same key however often it
// is retried. Each command is an entry of the activity log, and its outcome
// is announced in the aria-live region.

import { ApiError, get, retriable, send } from './api.js';
import { $, clearFieldErrors, h, sentence, setStatus, showFieldErrors, uuid } from './dom.js';
import * as outbox from './outbox.js';

const waiting = new Map(); // commandId → resolve(outcome)
const early = new Map(); // commandId → command.completed that came before its 202 was read
const POLL_AFTER_MS = 1500;
const GIVE_UP_MS = 60000;

/** completed takes a command.completed event from /streams/me. */
export function completed(ev) {
  if (!ev || !ev.commandId) return;
  const resolve = waiting.get(ev.commandId);
  if (resolve) resolve(ev);
  else {
    early.set(ev.commandId, ev);
    if (early.size > 200) early.delete(early.keys().next().value);
  }
}

/** recheck polls every command still waiting (after a stream reset). */
export function recheck() {
  for (const id of waiting.keys()) poll(id).catch(() => {});
}

async function poll(id) {
  const st = await get(`/api/commands/${encodeURIComponent(id)}`);
  if (st && st.status && st.status !== 'pending') waiting.get(id)?.(st);
}

/** outcome waits for the command's final status (or gives up: pending). */
function outcome(id) {
  return new Promise((resolve) => {
    let done = false;
    let timer = 0;
    const finish = (st) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      waiting.delete(id);
      resolve(st);
    };
    waiting.set(id, finish);
    const seen = early.get(id);
    if (seen) {
      early.delete(id);
      finish(seen);
      return;
    }
    const started = Date.now();
    let delay = POLL_AFTER_MS;
    const tick = async () => {
      if (done) return;
      try {
        await poll(id);
      } catch {
        // keep trying until the deadline
      }
      if (done) return;
      if (Date.now() - started > GIVE_UP_MS) {
        finish({ commandId: id, status: 'pending', reason: 'no outcome yet; it may still complete' });
        return;
      }
      delay = Math.min(delay * 1.5, 5000);
      timer = setTimeout(tick, delay);
    };
    timer = setTimeout(tick, delay);
  });
}

let announcer = null;
let log = null;

/** init names the aria-live region and the activity log. */
export function init({ liveRegion, activityLog }) {
  announcer = liveRegion;
  log = activityLog;
}

/** announce says text in the aria-live region. */
export function announce(text) {
  if (!announcer) return;
  // Clear first so the same words twice are read twice.
  announcer.textContent = '';
  setTimeout(() => {
    announcer.textContent = text;
  }, 50);
}

const statusWords = {
  queued: 'Waiting for network',
  sending: 'Sending…',
  pending: 'Pending…',
  succeeded: 'Done',
  rejected: 'Rejected',
  failed: 'Failed',
  invalid: 'Not sent',
  error: 'Not sent',
};

function logEntry(label) {
  const status = h('span', { class: 'cmd-status', 'data-testid': 'command-status' });
  const detail = h('span', { class: 'cmd-detail', 'data-testid': 'command-detail' });
  const li = h('li', { class: 'cmd', 'data-testid': 'command' }, h('span', { class: 'cmd-label' }, label), ' ', status, ' ', detail);
  if (log) {
    log.prepend(li);
    while (log.children.length > 30) log.lastElementChild.remove();
  }
  return {
    set(st, text = '', commandId = '') {
      li.dataset.status = st;
      if (commandId) li.dataset.commandId = commandId;
      status.textContent = statusWords[st] || st;
      detail.textContent = text;
    },
  };
}

let userOf = () => '';
let settled = () => {};
const entryLogs = new Map(); // outbox seq → activity-log entry
const callers = new Map(); // outbox seq → {resolve, answered, form, statusEl, label, quiet}
const RETRY_MS = 3000;
let retryTimer = 0;

/**
 * configure names the signed-in user (whose outbox is sent) and what to do
 * when a command settles, whoever made it (this page, before a reload, or
 * offline): settled(entry, result).
 */
export function configure({ user, onSettled }) {
  userOf = user;
  settled = onSettled;
}

/**
 * run puts a command in the outbox and sends it when its turn comes.
 * Options:
 *   label    what it does, in words ("Add Green tea to the cart")
 *   method, path, body
 *   target   what it concerns, for showing it on the page while it waits
 *            or after it was refused: {kind, cartId?, sku?, quantity?, …}
 *   form     where field errors go ([data-error-for=field]) and whose
 *            [data-role=status] element shows progress and the outcome
 *   quiet    do not announce success (for chatty commands)
 *   invalid  field errors found before sending ([{field, message}]): the
 *            command is not sent and they are shown as the API's would be
 * It resolves to {ok, status, reason, version, aggregateId, accepted, error}
 * with status "queued" when the network is away: the command then waits in
 * the outbox, and settled() reports its outcome later.
 */
export async function run(opts) {
  return (await submit(opts)).result;
}

/**
 * submit is run, returning as soon as the command is in the outbox:
 * {entry, result} where result is run's promise (entry is null when the
 * command was refused before it was stored).
 */
export async function submit({ label, method, path, body, target = {}, form, quiet = false, invalid = [] }) {
  clearFieldErrors(form);
  const statusEl = form ? $('[data-role="status"]', form) : null;
  if (invalid.length) {
    const err = new ApiError(400, { title: 'invalid fields', errors: invalid });
    const entry = logEntry(label);
    return { entry: null, result: Promise.resolve(refused(entry, statusEl, form, label, err)) };
  }
  const user = userOf();
  const e = await outbox.add({ userId: user, label, method, path, body: body === undefined ? null : body, key: uuid(), target, state: outbox.Waiting });
  entryLogs.set(e.seq, logEntry(label));
  entryLogs.get(e.seq).set('sending');
  setStatus(statusEl, `${label}: sending…`, 'pending');
  const result = new Promise((resolve) => callers.set(e.seq, { resolve, form, statusEl, label, quiet }));
  drain();
  return { entry: e, result };
}

let draining = null;

/**
 * drain sends the signed-in user's outbox, in order, one command at a
 * time. It stops at the first command the network does not carry (it stays
 * waiting) and tries again a few seconds later, when the browser says it is
 * back online, or when drain is called again.
 */
export function drain() {
  if (!draining) {
    draining = drainOnce().finally(() => {
      draining = null;
    });
  }
  return draining;
}

async function drainOnce() {
  clearTimeout(retryTimer);
  for (;;) {
    const user = userOf();
    if (!user) return;
    const next = (await outbox.list(user)).find(outbox.isOpen);
    if (!next) return;
    if (!(await deliver(next))) {
      // Offline (or the API is away): everything after it waits too.
      for (const e of (await outbox.list(user)).filter(outbox.isOpen)) queued(e);
      retryTimer = setTimeout(drain, RETRY_MS);
      return;
    }
  }
}

// deliver sends one entry (again, with its key, if it was sent before) and
// waits for its outcome. false: the network did not carry it.
async function deliver(e) {
  const log = entryLogs.get(e.seq) || logEntry(e.label);
  entryLogs.set(e.seq, log);
  const caller = callers.get(e.seq);
  let accepted;
  try {
    e.state = outbox.Sending;
    await outbox.put(e);
    log.set('sending', e.attempts ? `attempt ${e.attempts + 1}, same key` : '');
    accepted = await send(e.method, e.path, e.body === null ? undefined : e.body, e.key);
  } catch (err) {
    const apiErr = err instanceof ApiError ? err : new ApiError(0, { detail: String(err) });
    if (retriable(apiErr)) {
      e.state = outbox.Waiting;
      e.attempts = (e.attempts || 0) + 1;
      await outbox.put(e);
      return false;
    }
    e.state = apiErr.errors.length ? 'invalid' : 'error';
    e.reason = apiErr.describe();
    await outbox.put(e);
    const result = refused(log, caller?.statusEl, caller?.form, e.label, apiErr);
    finish(e, result);
    return true;
  }
  e.state = outbox.Accepted;
  e.commandId = accepted.commandId;
  e.accepted = accepted;
  await outbox.put(e);
  log.set('pending', accepted.replayed ? 'sent again with the same key: the first answer' : '', accepted.commandId);
  setStatus(caller?.statusEl, `${e.label}: pending…`, 'pending');
  const st = await outcome(accepted.commandId);
  if (st.status === 'pending') {
    // No outcome yet (the network went away after the 202): ask again later.
    return false;
  }
  const result = {
    ok: st.status === 'succeeded',
    status: st.status,
    reason: st.reason || '',
    version: st.version || 0,
    aggregateId: st.aggregateId || accepted.aggregateId,
    accepted,
  };
  if (result.ok) {
    await outbox.remove(e);
    log.set('succeeded', accepted.replayed ? 'sent more than once with the same key: applied once' : '', accepted.commandId);
    setStatus(caller?.statusEl, `${e.label}: done.`, 'ok');
    if (!caller?.quiet) announce(`${e.label}: done.`);
  } else {
    const why =
      st.status === 'rejected'
        ? sentence(st.reason || 'rejected')
        : st.status === 'failed'
          ? `It failed after retries${st.reason ? `: ${st.reason}` : ''}`
          : sentence(st.reason || st.status);
    e.state = st.status;
    e.reason = why;
    await outbox.put(e); // kept, to be shown on the item it concerns until dismissed
    log.set(st.status, why, accepted.commandId);
    setStatus(caller?.statusEl, `${e.label}: ${statusWords[st.status]?.toLowerCase() || st.status} — ${why}.`, 'error');
    announce(`${e.label}: ${statusWords[st.status] || st.status}. ${why}.`);
  }
  finish(e, result);
  return true;
}

// queued tells whoever waits on an entry that it is waiting for the network.
function queued(e) {
  const log = entryLogs.get(e.seq) || logEntry(e.label);
  entryLogs.set(e.seq, log);
  log.set('queued', e.attempts ? `tried ${e.attempts}×; will retry with the same key` : 'will be sent when the connection returns', e.commandId || '');
  const caller = callers.get(e.seq);
  if (caller) {
    setStatus(caller.statusEl, `${e.label}: waiting for network.`, 'pending');
    // The page goes on; the form's status still shows the outcome later.
    if (!caller.answered) caller.resolve({ ok: false, status: 'queued', reason: 'waiting for network', entry: e });
    caller.answered = true;
  }
}

function finish(e, result) {
  const caller = callers.get(e.seq);
  callers.delete(e.seq);
  if (caller && !caller.answered) caller.resolve(result);
  try {
    settled(e, result);
  } catch (err) {
    console.error('settled', err);
  }
}

function refused(entry, statusEl, form, label, err) {
  const unplaced = err.errors.length ? showFieldErrors(form, err.errors) : [];
  const invalid = err.errors.length > 0;
  const words = invalid
    ? unplaced.length
      ? unplaced.map((x) => `${x.field} ${x.message}`).join('; ')
      : 'check the highlighted fields'
    : err.describe();
  entry.set(invalid ? 'invalid' : 'error', sentence(words));
  setStatus(statusEl, `${label}: not sent — ${words}.`, 'error');
  announce(`${label}: not sent. ${sentence(words)}.`);
  return { ok: false, status: invalid ? 'invalid' : 'error', reason: words, error: err };
}

/** dismiss forgets a refused command shown on the page. */
export async function dismiss(e) {
  if (!outbox.isOpen(e)) await outbox.remove(e);
}
