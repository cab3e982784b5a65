// The app's state, shared by the modules, and how they reach stream-service.

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

/** token is the bearer token, or ''. */
export const token = () => (state.session ? state.session.token : '');

/**
 * streams is the URL of a stream-service path; withToken adds
 * ?access_token= (EventSource cannot send an Authorization header).
 */
export function streams(path, withToken = true) {
  return streamUrl(state.config.streamsUrl, path, withToken ? { access_token: token() } : {});
}

/** newer says whether doc should replace cur (the read models carry versions). */
export function newer(doc, cur) {
  return !cur || !(Number(doc.version) < Number(cur.version));
}
