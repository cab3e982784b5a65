// The outbox: every command waits here, in IndexedDB, with its
// Idempotency-Key, until prism-api has accepted it and its outcome is known.
// A command made offline (or whose answer never came) stays "waiting for
// network" across reloads and app restarts, and is sent again with the
// same key, which the API turns into the first answer instead of a second
// command. commands.js sends the entries one at a time, in order.

const DB_NAME = 'prism';
const STORE = 'outbox';

/**
 * Entry states: waiting (not accepted yet: offline, or no answer), sending,
 * accepted (202, outcome not known yet), and the final ones kept to be
 * shown until dismissed: rejected, failed, invalid.
 */
export const Waiting = 'waiting';
export const Sending = 'sending';
export const Accepted = 'accepted';

let opening = null;

function open() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = () => {
        const store = req.result.createObjectStore(STORE, { keyPath: 'seq', autoIncrement: true });
        store.createIndex('user', 'userId');
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    opening.catch(() => {
      opening = null;
    });
  }
  return opening;
}

// run runs fn(store) in one transaction and resolves with what its last
// request produced once the transaction has committed.
async function run(mode, fn) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const t = db.transaction(STORE, mode);
    let req = null;
    try {
      req = fn(t.objectStore(STORE));
    } catch (e) {
      reject(e);
      return;
    }
    t.oncomplete = () => resolve(req ? req.result : undefined);
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error || new Error('outbox transaction aborted'));
  });
}

const listeners = new Set();
let snapshot = [];
let snapshotUser = '';

/** onChange calls fn(entries) with the user's entries after every change. */
export function onChange(fn) {
  listeners.add(fn);
}

/** entries is the last snapshot of the signed-in user's entries, in order. */
export const entries = () => snapshot;

/** refresh rereads the user's entries and tells the listeners. */
export async function refresh(userId) {
  snapshotUser = userId || '';
  snapshot = userId ? await list(userId) : [];
  for (const fn of listeners) fn(snapshot);
  return snapshot;
}

/** add stores a new entry and returns it with its sequence number. */
export async function add(entry) {
  const seq = await run('readwrite', (s) => s.add({ ...entry, createdAt: Date.now() }));
  await refresh(entry.userId);
  return { ...entry, seq };
}

/** put saves a changed entry. */
export async function put(entry) {
  await run('readwrite', (s) => s.put(entry));
  if (entry.userId === snapshotUser) await refresh(snapshotUser);
}

/** remove deletes an entry (done, or dismissed by the user). */
export async function remove(entry) {
  await run('readwrite', (s) => s.delete(entry.seq));
  if (entry.userId === snapshotUser) await refresh(snapshotUser);
}

/** list returns the user's entries in the order they were made. */
export async function list(userId) {
  const all = await run('readonly', (s) => s.index('user').getAll(userId));
  return (all || []).sort((a, b) => a.seq - b.seq);
}

/** open says whether an entry still has to reach the API or its outcome. */
export const isOpen = (e) => e.state === Waiting || e.state === Sending || e.state === Accepted;
