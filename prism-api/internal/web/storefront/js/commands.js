// Commands and their outcomes. A command is sent once (api.send) and answered
// 202 pending; its outcome arrives as a command.completed event on
// /streams/me, or, if that does not come soon (stream down, event missed),
// by polling GET /api/commands/{id}. Each command is an entry of the
// activity log, and its outcome is announced in the aria-live region.

import { ApiError, get, send } from './api.js';
import { $, clearFieldErrors, h, sentence, setStatus, showFieldErrors } from './dom.js';

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

/** outcome waits for the command's final status. */
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

/**
 * run sends a command and waits for its outcome. Options:
 *   label    what it does, in words ("Add Green tea to the cart")
 *   method, path, body
 *   form     where field errors go ([data-error-for=field]) and whose
 *            [data-role=status] element shows progress and the outcome
 *   quiet    do not announce success (for chatty commands)
 *   invalid  field errors found before sending ([{field, message}]): the
 *            command is not sent and they are shown as the API's would be
 * It resolves to {ok, status, reason, version, aggregateId, accepted, error}.
 */
export async function run({ label, method, path, body, form, quiet = false, invalid = [] }) {
  const entry = logEntry(label);
  const statusEl = form ? $('[data-role="status"]', form) : null;
  clearFieldErrors(form);
  entry.set('sending');
  setStatus(statusEl, `${label}: sending…`, 'pending');
  let accepted;
  try {
    if (invalid.length) throw new ApiError(400, { title: 'invalid fields', errors: invalid });
    accepted = await send(method, path, body);
  } catch (e) {
    const err = e instanceof ApiError ? e : new ApiError(0, { detail: String(e) });
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
  entry.set('pending', '', accepted.commandId);
  setStatus(statusEl, `${label}: pending…`, 'pending');
  const st = await outcome(accepted.commandId);
  const result = {
    ok: st.status === 'succeeded',
    status: st.status,
    reason: st.reason || '',
    version: st.version || 0,
    aggregateId: st.aggregateId || accepted.aggregateId,
    accepted,
  };
  if (result.ok) {
    entry.set('succeeded', '', accepted.commandId);
    setStatus(statusEl, `${label}: done.`, 'ok');
    if (!quiet) announce(`${label}: done.`);
  } else {
    const why =
      st.status === 'rejected'
        ? sentence(st.reason || 'rejected')
        : st.status === 'failed'
          ? `It failed after retries${st.reason ? `: ${st.reason}` : ''}`
          : sentence(st.reason || st.status);
    entry.set(st.status, why, accepted.commandId);
    setStatus(statusEl, `${label}: ${statusWords[st.status]?.toLowerCase() || st.status} — ${why}.`, 'error');
    announce(`${label}: ${statusWords[st.status] || st.status}. ${why}.`);
  }
  return result;
}
