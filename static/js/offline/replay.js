// Send a user's outbox to the server. An entry leaves the outbox only on a 2xx for exactly its
// record and revision; 401 pauses everything until login, 409/422 keep it for the crew to see,
// 5xx and network failures retry with full-jitter backoff.
import { all, get, put, tx } from "./store.js";

const BASE_MS = 2000;
const CAP_MS = 5 * 60 * 1000;
const HELD = ["conflict", "rejected"];

// Send every due entry; return {sent, offline, login}. One sender per user across tabs.
export function replay(user, force = false) {
  const run = () => drain(user, force);
  return navigator.locks ? navigator.locks.request(`crewlog-replay-${user}`, run) : run();
}

async function drain(user, force) {
  const result = { sent: 0, offline: false, login: false };
  const due = (await all("outbox", user)).filter((e) => !HELD.includes(e.state) && (force || !(e.nextAt > Date.now())));
  if (!due.length) return result;
  let token;
  try {
    token = await csrf();
  } catch (problem) {
    return { ...result, login: problem === 401, offline: problem !== 401 };
  }
  for (const entry of due.sort((a, b) => a.queuedAt - b.queuedAt)) {
    let response = await send(entry, token).catch(() => null);
    if (await refusedToken(response)) {
      token = await csrf().catch(() => token);
      response = await send(entry, token).catch(() => null);
    }
    if (!response) return { ...result, offline: true, ...(await backoff(entry, "network")) };
    if (response.status === 401) return { ...result, login: true };
    if (await refusedToken(response)) {
      await backoff(entry, "csrf");
    } else if (response.ok) {
      await settle(entry, await response.json());
      result.sent += 1;
    } else if ([400, 403, 404, 409, 413, 422].includes(response.status)) {
      await hold(entry, response.status === 409 ? "conflict" : "rejected", await errorOf(response));
    } else {
      await backoff(entry, `HTTP ${response.status}`);
    }
  }
  if (result.sent) await put("meta", { ...(await get("meta", user)), user, lastSync: Date.now() });
  return result;
}

async function csrf() {
  const response = await fetch("/api/v1/csrf", { cache: "no-store", credentials: "same-origin" }).catch(() => null);
  if (!response?.ok) throw response ? response.status : 0;
  return (await response.json()).csrf_token;
}

function send(entry, token) {
  return fetch("/api/v1/encounters", {
    method: "POST", credentials: "same-origin", cache: "no-store", signal: AbortSignal.timeout(30000),
    headers: { "Content-Type": "application/json", "X-CSRFToken": token }, body: JSON.stringify(entry.body),
  });
}

const refusedToken = async (response) => response?.status === 400 && (await errorOf(response)).error === "csrf";
const errorOf = (response) => response.clone().json().catch(() => ({ message: `HTTP ${response.status}` }));

// Change the stored entry only while it is still the revision that was sent.
function update(entry, change) {
  return tx("outbox", "readwrite", (store) => {
    const request = store.get([entry.user, entry.id]);
    request.onsuccess = () => {
      const stored = request.result;
      if (stored) change(stored, store);
    };
  });
}

function settle(entry, result) {
  return update(entry, (stored, store) => {
    if (stored.rev === entry.rev) store.delete([entry.user, entry.id]);
    else if (stored.body.base_revision === entry.body.base_revision) {
      stored.body.base_revision = result.revision; // a newer local revision now builds on this one
      store.put(stored);
    }
  });
}

function hold(entry, state, error) {
  const messages = error.messages?.length ? error.messages : [{ field: null, severity: "ERROR", message: error.message }];
  return update(entry, (stored, store) => {
    if (stored.rev === entry.rev) store.put({ ...stored, state, messages, currentRevision: error.current_revision });
  });
}

async function backoff(entry, reason) {
  const attempts = (entry.attempts || 0) + 1;
  const nextAt = Date.now() + Math.random() * Math.min(CAP_MS, BASE_MS * 2 ** attempts);
  await update(entry, (stored, store) => {
    if (stored.rev === entry.rev) store.put({ ...stored, attempts, nextAt, lastError: reason });
  });
  return { nextAt };
}
