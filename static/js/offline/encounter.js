// The encounter page with or without signal: every change autosaves a draft on this tablet, and a
// draft comes back after a reload or a crash. Save and Finalize are handed to finalize.js.
import { all, get, put } from "./store.js";

const page = { finished: false }; // shared with finalize.js
let saveTimer = null;

export async function start({ user, t, sync }) {
  const form = document.getElementById("encounter-form");
  if (!form || form.querySelector("fieldset[disabled]")) return;
  Object.assign(page, { form, user, t, sync, notice, autosave, snapshot, touched: false });
  if (isNew) form.elements.encounter_uuid.value = crypto.randomUUID(); // a stored page must never reuse an id
  for (const type of ["input", "change", "click"]) form.addEventListener(type, onEdit);
  window.addEventListener("pagehide", () => page.changed && autosave()); // an untouched form is no draft
  form.addEventListener("submit", onSubmit);
  // Usable once form.js has run (DOMContentLoaded follows all module scripts) and the first screen
  // is drawn (the next frame); drafts are read from IndexedDB meanwhile.
  const parsed = new Promise((done) => ["DOMContentLoaded", "load"].forEach((e) => addEventListener(e, done, { once: true })));
  parsed.then(() => requestAnimationFrame(() => setTimeout(() => mark("usable"))));
  await openRecord(new URLSearchParams(location.search));
  await parsed;
  mark("offlineReady");
}

const mark = (name) => (document.documentElement.dataset[name] = String(Math.round(performance.now())));
const uuid = () => page.form.elements.encounter_uuid.value;
const isNew = location.pathname.endsWith("/encounters/new");
const finalizer = () => import("./finalize.js");

// Show what the address asks for: a refused record, a draft, the last unfinished draft, or a blank
// form. What the crew typed meanwhile is never replaced: drafts are then offered as links.
async function openRecord(params) {
  const { user, t } = page;
  const held = params.get("open") && (await get("outbox", [user, params.get("open")]));
  if (held) return (await finalizer()).openHeld(page, held);
  const queued = params.get("queued");
  if (queued) notice(t((await get("outbox", [user, queued])) ? "queued" : "sent"), "ok");
  const drafts = (await all("drafts", user)).filter((d) => d.isNew === isNew).sort((a, b) => b.savedAt - a.savedAt);
  const others = drafts.filter((d) => d.id !== uuid());
  const wanted = isNew ? params.get("draft") || (!params.has("new") && !queued && others[0]?.id) : uuid();
  const draft = drafts.find((d) => d.id === wanted);
  if (draft) (await import("./drafts.js")).openDraft(page, draft, others, isNew);
}

// Autosave after a pause in changes; a change by the crew's own hand marks the form touched.
function onEdit(event) {
  page.touched ||= event.isTrusted;
  page.changed = true;
  clearTimeout(saveTimer);
  saveTimer = setTimeout(autosave, 300);
}

function autosave() {
  clearTimeout(saveTimer);
  if (page.finished) return Promise.resolve();
  const { form, user } = page;
  return put("drafts", { user, id: uuid(), snapshot: snapshot(), base: form.elements.base_revision.value, isNew, savedAt: Date.now() });
}

function onSubmit(event) {
  const action = event.submitter?.value;
  if (action !== "save" && action !== "finalize") return;
  event.preventDefault();
  finalizer().then((f) => (action === "save" ? f.saveDraft(page) : f.finalize(page))).catch((e) => notice(String(e), "error"));
}

// Show a note above the form: what happened to the record, and links to go on.
function notice(text, kind, ...links) {
  document.querySelector("[data-offline-notice]")?.remove();
  const box = Object.assign(document.createElement("div"), { className: `box ${kind}`, textContent: text });
  box.dataset.offlineNotice = "";
  box.setAttribute("role", "status");
  for (const a of links) box.append(" ", a);
  page.form.before(box);
}

// Return the form's inputs (values and person rows) so that drafts.js restore() can bring them back.
function snapshot() {
  const { form } = page;
  const rows = Object.fromEntries([...form.querySelectorAll("[data-group]")].map((g) => [g.dataset.group,
    [...g.querySelectorAll("[data-row]")].map((r) => r.dataset.row)]));
  return { rows, values: [...new FormData(form)].filter(([name, v]) => name !== "csrf_token" && name !== "action" && typeof v === "string") };
}
