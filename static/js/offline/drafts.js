// Loaded when a draft on this tablet comes back, or a refused record opens (finalize.js): put what
// the crew had entered back into the form.
import { layOutRows } from "../rows.js";
import { clock, link } from "./main.js";
import { remove } from "./store.js";

// Bring back a draft that encounter.js found, unless the crew has typed meanwhile (then the drafts
// are offered as links) or the server holds a newer revision of the record.
export function openDraft(page, draft, others, isNew) {
  const { form, user, t, notice } = page;
  const links = (list) => list.slice(0, 5).map((d) => link(`?draft=${d.id}`, clock(d.savedAt)));
  if (page.touched) return isNew && notice(form.dataset.draftsHere, "warning", ...links(others));
  if (!isNew && draft.base !== form.elements.base_revision.value) return remove("drafts", [user, draft.id]);
  restore(page, draft.snapshot);
  notice(t("restored", { time: clock(draft.savedAt) }), "ok", link("?new=1", t("start_blank")), ...links(others.filter((d) => d !== draft)));
}

// Put a snapshot (encounter.js) back: its person rows first, then every input's value.
export function restore({ form }, { rows, values }) {
  layOutRows(form, rows);
  for (const input of form.querySelectorAll("input:not([type=hidden]), select, textarea")) {
    if (input.type === "checkbox" || input.type === "radio") input.checked = false;
    else input.value = "";
  }
  for (const [name, value] of values) {
    for (const input of form.querySelectorAll(`[name="${CSS.escape(name)}"]`)) {
      if (input.type === "checkbox" || input.type === "radio") input.checked ||= input.value === value;
      else input.value = value;
    }
  }
  form.dispatchEvent(new Event("change", { bubbles: true }));
}
