// The encounter page with or without signal: every change autosaves a draft on this tablet; a
// draft comes back after a reload or crash; Finalize checks the record with the browser's copy of
// the server's rules and puts it in the outbox; a refused record opens with the server's messages.
import { answersFromForm, restore, snapshot } from "./answers.js";
import { all, get, put, remove } from "./store.js";

const SERVER_FILLS = ["auto", "derived"]; // inputs the server fills at finalize
let form, user, t, sync, template;
let saveTimer = null;
let finished = false; // once queued, the record lives in the outbox, never again as a draft

export async function start(options) {
  ({ user, t, sync } = options);
  form = document.getElementById("encounter-form");
  if (!form || form.querySelector("fieldset[disabled]")) return;
  await openRecord(new URLSearchParams(location.search));
  for (const type of ["input", "change", "click"]) form.addEventListener(type, autosaveSoon);
  window.addEventListener("pagehide", autosave);
  form.addEventListener("submit", onSubmit);
  document.documentElement.dataset.offlineReady = String(Math.round(performance.now()));
}

const uuid = () => form.elements.encounter_uuid.value;
const isNew = () => location.pathname.endsWith("/encounters/new");

// Show what the address asks for: a refused record, a draft, the last unfinished draft, or a blank form.
async function openRecord(params) {
  const entry = params.get("open") && (await get("outbox", [user, params.get("open")]));
  if (entry) {
    restore(form, entry.snapshot);
    return showMessages(entry.messages, t(entry.state === "conflict" ? "conflict_help" : "rejected_help"));
  }
  if (params.get("queued")) notice(t((await get("outbox", [user, params.get("queued")])) ? "queued" : "sent"), "ok");
  const drafts = (await all("drafts", user)).sort((a, b) => b.savedAt - a.savedAt);
  const wanted = params.get("draft");
  const draft = isNew()
    ? drafts.find((d) => (wanted ? d.id === wanted : d.isNew && !params.has("new") && !params.get("queued")))
    : drafts.find((d) => d.id === uuid());
  if (draft && (isNew() || draft.base === form.elements.base_revision.value)) {
    restore(form, draft.snapshot);
    notice(t("restored", { time: new Date(draft.savedAt).toLocaleTimeString() }), "ok", blankLink(drafts.length - 1));
  } else if (draft) {
    await remove("drafts", [user, draft.id]); // the server holds a newer revision than this draft
  } else if (isNew()) {
    form.elements.encounter_uuid.value = crypto.randomUUID(); // a stored page must never reuse an id
  }
}

function blankLink(others) {
  const a = document.createElement("a");
  a.href = "/encounters/new?new=1";
  a.textContent = others > 0 ? t("start_blank_others", { n: others }) : t("start_blank");
  return a;
}

function autosaveSoon() {
  clearTimeout(saveTimer);
  saveTimer = setTimeout(autosave, 300);
}

function autosave() {
  clearTimeout(saveTimer);
  if (finished) return Promise.resolve();
  const draft = { user, id: uuid(), snapshot: snapshot(form), base: form.elements.base_revision.value, isNew: isNew(), savedAt: Date.now() };
  return put("drafts", draft);
}

function onSubmit(event) {
  const action = event.submitter?.value;
  if (action !== "save" && action !== "finalize") return;
  event.preventDefault();
  (action === "save" ? saveDraft() : finalize()).catch((error) => notice(String(error), "error"));
}

// Online and logged in: the usual server save (with a fresh token). Otherwise the draft stays here.
async function saveDraft() {
  await autosave();
  const response = await fetch("/api/v1/csrf", { cache: "no-store", signal: AbortSignal.timeout(8000) }).catch(() => null);
  if (!response?.ok) return notice(t(response?.status === 401 ? "login_to_save" : "saved_here"), "warning");
  form.elements.csrf_token.value = (await response.json()).csrf_token;
  form.append(Object.assign(document.createElement("input"), { type: "hidden", name: "action", value: "save" }));
  form.submit();
}

async function finalize() {
  const kinds = JSON.parse(document.getElementById("template-json")?.textContent || "{}");
  const answers = answersFromForm(form, Object.fromEntries((kinds.not_values || []).map((n) => [n.code, n.kind])));
  const messages = await check(answers, kinds);
  const acknowledged = [...form.querySelectorAll("[name=acknowledged]")].filter((i) => i.checked || i.type === "hidden").map((i) => i.value);
  const open = messages.filter((m) => m.severity !== "WARNING" || !acknowledged.includes(m.rule));
  if (open.length) {
    await autosave();
    return showMessages(messages, t(open.some((m) => m.severity !== "WARNING") ? "fix_these" : "check_these"), acknowledged);
  }
  const base = form.elements.base_revision.value;
  const held = await get("outbox", [user, uuid()]);
  const body = { id: uuid(), status: "final", template_id: kinds.id, template_version: kinds.version,
    base_revision: held?.currentRevision ?? (base === "" ? null : Number(base)), answers, acknowledged_warnings: acknowledged };
  finished = true;
  clearTimeout(saveTimer);
  await put("outbox", { user, id: uuid(), rev: Date.now(), state: "waiting", queuedAt: Date.now(), snapshot: snapshot(form), body });
  await remove("drafts", [user, uuid()]);
  navigator.serviceWorker?.ready.then((r) => r.sync?.register("crewlog-outbox")).catch(() => {});
  await sync(true);
  const after = await get("outbox", [user, uuid()]);
  if (after?.state === "rejected" || after?.state === "conflict") {
    finished = false;
    return showMessages(after.messages, t(`${after.state}_help`));
  }
  location.assign(after ? `/encounters/new?queued=${encodeURIComponent(uuid())}` : "/");
}

// Return the browser validator's messages (none when the template is not at hand; the server checks anyway).
async function check(answers, page) {
  template ??= await fetch("/template.json").then((r) => (r.ok ? r.json() : null)).catch(() => null);
  if (!template || template.template?.id !== page.id || template.template?.version !== page.version) return [];
  const { validate } = await import("../validation.js");
  const filled = new Set(template.fields.filter((f) => SERVER_FILLS.includes(f.input)).map((f) => f.id));
  const messages = validate(template, answers, { finalize: true, now: new Date(), extended: template.enabled_extended || [] });
  return messages.filter((m) => !filled.has(String(m.field).split(".").pop()));
}

// Show messages above the form and at each field; warnings get a box to tick.
function showMessages(messages, heading, acknowledged = []) {
  form.querySelectorAll("[data-offline-msg]").forEach((el) => el.remove());
  const box = element("div", "box error", "");
  box.dataset.offlineMsg = "";
  box.setAttribute("role", "alert");
  box.append(element("h2", "", heading));
  const list = box.appendChild(element("ul", "", ""));
  for (const m of messages) {
    const anchor = m.field && `wrap-${m.field.replace(/\[(\d+)\]\./g, "-$1-")}`;
    const item = list.appendChild(element("li", "", ""));
    if (m.severity === "WARNING" && m.rule) item.append(tick(m, acknowledged));
    else item.append(anchor && document.getElementById(anchor) ? link(`#${anchor}`, m.message) : m.message);
    const note = element("p", `field-msg ${m.severity === "WARNING" ? "warning" : "error"}`, m.message);
    note.dataset.offlineMsg = "";
    if (anchor) document.getElementById(anchor)?.append(note);
  }
  form.prepend(box);
  box.scrollIntoView({ block: "start" });
}

function tick(message, acknowledged) {
  const label = element("label", "", `${t("i_checked")} ${message.message}`);
  const box = Object.assign(document.createElement("input"), { type: "checkbox", name: "acknowledged", value: message.rule });
  box.checked = acknowledged.includes(message.rule);
  label.prepend(box, " ");
  return label;
}

function notice(text, kind, extra = null) {
  document.querySelector("[data-offline-notice]")?.remove();
  const box = element("div", `box ${kind}`, text);
  box.dataset.offlineNotice = "";
  box.setAttribute("role", "status");
  if (extra) box.append(" ", extra);
  form.before(box);
}

const element = (tag, className, text) => Object.assign(document.createElement(tag), { className, textContent: text });
const link = (href, text) => Object.assign(element("a", "", text), { href });
