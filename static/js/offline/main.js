// Every page: register the service worker, keep storage, show the sync status, and send this
// user's outbox on load, when the connection returns, when the page is shown, on a timer and on demand.
import { start as openEncounterPage } from "./encounter.js";
import { all, get } from "./store.js";
import { guardLogout, showStatus, t } from "./status.js";

const user = document.body.dataset.userId || "";
const PERIOD_MS = 60000;
let waiting = 0;
let login = false;
let timer = null;

async function registerWorker() {
  if (!("serviceWorker" in navigator)) return;
  await navigator.serviceWorker.register("/sw.js", { scope: "/" });
  const ready = await navigator.serviceWorker.ready;
  ready.active?.postMessage(user ? { type: "warm", user } : { type: "forget-pages" });
  navigator.serviceWorker.addEventListener("message", (event) => event.data?.type === "replay" && sync(true));
}

// Send what is due (everything when forced), then show the state and plan the next attempt.
export async function sync(force = false) {
  if (!user) return {};
  const due = (await all("outbox", user)).some((e) => !held(e) && (force || !(e.nextAt > Date.now())));
  const result = due ? await import("./replay.js").then((r) => r.replay(user, force)).catch(() => ({ offline: true })) : {};
  login = result.login || (login && !result.sent);
  const entries = await refresh(result.offline ? false : navigator.onLine);
  const next = Math.min(...entries.map((e) => e.nextAt || Infinity), Date.now() + PERIOD_MS);
  clearTimeout(timer);
  timer = setTimeout(sync, Math.max(1000, next - Date.now()));
  return result;
}

const held = (entry) => entry.state === "conflict" || entry.state === "rejected";

async function refresh(online = navigator.onLine) {
  const entries = await all("outbox", user);
  waiting = entries.length;
  showStatus({ online, waiting, held: entries.filter(held), login, lastSync: (await get("meta", user))?.lastSync });
  return entries;
}

function start() {
  registerWorker().catch(() => {});
  navigator.storage?.persist?.();
  if (!user) return;
  guardLogout(() => waiting);
  window.addEventListener("online", () => sync(true));
  window.addEventListener("offline", () => refresh(false));
  document.addEventListener("visibilitychange", () => !document.hidden && sync());
  document.querySelector("[data-sync-now]")?.addEventListener("click", () => sync(true));
  sync(true); // a page load is the crew acting: try now, whatever the backoff says
  if (document.getElementById("encounter-form")) openEncounterPage({ user, t, sync });
}

start();
