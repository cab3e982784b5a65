// The Flow panel: the pipeline drawn from what the system reports (queues
// from storage, services from the fleet), so command shards or a new
// subscriber appear by themselves. Columns follow the flow from the
// services that consume nothing (prism-api); edges that go back (saga steps
// into the commands queue) curve underneath.

import { ms, rate, svg } from './net.js';

const W = 210; // node width
const GAP = 70; // between columns
const H = { service: 70, queue: 74, channel: 40 };

/** graph turns a flow snapshot into nodes and edges. */
export function graph(flow) {
  const nodes = new Map();
  const edges = [];
  const add = (id, kind, data) => nodes.get(id) || nodes.set(id, { id, kind, data, out: [] }).get(id);
  for (const s of flow.services) add(`s:${s.name}`, 'service', s);
  for (const q of flow.queues) add(`q:${q.queue}`, 'queue', q);
  const link = (a, b) => {
    if (!nodes.has(a) || !nodes.has(b)) return;
    edges.push([a, b]);
    nodes.get(a).out.push(b);
  };
  for (const s of flow.services) {
    for (const q of s.sends) link(`s:${s.name}`, `q:${q}`);
    for (const q of s.consumes) link(`q:${q}`, `s:${s.name}`);
    for (const c of s.writes || []) {
      add(`c:${c}`, 'channel', { name: c === 'sse' ? 'browsers (SSE)' : `Redis ${c}` });
      link(`s:${s.name}`, `c:${c}`);
    }
  }
  for (const s of flow.services) for (const c of s.reads || []) if (nodes.has(`c:${c}`)) link(`c:${c}`, `s:${s.name}`);
  // Columns: breadth-first from the sources.
  const rank = new Map();
  const sources = [...nodes.values()].filter((n) => n.kind === 'service' && !n.data.consumes.length && !(n.data.reads || []).length);
  const todo = sources.map((n) => [n.id, 0]);
  while (todo.length) {
    const [id, r] = todo.shift();
    if (rank.has(id)) continue;
    rank.set(id, r);
    for (const o of nodes.get(id).out) if (!rank.has(o)) todo.push([o, r + 1]);
  }
  for (const n of nodes.values()) if (!rank.has(n.id)) rank.set(n.id, n.kind === 'queue' ? 1 : 0);
  return { nodes, edges, rank };
}

/** draw renders the snapshot into the svg element. */
export function draw(el, flow) {
  const { nodes, edges, rank } = graph(flow);
  const cols = [];
  for (const n of nodes.values()) (cols[rank.get(n.id)] ||= []).push(n);
  const pos = new Map();
  let height = 0;
  cols.forEach((col, c) => {
    let y = 10;
    for (const n of col || []) {
      pos.set(n.id, { x: 10 + c * (W + GAP), y, h: H[n.kind] });
      y += H[n.kind] + 18;
    }
    height = Math.max(height, y);
  });
  const width = 20 + cols.length * (W + GAP);
  const below = height + 10;
  el.replaceChildren();
  el.setAttribute('viewBox', `0 0 ${width} ${below + 60}`);
  el.setAttribute('width', width);
  el.setAttribute('height', below + 60);
  el.append(svg('defs', {}, svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', fill: '#8a94a6' }))));
  edges.forEach(([a, b], i) => {
    const p = pos.get(a);
    const q = pos.get(b);
    const x1 = p.x + W;
    const y1 = p.y + p.h / 2;
    const x2 = q.x;
    const y2 = q.y + q.h / 2;
    let d;
    if (q.x > p.x) {
      d = `M ${x1} ${y1} C ${x1 + GAP / 2} ${y1}, ${x2 - GAP / 2} ${y2}, ${x2} ${y2}`;
    } else {
      const low = below + 10 + (i % 4) * 10; // back edges run underneath
      d = `M ${p.x + W / 2} ${p.y + p.h} C ${p.x + W / 2} ${low}, ${q.x + W / 2} ${low}, ${q.x + W / 2} ${q.y + q.h}`;
    }
    const busy = nodes.get(a).kind === 'queue' ? nodes.get(a).data.donePerSec > 0 : nodes.get(b).kind === 'queue' && nodes.get(b).data.sentPerSec > 0;
    el.append(svg('path', { d, class: busy ? 'edge busy' : 'edge', 'marker-end': 'url(#arrow)' }));
  });
  for (const n of nodes.values()) {
    const { x, y, h } = pos.get(n.id);
    const lines = [];
    let attrs = {};
    if (n.kind === 'service') {
      const s = n.data;
      const slots = s.replicas.reduce((a, r) => a + r.slots, 0);
      lines.push(`${s.replicas.length} replica${s.replicas.length === 1 ? '' : 's'}${s.replicas.length ? ': ' + s.replicas.map((r) => r.addr).join(' ') : ''}`);
      if (s.consumes.length) lines.push(`in flight ${s.inFlight} of ${slots}`);
      if ((s.writes || []).includes('sse')) lines.push(`${s.sseClients} SSE clients · ${rate(s.ssePerSec)}`);
      attrs = { 'data-testid': 'flow-service', 'data-service': s.name, 'data-replicas': s.replicas.length, 'data-in-flight': s.inFlight, class: 'node service' };
    } else if (n.kind === 'queue') {
      const q = n.data;
      lines.push(`depth ${q.depth} · oldest ${q.oldestAgeMs ? ms(q.oldestAgeMs) : '–'}`);
      lines.push(`in ${rate(q.sentPerSec)} → handled ${rate(q.donePerSec)}`);
      lines.push(`in flight ${q.inFlight}${q.poison ? '' : ' · poison 0'}`);
      attrs = { 'data-testid': 'flow-queue', 'data-queue': q.queue, 'data-depth': q.depth, 'data-poison': q.poison,
        class: `node queue${q.poison ? ' poisoned' : ''}${q.depth > 100 ? ' backlog' : ''}` };
    } else {
      attrs = { class: 'node channel' };
    }
    const g = svg('g', attrs);
    g.append(svg('rect', { class: 'box', x, y, width: W, height: h, rx: n.kind === 'queue' ? 2 : 8 }));
    g.append(svg('text', { x: x + 8, y: y + 16, class: 'title' }, n.kind === 'queue' ? `▤ ${n.data.queue}` : n.kind === 'service' ? n.data.name : n.data.name));
    lines.forEach((t, i) => g.append(svg('text', { x: x + 8, y: y + 33 + i * 15 }, t)));
    if (n.kind === 'queue' && n.data.poison) g.append(svg('text', { x: x + 120, y: y + 63, class: 'bad' }, `poison ${n.data.poison}`));
    el.append(g);
  }
}
