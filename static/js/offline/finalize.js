// Loaded when the crew taps Save or Finalize (or opens a refused record): check the record with
// the browser's copy of the server's rules, put it in the outbox, and show messages at the fields.
import { answersFromForm } from "./answers.js";
import { restore } from "./drafts.js";
import { get, put, remove } from "./store.js";

const SERVER_FILLS = ["auto", "derived"]; // inputs the server fills in at finalize
let template;

// Online and logged in: the usual server save with a fresh token. Otherwise the draft stays here.
export async function saveDraft(page) {
  await page.autosave();
  const response = await fetch("/api/v1/csrf", { cache: "no-store", signal: AbortSignal.timeout(8000) }).catch(() => null);
  if (!response?.ok) return page.notice(page.t(response?.status === 401 ? "login_to_save" : "saved_here"), "warning");
  page.form.elements.csrf_token.value = (await response.json()).csrf_token;
  page.form.append(Object.assign(document.createElement("input"), { type: "hidden", name: "action", value: "save" }));
  page.form.submit();
}

export async function finalize(page) {
  const { form, user, t } = page;
  const id = form.elements.encounter_uuid.value;
  const meta = JSON.parse(document.getElementById("template-json")?.textContent || "{}");
  const answers = answersFromForm(form, Object.fromEntries((meta.not_values || []).map((n) => [n.code, n.kind])));
  const messages = await check(answers, meta);
  const acknowledged = [...form.querySelectorAll("[name=acknowledged]")].filter((i) => i.checked || i.type === "hidden").map((i) => i.value);
  const open = messages.filter((m) => m.severity !== "WARNING" || !acknowledged.includes(m.rule));
  if (open.length) {
    await page.autosave();
    return showMessages(page, messages, t(open.some((m) => m.severity !== "WARNING") ? "fix_these" : "check_these"), acknowledged);
  }
  const base = form.elements.base_revision.value;
  const held = await get("outbox", [user, id]);
  const body = { id, status: "final", template_id: meta.id, template_version: meta.version,
    base_revision: held?.currentRevision ?? (base === "" ? null : Number(base)), answers, acknowledged_warnings: acknowledged };
  page.finished = true;
  await put("outbox", { user, id, rev: Date.now(), state: "waiting", queuedAt: Date.now(), snapshot: page.snapshot(), body });
  await remove("drafts", [user, id]);
  navigator.serviceWorker?.ready.then((r) => r.sync?.register("crewlog-outbox")).catch(() => {});
  await page.sync(true);
  const after = await get("outbox", [user, id]);
  if (after?.state === "rejected" || after?.state === "conflict") {
    page.finished = false;
    return showMessages(page, after.messages, t(`${after.state}_help`));
  }
  location.assign(after ? `/encounters/new?queued=${encodeURIComponent(id)}` : "/");
}

// Open a record the server refused, with the server's messages (unless the crew has typed meanwhile).
export function openHeld(page, entry) {
  if (page.touched) return;
  restore(page, entry.snapshot);
  showMessages(page, entry.messages, page.t(`${entry.state}_help`));
}

// Return the browser validator's messages; none without the template (the server checks anyway).
async function check(answers, meta) {
  template ??= await fetch("/template.json").then((r) => (r.ok ? r.json() : null)).catch(() => null);
  if (!template || template.template?.id !== meta.id || template.template?.version !== meta.version) return [];
  const { validate } = await import("../validation.js");
  const filled = new Set(template.fields.filter((f) => SERVER_FILLS.includes(f.input)).map((f) => f.id));
  const messages = validate(template, answers, { finalize: true, now: new Date(), extended: template.enabled_extended || [], lang: document.documentElement.lang || "en" });
  return messages.filter((m) => !filled.has(String(m.field).split(".").pop()));
}

// Show messages above the form and at each field; warnings get a box to tick.
function showMessages(page, messages, heading, acknowledged = []) {
  const { form, t } = page;
  form.querySelectorAll("[data-offline-msg]").forEach((el) => el.remove());
  const box = element("div", "box error", "");
  box.setAttribute("role", "alert");
  box.append(element("h2", "", heading));
  const list = box.appendChild(element("ul", "", ""));
  for (const m of messages) {
    const anchor = m.field && `wrap-${m.field.replace(/\[(\d+)\]\./g, "-$1-")}`;
    const wrap = anchor && document.getElementById(anchor);
    const item = list.appendChild(element("li", "", ""));
    if (m.severity === "WARNING" && m.rule) item.append(tick(m, acknowledged, t));
    else item.append(wrap ? Object.assign(element("a", "", m.message), { href: `#${anchor}` }) : m.message);
    wrap?.append(element("p", `field-msg ${m.severity === "WARNING" ? "warning" : "error"}`, m.message));
  }
  form.prepend(box);
  box.scrollIntoView({ block: "start" });
}

function tick(message, acknowledged, t) {
  const label = element("label", "", ` ${t("i_checked")} ${message.message}`);
  const box = Object.assign(document.createElement("input"), { type: "checkbox", name: "acknowledged", value: message.rule });
  box.checked = acknowledged.includes(message.rule);
  label.prepend(box);
  return label;
}

function element(tag, className, text) {
  const el = Object.assign(document.createElement(tag), { className, textContent: text });
  el.dataset.offlineMsg = "";
  return el;
}
