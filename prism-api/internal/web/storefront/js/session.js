// The signed-in user: a bearer token kept in sessionStorage (it lasts as long
// as the tab), with the user id, roles and expiry read from its claims.

const KEY = 'prism.session';

/** decodeClaims reads a JWT's payload (no verification: the API does that). */
export function decodeClaims(token) {
  const part = String(token || '').split('.')[1];
  if (!part) return null;
  try {
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '=');
    const json = new TextDecoder().decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
    return JSON.parse(json);
  } catch {
    return null;
  }
}

/** fromToken makes a session from a token, or null if it is not a usable JWT. */
export function fromToken(token) {
  const c = decodeClaims(token);
  if (!c || typeof c.sub !== 'string' || !c.sub) return null;
  return {
    token,
    userId: c.sub,
    roles: Array.isArray(c.roles) ? c.roles : [],
    expiresAt: typeof c.exp === 'number' ? c.exp * 1000 : 0,
  };
}

/** load returns the stored session, or null (none, unreadable, or expired). */
export function load() {
  try {
    const s = fromToken(JSON.parse(sessionStorage.getItem(KEY) || 'null')?.token);
    if (s && (!s.expiresAt || s.expiresAt > Date.now() + 5000)) return s;
  } catch {
    // unreadable: start signed out
  }
  sessionStorage.removeItem(KEY);
  return null;
}

/** save keeps the session for the life of the tab. */
export function save(s) {
  sessionStorage.setItem(KEY, JSON.stringify({ token: s.token }));
}

/** clear forgets the session. */
export function clear() {
  sessionStorage.removeItem(KEY);
}

/** isAdmin says whether the session has the admin role. */
export const isAdmin = (s) => !!s && s.roles.includes('admin');

const cartKey = (userId) => `prism.cart.${userId}`;

/** cartId is the user's current cart id in this tab, or ''. */
export function cartId(userId) {
  return sessionStorage.getItem(cartKey(userId)) || '';
}

/** setCartId remembers (or, with '', forgets) the user's current cart. */
export function setCartId(userId, id) {
  if (id) sessionStorage.setItem(cartKey(userId), id);
  else sessionStorage.removeItem(cartKey(userId));
}
