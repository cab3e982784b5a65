// The operations console's entry point: sign-in (the storefront's session,
// or a dev token for an operator), the tabs, and the live flow stream that
// feeds the Flow and Projections panels.

import { api, claims, setToken, stream, token } from './net.js';
import { draw } from './flow.js';
import { loadPoison, lookUp, showProjections, step, trace } from './panels.js';

const $ = (id) => document.querySelector(`[data-testid="${id}"]`);
let stopStream = null;

function show(tab) {
  for (const b of document.querySelectorAll('[data-tab]')) b.setAttribute('aria-selected', String(b.dataset.tab === tab));
  for (const p of document.querySelectorAll('[data-panel]')) p.hidden = p.dataset.panel !== tab;
  if (tab === 'poison') loadPoison();
  history.replaceState(null, '', `#${tab}`);
}

function signedIn() {
  const c = claims();
  return c && (!c.exp || c.exp * 1000 > Date.now()) && (c.roles || []).includes('admin') ? c : null;
}

function start() {
  const c = signedIn();
  $('signin-form').hidden = !!c;
  $('signout').hidden = !c;
  $('session-user').textContent = c ? `operator ${c.sub}` : '';
  document.querySelector('.tabs').hidden = !c;
  if (!c) {
    for (const p of document.querySelectorAll('[data-panel]')) p.hidden = true;
    return;
  }
  show((location.hash || '#flow').slice(1));
  stopStream?.();
  stopStream = stream('/api/console/stream', (type, flow) => {
    if (type !== 'flow') return;
    draw($('flow-svg'), flow);
    showProjections(flow);
    $('flow-updated').textContent = new Date(flow.at).toLocaleTimeString();
    $('flow-errors').textContent = (flow.errors || []).join('; ');
  }, (state, detail) => {
    $('flow-status').dataset.state = state;
    $('flow-status').textContent = state === 'error' ? `reconnecting: ${detail}` : state;
  });
}

async function signIn(ev) {
  ev.preventDefault();
  const status = $('signin-status');
  const pasted = $('signin-token').value.trim();
  try {
    if (pasted) {
      setToken(pasted);
    } else {
      const t = await api('POST', '/api/dev/token', { userId: $('signin-user').value.trim() || 'operator', roles: ['admin'] });
      setToken(t.token);
    }
    if (!signedIn()) throw new Error('that token has no admin role');
    status.textContent = '';
    start();
  } catch (e) {
    setToken('');
    status.textContent = `Could not sign in: ${e.message}`;
  }
}

document.querySelector('.tabs').addEventListener('click', (e) => e.target.dataset.tab && show(e.target.dataset.tab));
$('signin-form').addEventListener('submit', signIn);
$('signout').addEventListener('click', () => {
  setToken('');
  stopStream?.();
  start();
});
$('poison-refresh').addEventListener('click', loadPoison);
$('es-form').addEventListener('submit', (e) => {
  e.preventDefault();
  lookUp();
});
$('es-hour-ago').addEventListener('click', () => {
  $('es-asof').value = new Date(Date.now() - 3600e3).toISOString();
});
$('es-prev').addEventListener('click', () => step(-1));
$('es-next').addEventListener('click', () => step(1));
$('trace-form').addEventListener('submit', (e) => {
  e.preventDefault();
  trace();
});
// Dev mode lets the operator take a token by name; otherwise paste one.
fetch('/storefront-config.json').then((r) => r.json()).then((c) => {
  for (const e of document.querySelectorAll('[data-dev]')) e.hidden = !c.devMode;
}).catch(() => {});
if (token() && !signedIn()) $('signin-status').textContent = 'Your session has no admin role: sign in as an operator.';
start();
document.body.dataset.ready = 'true';
