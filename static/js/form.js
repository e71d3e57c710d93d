// Encounter page behaviour: relevance, one-tap "now", steppers, clearable chips (rows: rows.js).
// The form works without this file: the server decides relevance and changes rows on a post.
import { evaluate } from "./conditions.js";

// With this script (class "js"), the fields after the first screen (class "later", layout.py) are
// drawn four a frame once it is drawn, and all at once before a submit or a jump to a field. Set up
// first: nothing failing below can leave them hidden.
document.documentElement.classList.add("js");
addEventListener("DOMContentLoaded", () => drawLater(), { once: true });
addEventListener("submit", () => drawLater(true), true);
addEventListener("hashchange", () => drawLater(true));

function drawLater(all = false) {
  const later = [...document.querySelectorAll(".later")];
  if (all) later.splice(0).forEach((el) => el.classList.remove("later"));
  if (later.length) requestAnimationFrame(() => setTimeout(drawFour));
  else document.documentElement.dataset.formDrawn ??= String(Math.round(performance.now()));
}

function drawFour() {
  [...document.querySelectorAll(".later")].slice(0, 4).forEach((el) => el.classList.remove("later"));
  drawLater();
}

const form = document.getElementById("encounter-form");
const template = JSON.parse(document.getElementById("template-json")?.textContent || "{}");
const notValueKinds = Object.fromEntries((template.not_values || []).map((n) => [n.code, n.kind]));
const json = (el, key) => (el.dataset[key] ? JSON.parse(el.dataset[key]) : null);
const changed = (input) => input.dispatchEvent(new Event("change", { bubbles: true }));

// Return the stored-encoding value a field wrapper currently shows (undefined when blank).
function readField(wrap) {
  const type = wrap.dataset.type;
  const inputs = [...wrap.querySelectorAll("input, select, textarea")].filter((i) => !i.name.endsWith("__nv"));
  let value;
  if (type === "multi_enum") {
    const boxes = inputs.filter((i) => i.type === "checkbox");
    value = boxes.length ? boxes.filter((i) => i.checked).map((i) => i.value)
      : (inputs[0]?.value || "").split(/[,\s]+/).filter(Boolean);
    if (!value.length) value = undefined;
  } else {
    const raw = inputs.find((i) => (i.type === "radio" ? i.checked : true))?.value ?? "";
    value = parseValue(type, raw.trim());
  }
  const nv = wrap.querySelector("input[name$='__nv']:checked")?.value;
  if (!nv) return value;
  if ((notValueKinds[nv] || "not") === "not") return { nv };
  return value === undefined ? { pn: nv } : { value, pn: nv };
}

function parseValue(type, raw) {
  if (raw === "") return undefined;
  if (type === "boolean") return raw === "true" ? true : raw === "false" ? false : undefined;
  if (type === "integer" || type === "number") {
    const n = Number(raw);
    return Number.isFinite(n) ? n : undefined;
  }
  return raw;
}

// Evaluate relevance in template order; a hidden field counts as unanswered. Encounter
// fields first (a group's relevance may read fields placed after it), then each row.
function applyRelevance() {
  const values = {};
  for (const wrap of form.querySelectorAll("[data-field]")) {
    if (!wrap.closest("[data-group]")) showField(wrap, values, null, values);
  }
  for (const group of form.querySelectorAll("[data-group]")) {
    const cond = json(group, "relevant");
    hide(group, cond ? !evaluate(cond, values, template) : false);
    for (const row of group.querySelectorAll("[data-row]")) {
      const rowValues = {};
      row.querySelectorAll("[data-field]").forEach((wrap) => showField(wrap, values, rowValues, rowValues));
    }
  }
}

function showField(wrap, values, row, into) {
  const cond = json(wrap, "relevant");
  const relevant = cond ? evaluate(cond, values, template, row) : true;
  hide(wrap, !relevant);
  const auto = json(wrap, "auto");
  if (relevant && auto && evaluate(auto.when, values, template, row)) setValue(wrap, auto.value);
  const value = relevant ? readField(wrap) : undefined;
  if (value !== undefined) into[wrap.dataset.field] = value;
  else delete into[wrap.dataset.field];
}

// Show or hide an element, touching the DOM only on a change (a write restyles it, even unchanged).
function hide(el, hidden) {
  if (el.hidden !== hidden) el.hidden = hidden;
}

// Set an automatic value (plain, or a NOT value / PN code) on a field's chips or select.
function setValue(wrap, value) {
  const code = value && typeof value === "object" ? value.nv || value.pn : null;
  if (code) unpack(wrap);
  const selector = code ? `input[name$="__nv"][value="${CSS.escape(code)}"]` : `[value="${CSS.escape(String(value))}"]`;
  const target = wrap.querySelector(selector);
  if (target?.tagName === "OPTION") target.selected = true;
  else if (target && !target.checked) target.checked = true;
}

// Make elements of markup sent as text (<noscript>): "Other answers", offered codes (fields.html),
// rows of a group that does not apply yet (encounter.html).
export function unpack(within, selector = "noscript") {
  for (const text of within.querySelectorAll(selector)) text.outerHTML = text.textContent;
}
export const FIRST_TOUCH = "[data-rows] > noscript, noscript[data-codes]";

// Return the current wall-clock time in a time zone as YYYY-MM-DDTHH:MM:SS.
function wallClock(timeZone) {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  }).formatToParts(new Date());
  const p = Object.fromEntries(parts.map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}`;
}

function onClick(event) {
  const button = event.target.closest("button");
  const input = button?.parentElement.querySelector("input");
  if (button?.dataset.now) {
    input.value = wallClock(form.elements.time_zone?.value || "UTC");
    changed(input);
  } else if (button?.dataset.step) {
    input.value = String((Number(input.value) || 0) + Number(button.dataset.step));
    changed(input);
  } else if (button?.matches("[data-add-row], [data-remove-row]")) {
    event.preventDefault();
    const group = button.closest("[data-group]");
    import("./rows.js").then((rows) => rows.changeRows(group, button)).then(applyRelevance);
  }
}

export function numberRows(group) {
  const rows = group.querySelectorAll("[data-row]");
  rows.forEach((row, i) => (row.querySelector("[data-row-title]").textContent = group.dataset.rowLabel.replace("{n}", i + 1)));
  const add = group.querySelector("[data-add-row]");
  if (add) add.disabled = rows.length >= Number(group.dataset.maxRows || Infinity);
}

// A second tap on a selected chip clears it (radio groups marked data-clearable).
const lastChecked = new Map();
function onRadioClick(event) {
  const input = event.target;
  if (input.type !== "radio" || !input.closest("[data-clearable]")) return;
  if (lastChecked.get(input.name) === input) {
    input.checked = false;
    lastChecked.delete(input.name);
    applyRelevance();
  } else {
    lastChecked.set(input.name, input);
  }
}

if (form) {
  form.querySelectorAll("input[type=radio]:checked").forEach((i) => lastChecked.set(i.name, i));
  form.addEventListener("click", onClick);
  form.addEventListener("click", onRadioClick);
  form.addEventListener("change", applyRelevance);
  form.addEventListener("input", applyRelevance);
  form.addEventListener("toggle", (event) => unpack(event.target), true);
  // Rows and codes sent as text are unpacked at the first touch: a draft holds them as ever.
  for (const type of ["pointerdown", "keydown", "focusin", "change"]) form.addEventListener(type, () => unpack(form, FIRST_TOUCH), true);
  form.querySelectorAll("[data-group]").forEach(numberRows);
  applyRelevance();
}
