// Every page: register the service worker, keep storage, draw the sync status bar (here: one request
// fewer), and send this user's outbox on load, when back online or shown, on a timer and on demand.
import { start as openEncounterPage } from "./encounter.js";
import { all, get } from "./store.js";

const user = document.body.dataset.userId || "";
const bar = document.getElementById("sync-status");
const strings = bar ? JSON.parse(bar.dataset.strings) : {};
const PERIOD_MS = 60000;
let waiting = 0;
let login = false;
let timer = null;

// Return a translated string with %(name)s placeholders filled in; plural keys end in _one/_other.
export function t(key, vars = {}) {
  const plural = "n" in vars ? `${key}_${vars.n === 1 ? "one" : "other"}` : key;
  const text = strings[plural] ?? strings[key] ?? key;
  return text.replace(/%\((\w+)\)s/g, (_, name) => String(vars[name] ?? ""));
}

// Return a time of day as this tablet shows it: hours and minutes.
export const clock = (ms) => new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
// Return a link (drafts.js links drafts with it too).
export const link = (href, text, className = "") => Object.assign(document.createElement("a"), { href, textContent: text, className });

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
  showStatus({ online, waiting, held: entries.filter(held), lastSync: (await get("meta", user))?.lastSync });
  return entries;
}

// Show the state in the status bar: online or not, what waits on this tablet, the last sync, what needs the crew.
function showStatus({ online, waiting, held, lastSync }) {
  if (!bar) return;
  const part = (name) => bar.querySelector(`[data-${name}]`);
  part("net").textContent = online ? t("online") : t("offline");
  part("net").className = `badge ${online ? "badge-approved" : "badge-returned"}`;
  part("count").textContent = waiting ? t("waiting", { n: waiting }) : t("nothing_waiting");
  part("last").textContent = lastSync ? t("last_sync", { time: clock(lastSync) }) : t("never_synced");
  part("login").hidden = !(login && waiting);
  part("login").textContent = t("log_in_to_send", { n: waiting });
  part("held").hidden = !held.length;
  part("held").replaceChildren(...held.map(heldLink));
  bar.dataset.waiting = String(waiting);
}

// Return the link to a record refused or changed elsewhere.
const heldLink = (entry) => link(`/encounters/new?open=${encodeURIComponent(entry.id)}`, t(entry.state === "conflict" ? "conflict" : "rejected"), "button danger");

// Ask before logging out while this user's work is unsent.
function guardLogout() {
  document.querySelector("form[action='/logout']")?.addEventListener("submit", (event) => {
    if (waiting && !window.confirm(t("logout_unsent", { n: waiting }))) event.preventDefault();
  });
}

function start() {
  registerWorker().catch(() => {});
  navigator.storage?.persist?.();
  if (!user) return;
  guardLogout();
  window.addEventListener("online", () => sync(true));
  window.addEventListener("offline", () => refresh(false));
  document.addEventListener("visibilitychange", () => !document.hidden && sync());
  document.querySelector("[data-sync-now]")?.addEventListener("click", () => sync(true));
  sync(true); // a page load is the crew acting: try now, whatever the backoff says
  if (document.getElementById("encounter-form")) openEncounterPage({ user, t, sync });
}

start();
