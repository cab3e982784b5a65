// prism-api over fetch (same origin) with the operator's bearer token, and
// the console's live stream: SSE read with fetch, so the token travels in the
// Authorization header and never in a URL.

const KEY = 'prism.session'; // the storefront's session: one sign-in for both

/** token returns the stored bearer token, or ''. */
export function token() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY) || 'null')?.token || '';
  } catch {
    return '';
  }
}

/** setToken stores (or, with '', forgets) the token. */
export function setToken(t) {
  if (t) sessionStorage.setItem(KEY, JSON.stringify({ token: t }));
  else sessionStorage.removeItem(KEY);
}

/** claims reads the token's payload (the API verifies it). */
export function claims(t = token()) {
  try {
    const p = t.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(p.padEnd(Math.ceil(p.length / 4) * 4, '=')));
  } catch {
    return null;
  }
}

/** ApiError is a non-2xx answer: its problem's detail, or the status. */
export class ApiError extends Error {
  constructor(status, problem) {
    const fields = (problem?.errors || []).map((e) => `${e.field} ${e.message}`).join('; ');
    super(fields || problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
  }
}

/** api sends one request and returns the decoded JSON answer. */
export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (token()) headers.Authorization = `Bearer ${token()}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

/**
 * stream reads an SSE stream and calls onEvent(type, data) for each event;
 * onState(state, detail) hears connecting / live / error. It reconnects with
 * a growing delay until stop() is called.
 */
export function stream(path, onEvent, onState) {
  let stopped = false;
  let ctrl = null;
  let failures = 0;
  const run = async () => {
    while (!stopped) {
      ctrl = new AbortController();
      onState('connecting', '');
      try {
        const res = await fetch(path, { headers: { Accept: 'text/event-stream', Authorization: `Bearer ${token()}` }, signal: ctrl.signal, cache: 'no-store' });
        if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => null));
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          let cut;
          while ((cut = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, cut);
            buf = buf.slice(cut + 2);
            let type = 'message';
            const data = [];
            for (const line of block.split('\n')) {
              if (line.startsWith('event: ')) type = line.slice(7);
              else if (line.startsWith('data: ')) data.push(line.slice(6));
            }
            if (!data.length) continue;
            failures = 0;
            onState('live', '');
            try {
              onEvent(type, JSON.parse(data.join('\n')));
            } catch (e) {
              console.error('console stream', e);
            }
          }
        }
        throw new Error('the stream ended');
      } catch (e) {
        if (stopped) return;
        failures++;
        onState('error', e.message);
        if (e.status === 401 || e.status === 403) return;
        await new Promise((r) => setTimeout(r, Math.min(10000, 500 * 2 ** Math.min(failures, 5))));
      }
    }
  };
  run();
  return () => {
    stopped = true;
    ctrl?.abort();
  };
}

/** el makes an element with attributes and children (text only, never HTML). */
export function el(tag, attrs = {}, ...children) {
  const e = tag === 'svg' || attrs.svg ? document.createElementNS('http://www.w3.org/2000/svg', tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'svg' || v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}

/** svg makes an SVG element. */
export function svg(tag, attrs = {}, ...children) {
  return el(tag, { ...attrs, svg: true }, ...children);
}

/** ms says a duration in words. */
export function ms(n) {
  if (!Number.isFinite(n)) return '–';
  if (n < 1000) return `${Math.round(n)} ms`;
  if (n < 60000) return `${(n / 1000).toFixed(1)} s`;
  return `${Math.floor(n / 60000)} min ${Math.round((n % 60000) / 1000)} s`;
}

/** rate says a per-second figure. */
export function rate(n) {
  return n >= 10 ? `${Math.round(n)}/s` : `${(n || 0).toFixed(1)}/s`;
}
