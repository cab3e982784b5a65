// The app's state, shared by the modules, and how they reach stream-service.

import { request } from './api.js';
import { streamUrl } from './live.js';

export const state = {
  /** config is GET /storefront-config.json: {streamsUrl, devMode}. */
  config: { streamsUrl: '', devMode: true },
  /** session is {token, userId, roles, expiresAt}, or null when signed out. */
  session: null,
  /** products by SKU, as GET /api/products and product.updated give them. */
  products: new Map(),
  /** cart is the current cart's read model (or null); cartId its id. */
  cart: null,
  cartId: '',
  /** route is the view shown: {name, id?}. */
  route: { name: 'shop' },
};

/** signedIn says whether someone is signed in. */
export const signedIn = () => !!state.session;

/**
 * streams resolves to the URL of a stream-service path. withTicket buys a
 * single-use ticket for it (POST /api/stream-tickets) and adds ?ticket=:
 * EventSource cannot send an Authorization header, and a token in a URL
 * would end up in proxy and ingress logs. A ticket opens the stream once,
 * so every (re)connect asks for a new one.
 */
export async function streams(path, withTicket = true) {
  const params = {};
  if (withTicket) {
    const res = await request('POST', '/api/stream-tickets', { body: { stream: path } });
    params.ticket = res.data.ticket;
  }
  return streamUrl(state.config.streamsUrl, path, params);
}

/** newer says whether doc should replace cur (the read models carry versions). */
export function newer(doc, cur) {
  return !cur || !(Number(doc.version) < Number(cur.version));
}
