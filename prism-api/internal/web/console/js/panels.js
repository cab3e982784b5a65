// The Poison, Projections, Event store and Trace panels.

import { api, el, ms, rate } from './net.js';

const $ = (id) => document.querySelector(`[data-testid="${id}"]`);

// ---------------------------------------------------------------- poison

/** loadPoison lists every queue's parked messages. */
export async function loadPoison() {
  const list = document.querySelector('[data-poison-list]');
  $('poison-status').textContent = 'loading…';
  try {
    const { queues } = await api('GET', '/api/console/poison');
    const parked = queues.filter((q) => q.poison > 0);
    $('poison-status').textContent = parked.length ? `${parked.length} queue(s) with parked messages` : 'no parked messages in any queue';
    list.replaceChildren(...parked.map(poisonQueue));
  } catch (e) {
    $('poison-status').textContent = e.message;
  }
}

function poisonQueue(q) {
  const rows = q.messages.map((m) =>
    el('tr', { 'data-testid': 'poison-message', 'data-id': m.id },
      el('td', {}, el('code', {}, m.record.messageId || m.id)),
      el('td', {}, m.record.reason),
      el('td', {}, String(m.record.dequeueCount)),
      el('td', {}, new Date(m.record.failedAt || m.parkedAt).toLocaleString()),
      el('td', {},
        el('button', { type: 'button', 'data-testid': 'poison-inspect', onclick: () => inspect(q.queue, m) }, 'Inspect'), ' ',
        el('button', { type: 'button', 'data-testid': 'poison-redrive', onclick: () => redrive(q.queue, m.id) }, 'Redrive'))));
  return el('div', { class: 'poison-queue', 'data-testid': 'poison-queue', 'data-queue': q.queue, 'data-count': q.poison },
    el('h3', {}, `${q.queue}-poison: ${q.poison} parked`, ' ',
      el('button', { type: 'button', 'data-testid': 'poison-redrive-all', onclick: () => redrive(q.queue) }, `Redrive all to ${q.queue}`)),
    el('table', { class: 'grid' },
      el('thead', {}, el('tr', {}, el('th', {}, 'message'), el('th', {}, 'reason'), el('th', {}, 'dequeues'), el('th', {}, 'failed at'), el('th', {}))),
      el('tbody', {}, rows)),
    q.poison > q.messages.length ? el('p', { class: 'muted' }, `showing the first ${q.messages.length} (Storage Queues peek at most 32)`) : null);
}

function inspect(queue, m) {
  const d = $('poison-detail');
  d.hidden = false;
  d.textContent = `${queue}-poison / ${m.id}\n\n${JSON.stringify(m.record, null, 2)}`;
}

async function redrive(queue, id) {
  const out = $('poison-result');
  out.textContent = 'redriving…';
  try {
    const r = await api('POST', `/api/console/poison/${encodeURIComponent(queue)}/redrive`, id ? { id } : {});
    out.textContent = `moved ${r.moved} message(s) from ${r.from} back to ${r.queue}`;
  } catch (e) {
    out.textContent = `redrive failed: ${e.message}`;
  }
  await loadPoison();
}

// ---------------------------------------------------------------- projections

/** showProjections draws the projections of a flow snapshot. */
export function showProjections(flow) {
  const body = document.querySelector('[data-projections]');
  const readmodel = flow.queues.find((q) => q.queue === 'events-readmodel');
  const rows = flow.projections.map((p) => {
    const rb = p.rebuild;
    const progress = rb
      ? el('span', { 'data-testid': 'projection-progress', 'data-phase': rb.phase },
        `${rb.phase}: ${rb.streams} streams, ${rb.events} events replayed, ${rb.caughtUp} caught up` +
          (rb.from ? ` · swap ${rb.from} → ${rb.table}` : ` · into ${rb.table}`) + (rb.error ? ` · ${rb.error}` : ''))
      : el('span', { class: 'muted' }, 'none since the updater started');
    const running = rb && rb.phase !== 'done' && rb.phase !== 'failed';
    return el('tr', { 'data-testid': 'projection', 'data-name': p.name, 'data-table': p.table },
      el('td', {}, el('strong', {}, p.name)), el('td', {}, el('code', {}, p.table)), el('td', {}, String(p.events)),
      el('td', {}, rate(p.appliedPerSec)),
      el('td', {}, `${ms(p.lagMs)}${readmodel ? ` · backlog ${readmodel.depth}` : ''}`),
      el('td', {}, progress),
      el('td', {}, el('button', { type: 'button', 'data-testid': 'projection-rebuild', disabled: running, onclick: () => rebuild(p.name) }, 'Rebuild')));
  });
  body.replaceChildren(...rows);
}

async function rebuild(name) {
  const out = $('rebuild-result');
  out.textContent = `starting a rebuild of ${name}…`;
  try {
    const p = await api('POST', `/api/console/projections/${encodeURIComponent(name)}/rebuild`);
    out.textContent = `rebuild of ${name} started into ${p.table}; its progress follows live`;
  } catch (e) {
    out.textContent = `rebuild of ${name}: ${e.message}`;
  }
}

// ---------------------------------------------------------------- event store

let current = null;

/** lookUp answers the form: the stream as of a time and/or version. */
export async function lookUp(version) {
  const type = $('es-type').value;
  const id = $('es-id').value.trim();
  const asOf = $('es-asof').value.trim();
  if (version !== undefined) $('es-version').value = String(version);
  const v = $('es-version').value.trim();
  const q = new URLSearchParams();
  if (asOf && version === undefined) q.set('asOf', asOf);
  if (v) q.set('version', v);
  $('es-status').textContent = 'loading…';
  try {
    const r = await api('GET', `/api/eventstore/${encodeURIComponent(type)}/${encodeURIComponent(id)}${q.size ? '?' + q : ''}`);
    current = r;
    showStream(r);
    $('es-status').textContent = '';
  } catch (e) {
    $('es-result').hidden = true;
    $('es-status').textContent = e.message;
  }
}

function showStream(r) {
  const box = $('es-result');
  box.hidden = false;
  box.dataset.version = r.version;
  box.dataset.latest = r.latestVersion;
  document.querySelector('[data-es-at]').textContent =
    `${r.aggregateType}-${r.aggregateId} at version ${r.version} of ${r.latestVersion}` + (r.asOf ? ` (as of ${r.asOf})` : '');
  $('es-prev').disabled = r.version <= 1;
  $('es-next').disabled = r.version >= r.latestVersion;
  $('es-state').textContent = JSON.stringify(r.state, null, 2);
  document.querySelector('[data-es-events]').replaceChildren(...r.events.map((e) =>
    el('li', { 'data-testid': 'es-event', 'data-version': e.version, 'data-type': e.type },
      el('strong', {}, `v${e.version} ${e.type}`), ` (schema v${e.schemaVersion}) at ${e.occurredAt}`,
      el('div', { class: 'meta' }, `command ${e.metadata.commandId || '–'} · correlation ${e.metadata.correlationId || '–'} · causation ${e.metadata.causationId || '–'} · trace ${e.traceId || '–'}`),
      el('pre', {}, JSON.stringify(e.data, null, 2)))));
}

/** step moves to the previous (-1) or next (+1) version. */
export function step(by) {
  if (!current) return;
  lookUp(Math.min(current.latestVersion, Math.max(1, current.version + by)));
}

// ---------------------------------------------------------------- trace

/** trace answers the form: the command's causation chain with timings. */
export async function trace() {
  const id = $('trace-id').value.trim();
  const agg = $('trace-aggregate').value.trim();
  $('trace-status').textContent = 'tracing…';
  try {
    const t = await api('GET', `/api/console/traces/${encodeURIComponent(id)}${agg ? `?aggregateId=${encodeURIComponent(agg)}` : ''}`);
    const t0 = Date.parse(t.root.at || t.root.children?.[0]?.at || '') || 0;
    $('trace-tree').replaceChildren(node(t.root, t0));
    const end = Math.max(...all(t.root).map((n) => Date.parse(n.at || '') || 0));
    $('trace-status').textContent = `${t.nodes} steps${t.truncated ? ' (cut short)' : ''}; ${t0 && end ? ms(end - t0) : '–'} from the command's first event to the last step`;
  } catch (e) {
    $('trace-tree').replaceChildren();
    $('trace-status').textContent = e.message;
  }
}

function all(n) {
  return [n, ...(n.children || []).flatMap(all)];
}

function node(n, t0) {
  const at = Date.parse(n.at || '');
  const label = n.kind === 'event' ? `v${n.version} ${n.type}` : n.kind === 'notification' ? (n.message || 'notification') : n.type || n.id;
  const detail = [n.stream, n.status, n.delay ? `sent with a ${n.delay} delay` : '', n.kind === 'command' ? `id ${n.id}` : ''].filter(Boolean).join(' · ');
  return el('li', { 'data-testid': 'trace-node', 'data-kind': n.kind, 'data-type': n.type, 'data-status': n.status || '' },
    el('span', { class: `kind ${n.kind}` }, n.kind), el('strong', {}, label), ' ', el('span', { class: 'muted' }, detail),
    el('span', { class: 't' }, Number.isFinite(at) && t0 ? `+${ms(at - t0)}` : ''),
    n.children?.length ? el('ul', {}, n.children.map((c) => node(c, t0))) : null);
}
