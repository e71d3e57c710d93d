// Person rows (repeat groups): add and remove them on the page, and lay them out for a draft coming
// back (drafts.js). Loaded at the first such change: most encounters add no row.
import { FIRST_TOUCH, numberRows, unpack } from "./form.js";

// Add a row to a group, or remove the row holding this Remove button; number the rows again.
export function changeRows(group, button) {
  if (button.dataset.addRow) addRow(group);
  else removeRow(group, button.closest("[data-row]"));
  numberRows(group);
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
export function layOutRows(form, wanted) {
  unpack(form, FIRST_TOUCH); // rows are copied below
  for (const group of form.querySelectorAll("[data-group]")) {
    const indexes = wanted[group.dataset.group];
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
