// Read the encounter form as stored answers, as forms/builder.py answers_from_form does on the server.
const WALL = /^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d)(?::(\d\d))?$/;

// Return the answers the form holds: {field: value, group: [{field: value}]}.
export function answersFromForm(form, kinds) {
  const zone = form.elements.time_zone?.value || "UTC";
  const answers = readFields(form, (wrap) => !wrap.closest("[data-row]"), zone, kinds);
  for (const group of form.querySelectorAll("[data-group]")) {
    answers[group.dataset.group] = [...group.querySelectorAll("[data-row]")].map((row) => readFields(row, () => true, zone, kinds));
  }
  return answers;
}

function readFields(root, keep, zone, kinds) {
  const out = {};
  for (const wrap of root.querySelectorAll("[data-field]")) {
    if (!keep(wrap)) continue;
    const value = plain(wrap, zone);
    const nv = wrap.querySelector("input[name$='__nv']:checked")?.value || null;
    const stored = !nv ? value : (kinds[nv] || "not") === "not" ? { nv } : value === undefined ? { pn: nv } : { value, pn: nv };
    if (stored !== undefined) out[wrap.dataset.field] = stored;
  }
  return out;
}

function plain(wrap, zone) {
  const type = wrap.dataset.type;
  const inputs = [...wrap.querySelectorAll("input, select, textarea")].filter((i) => !i.name.endsWith("__nv"));
  if (type === "multi_enum") {
    const boxes = inputs.filter((i) => i.type === "checkbox");
    const codes = boxes.length ? boxes.filter((i) => i.checked).map((i) => i.value) : (inputs[0]?.value || "").split(/[,\s]+/).filter(Boolean);
    return codes.length ? codes : undefined;
  }
  const raw = (inputs.find((i) => (i.type === "radio" ? i.checked : i.type !== "checkbox"))?.value ?? "").trim();
  if (raw === "") return undefined;
  if (type === "boolean") return { true: true, false: false }[raw];
  if (type === "integer") return /^[+-]?\d+$/.test(raw) ? Number(raw) : raw;
  if (type === "number") return raw !== "" && Number.isFinite(Number(raw)) ? Number(raw) : raw;
  return type === "datetime" ? zoned(raw, zone) : raw;
}

// Return a datetime-local wall clock as ISO with the zone's offset (the earlier one when ambiguous).
export function zoned(wall, zone) {
  const m = WALL.exec(wall);
  if (!m) return wall;
  const [y, mo, d, h, mi, s = 0] = m.slice(1).map((x) => Number(x ?? 0));
  const guess = Date.UTC(y, mo - 1, d, h, mi, s);
  const fits = (off) => offset(zone, guess - off * 60000) === off;
  const [before, after] = [offset(zone, guess - 864e5), offset(zone, guess + 864e5)];
  const off = fits(before) || !fits(after) ? before : after;
  const sign = off < 0 ? "-" : "+";
  const hhmm = [Math.floor(Math.abs(off) / 60), Math.abs(off) % 60].map((n) => String(n).padStart(2, "0")).join(":");
  return `${m.slice(1, 4).join("-")}T${m[4]}:${m[5]}:${m[6] ?? "00"}${sign}${hhmm}`;
}

function offset(zone, epochMs) {
  const parts = new Intl.DateTimeFormat("en-US", { timeZone: zone, hourCycle: "h23", year: "numeric", month: "numeric",
    day: "numeric", hour: "numeric", minute: "numeric", second: "numeric" }).formatToParts(new Date(epochMs));
  const p = Object.fromEntries(parts.map((x) => [x.type, Number(x.value)]));
  return Math.round((Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(epochMs / 1000) * 1000) / 60000);
}
