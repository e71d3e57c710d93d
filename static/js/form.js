// Encounter page behaviour: relevance, one-tap "now", steppers, person rows, clearable chips.
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
function unpack(within, selector = "noscript") {
  for (const text of within.querySelectorAll(selector)) text.outerHTML = text.textContent;
}
const FIRST_TOUCH = "[data-rows] > noscript, noscript[data-codes]";

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
    if (button.dataset.addRow) addRow(group);
    else removeRow(group, button.closest("[data-row]"));
    numberRows(group);
    applyRelevance();
  }
}

function addRow(group) {
  const rows = group.querySelector("[data-rows]");
  const used = [...rows.querySelectorAll("[data-row]")].map((r) => Number(r.dataset.row));
  rows.insertAdjacentHTML("beforeend", rowMaker(group)(String(used.length ? Math.max(...used) + 1 : 0)));
  rows.lastElementChild?.querySelector("input:not([type=hidden]), select, textarea")?.focus();
}

function removeRow(group, row) {
  rowMaker(group); // copy a row before the last one goes
  group.append(...row.querySelectorAll("datalist")); // the other rows' inputs still offer these codes
  row.remove();
}

// Lay out blank rows for a draft being restored ({group: [index, ...]}); drafts.js fills them in.
function onRows(event) {
  unpack(form, FIRST_TOUCH); // rows are copied below
  for (const group of form.querySelectorAll("[data-group]")) {
    const indexes = event.detail[group.dataset.group];
    if (!indexes) continue;
    const make = rowMaker(group);
    const holder = group.querySelector("[data-rows]");
    group.append(...holder.querySelectorAll("datalist"));
    holder.innerHTML = indexes.map(make).join("");
    numberRows(group);
  }
  unpack(form); // the draft may hold other answers
}

// Return (index) => a group's blank row HTML, copied once from a row on the page, or else from
// the server's <template> (the page carries no spare copy of a row).
const blankRows = new Map();
function rowMaker(group) {
  const id = group.dataset.group;
  if (!blankRows.has(id)) {
    const row = group.querySelector("[data-row]");
    blankRows.set(id, row ? blankCopy(row, id) : document.getElementById(`row-template-${id}`)?.innerHTML || "");
  }
  return (index) => blankRows.get(id).replaceAll("__index__", index);
}

// Copy a row without answers or messages, its names and ids numbered "__index__".
function blankCopy(source, group) {
  const row = source.cloneNode(true);
  unpack(row); // its "Other answers" are numbered below too
  row.querySelectorAll("[data-msg], [data-offline-msg], .not-relevant-note, datalist").forEach((el) => el.remove());
  const from = `${group}-${row.dataset.row}-`;
  for (const el of [row, ...row.querySelectorAll("*")]) {
    clearAnswer(el);
    for (const { name, value } of [...el.attributes]) el.setAttribute(name, value.replaceAll(from, `${group}-__index__-`));
  }
  row.dataset.row = "__index__";
  row.querySelector("[data-remove-row]").value = `remove_row:${group}:__index__`;
  return row.outerHTML;
}

// Clear one element of a copied row: no answer, no message state (an aria-describedby naming a
// removed message is left: a reference to no element is ignored).
function clearAnswer(el) {
  for (const name of ["checked", "selected", "hidden", "open", "aria-invalid"]) el.removeAttribute(name);
  el.classList.remove("has-error", "has-warning");
  if (el.tagName === "TEXTAREA") el.textContent = "";
  if (el.tagName === "INPUT" && !["radio", "checkbox", "hidden"].includes(el.type)) el.removeAttribute("value");
  // A yes/no field starts on its "unanswered" chip (value ""), as on the server's blank form.
  if (el.type === "radio" && el.value === "" && !el.name.endsWith("__nv")) el.setAttribute("checked", "");
}

function numberRows(group) {
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
  form.addEventListener("rows", onRows);
  form.addEventListener("toggle", (event) => unpack(event.target), true);
  // Rows and codes sent as text are unpacked at the first touch: a draft holds them as ever.
  for (const type of ["pointerdown", "keydown", "focusin", "change"]) form.addEventListener(type, () => unpack(form, FIRST_TOUCH), true);
  form.querySelectorAll("[data-group]").forEach(numberRows);
  applyRelevance();
}
