// The sync status bar: online or not, what waits on this tablet, the last sync, what needs the crew.
const bar = document.getElementById("sync-status");
const strings = bar ? JSON.parse(bar.dataset.strings) : {};

// Return a translated string with %(name)s placeholders filled in; plural keys end in _one/_other.
export function t(key, vars = {}) {
  const plural = "n" in vars ? `${key}_${vars.n === 1 ? "one" : "other"}` : key;
  const text = strings[plural] ?? strings[key] ?? key;
  return text.replace(/%\((\w+)\)s/g, (_, name) => String(vars[name] ?? ""));
}

const part = (name) => bar.querySelector(`[data-${name}]`);
// Return a time of day as this tablet shows it: hours and minutes.
export const clock = (ms) => new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

// Show the state: {online, waiting, held, login, lastSync}.
export function showStatus({ online, waiting, held, login, lastSync }) {
  if (!bar) return;
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

// Return a link (drafts.js links drafts with it too).
export const link = (href, text, className = "") => Object.assign(document.createElement("a"), { href, textContent: text, className });
// Return the link to a record refused or changed elsewhere.
const heldLink = (entry) => link(`/encounters/new?open=${encodeURIComponent(entry.id)}`, t(entry.state === "conflict" ? "conflict" : "rejected"), "button danger");

// Ask before logging out while this user's work is unsent.
export function guardLogout(waiting) {
  const form = document.querySelector("form[action='/logout']");
  form?.addEventListener("submit", (event) => {
    const n = waiting();
    if (n && !window.confirm(t("logout_unsent", { n }))) event.preventDefault();
  });
}
