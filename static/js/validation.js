// Validate encounter answers in the browser exactly as forms/validation.py does, so a crew
// can finalize offline: a port of forms/normalize.py, values.py, rules.py and messages.py.
// The template is the JSON document of /template.json; conditions run in conditions.js.
import { compileCondition, decode, hasReal } from "./conditions.js";

const DEFAULT_NV = { R: ["not_applicable", "not_recorded"], Rec: ["not_applicable", "not_recorded"] };
const SHAPES = ["nv", "pn", "pn,value"];
const DT = /^(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d)(?::(\d\d)(?::(\d\d)(?:[.,](\d+))?)?)?(Z|[+-]\d\d(?::?\d\d)?)?)?$/;
const NUM = /^[+-]?(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?$/;
const isMap = (x) => x !== null && typeof x === "object" && !Array.isArray(x);
const arr = (x) => (Array.isArray(x) ? x : []);
const blank = (v) => v === undefined || v === null || v === "" || (Array.isArray(v) && !v.length);
const real = (stored) => { const r = decode(stored)[0]; return hasReal(r) ? r : null; };
const lookup = (name, values, row) => (row && Object.hasOwn(row, name) ? row[name] : values[name]);
const clone = (x) => (x === undefined ? x : structuredClone(x));
const models = new WeakMap(); // template document -> language -> prepared template
const compiled = new WeakMap();
const patterns = new Map();

// Return the template with the loader's defaults applied, its words in the language asked for
// (cached per template document and language). Messages are worded as forms/messages.py does: the
// template's own translations (*_i18n), and Crewlog's phrases from the document's message_phrases
// (forms/phrases.py, added by /template.json), English where either has none.
export function prepare(src, lang = "en") {
  if (!models.has(src)) models.set(src, new Map());
  if (!models.get(src).has(lang)) models.get(src).set(lang, build(src, lang));
  return models.get(src).get(lang);
}

function build(src, lang) {
  const words = (text, i18n) => (isMap(i18n) && i18n[lang]) || text;
  const nv = new Map(arr(src.not_values).map((n) => [n.code, { label: words(n.label ?? n.code, n.label_i18n), kind: n.kind ?? "not" }]));
  const inGroup = Object.fromEntries(arr(src.sections).map((s) => [s.id, s.group ?? null]));
  const field = (f) => ({ ...f, label: f.label || f.id, type: f.type ?? "text", usage: f.usage ?? "O",
    core: (f.tier ?? "core") === "core", group: inGroup[f.section ?? ""] ?? null,
    not_values: f.not_values ?? (DEFAULT_NV[f.usage] || []).filter((c) => nv.has(c)),
    pertinent_negatives: f.pertinent_negatives ?? [] });
  const t = {
    src, id: src.template?.id ?? src.id, version: src.template?.version ?? src.version, nv,
    fields: new Map(arr(src.fields).map((f) => [f.id, field(f)])),
    groups: new Map(arr(src.groups).map((g) => [g.id, { min_rows: 1, max_rows: 50, ...g, label: words(g.label ?? g.id, g.label_i18n),
      row_label: g.row_label && words(g.row_label, g.row_label_i18n) }])),
    lists: new Map(Object.entries(src.code_lists || {}).map(([id, c]) => [id, { ...c, set: new Set(arr(c.codes).map((x) => x.code)) }])),
    rules: arr(src.rules).map((r) => ({ severity: "ERROR", level: "encounter", ...r, message: words(r.message ?? "", r.message_i18n) })),
    derived: arr(src.derived),
    label: (name) => (t.fields.has(name) ? words(t.fields.get(name).label, t.fields.get(name).label_i18n) : name),
    code: (list, code) => { const c = arr(t.lists.get(list || "")?.codes).find((x) => x.code === code); return c ? words(c.label, c.label_i18n) : code; },
    phrases: (isMap(src.message_phrases) && src.message_phrases[lang]) || {},
  };
  return t;
}

// Return a phrase of forms/phrases.py in the template's language, its {slots} filled (phrase()).
const phrase = (t, english, slots = null) =>
  slots ? (t.phrases[english] ?? english).replace(/\{(\w+)\}/g, (_, name) => String(slots[name])) : (t.phrases[english] ?? english);

// Return a finished English phrase in the template's language, its slots read back (translated()).
function translated(t, text) {
  if (Object.hasOwn(t.phrases, text)) return t.phrases[text];
  for (const [english, pattern] of slotted(t.phrases)) {
    const found = pattern.exec(text);
    if (found) return phrase(t, english, found.groups);
  }
  return text;
}

const slottedCache = new WeakMap();
function slotted(phrases) {
  if (!slottedCache.has(phrases)) {
    const withSlots = Object.keys(phrases).filter((p) => /\{\w+\}/.test(p)).sort((a, b) => b.length - a.length);
    const escape = (part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    slottedCache.set(phrases, withSlots.map((p) => [p, new RegExp(`^${p.split(/\{(\w+)\}/).map((part, i) => (i % 2 ? `(?<${part}>[\\s\\S]+?)` : escape(part))).join("")}$`)]));
  }
  return slottedCache.get(phrases);
}

function holds(t, cond, values, row = null) {
  if (!compiled.has(cond)) compiled.set(cond, compileCondition(cond, t.src));
  return compiled.get(cond)(values, row);
}

const enabled = (f, ext) => f.core || ext.has(f.id);
const applies = (t, f, values, row, ext) => enabled(f, ext) && (!f.relevant || holds(t, f.relevant, values, row));
const groupApplies = (t, g, values) => !g.relevant || holds(t, g.relevant, values);
const rowsOf = (values, g) => arr(values[g.id]).filter(isMap);

// Return new answers: auto values set, non-applicable values dropped, rows numbered (normalize.py).
export function normalize(src, answers, { extended = [], finalize = false } = {}) {
  const t = prepare(src);
  const ext = new Set(extended);
  const out = isMap(answers) ? clone(answers) : {};
  for (let pass = 0; pass < 8; pass++) {
    const before = clone(out);
    setAutoValues(t, out, ext);
    dropInapplicable(t, out, ext);
    if (pyEq(out, before)) break;
  }
  for (const g of t.groups.values()) {
    const rows = rowsOf(out, g);
    if (g.sequence_field) rows.forEach((row, i) => { row[g.sequence_field] = i + 1; });
    const count = t.fields.get(g.count_field || "");
    if (count && applies(t, count, out, null, ext)) out[count.id] = rows.length;
  }
  if (finalize) {
    fillOnlyChoices(t, out, ext);
    markBlankRequired(t, out, ext);
  }
  return out;
}

// Fill a blank mandatory single choice that its subset rule leaves one code (auto_values.py: the
// main need when the crew chose one need); only at finalize, so a draft keeps what the crew chose.
function fillOnlyChoices(t, out, ext) {
  for (const rule of t.rules) {
    const [target, source] = [t.fields.get(String(rule.field ?? "")), t.fields.get(String(rule.of ?? ""))];
    if (rule.kind !== "subset" || !target || !source) continue;
    if (target.usage !== "M" || target.type !== "enum" || source.type !== "multi_enum") continue;
    eachPlace(t, target, out, (place, row) => {
      if (!blank(place[target.id]) || !applies(t, target, out, row, ext)) return;
      const [r] = decode(lookup(source.id, out, row));
      if (hasReal(r) && Array.isArray(r) && r.length === 1 && typeof r[0] === "string" && isCode(t, target, r[0])) place[target.id] = r[0];
    });
  }
}

function eachPlace(t, f, out, fn) {
  if (f.group === null) fn(out, null);
  else if (t.groups.has(f.group)) rowsOf(out, t.groups.get(f.group)).forEach((row) => fn(row, row));
}

function setAutoValues(t, out, ext) {
  for (const f of t.fields.values()) {
    if (!f.auto_value || !enabled(f, ext)) continue;
    eachPlace(t, f, out, (target, row) => {
      if (holds(t, f.auto_value.when, out, row)) target[f.id] = clone(f.auto_value.value);
    });
  }
}

function dropInapplicable(t, out, ext) {
  for (const name of Object.keys(out)) {
    const f = t.fields.get(name);
    if (f && f.group === null && !applies(t, f, out, null, ext)) delete out[name];
  }
  for (const g of t.groups.values()) {
    if (!Object.hasOwn(out, g.id)) continue;
    if (!groupApplies(t, g, out)) { delete out[g.id]; continue; }
    for (const row of rowsOf(out, g)) {
      for (const name of Object.keys(row)) {
        const f = t.fields.get(name);
        if (f && f.group === g.id && !applies(t, f, out, row, ext)) delete row[name];
      }
    }
  }
}

function markBlankRequired(t, out, ext) {
  for (const f of t.fields.values()) {
    if (f.usage !== "R" || !f.not_values.includes("not_recorded")) continue;
    eachPlace(t, f, out, (target, row) => {
      if (blank(target[f.id]) && applies(t, f, out, row, ext)) target[f.id] = { nv: "not_recorded" };
    });
  }
}

// Return every problem with the answers, as forms.validation.validate does (Message.to_json shape).
export function validate(src, answers, { finalize = false, now = new Date(), extended = [], duplicateLookup = null, lang = "en" } = {}) {
  const t = prepare(src, lang);
  const schema = t.rules.find((r) => r.kind === "schema");
  const [rule, sev] = schema ? [schema.id, schema.severity] : ["schema", "FATAL"];
  if (!isMap(answers)) return [msg(null, sev, phrase(t, "The record could not be read: start it again."), rule)];
  const out = shape(t, answers, sev, rule);
  const ext = new Set(extended);
  const values = normalize(src, answers, { extended: ext, finalize });
  for (const [place, f, value] of applicable(t, values, ext)) {
    let problem = valueProblem(t, f, value);
    if (problem !== null) problem = translated(t, problem);
    else if (finalize) problem = usageProblem(t, f, value);
    if (problem !== null) out.push(about(t, place, f.id, problem, sev, rule));
  }
  if (finalize) out.push(...checkRules(t, values, answers, micros(now), duplicateLookup));
  return out;
}

// Return whether any message blocks finalizing (FATAL or ERROR).
export const blocking = (messages) => messages.some((m) => m.severity === "FATAL" || m.severity === "ERROR");

const msg = (field, severity, message, rule, row = null) => ({ field, severity, message, rule, row });
const path = (p, name) => (p ? `${p.g.id}[${p.i}].${name}` : name);
const placed = (p, text) => (p ? `${p.g.row_label || p.g.label} ${p.i + 1}: ${text}` : text);
const about = (t, p, name, text, sev, rule) => msg(path(p, name), sev, placed(p, `${t.label(name)}: ${text}`), rule, p ? p.i : null);
const said = (p, name, text, sev, rule) => msg(name ? path(p, name) : null, sev, placed(p, text), rule, p ? p.i : null);
const unknown = (t, name) => phrase(t, "'{name}' is not a question of template {template}: remove it.", { name, template: `${t.id} ${t.version}` });

function shape(t, answers, sev, rule) {
  const out = [];
  for (const [key, value] of Object.entries(answers)) {
    const g = t.groups.get(key);
    const f = t.fields.get(key);
    if (g) {
      if (!Array.isArray(value) || !value.every(isMap)) {
        out.push(said(null, key, phrase(t, "{group}: the rows could not be read; enter them again.", { group: g.label }), sev, rule));
        continue;
      }
      value.forEach((row, i) => Object.keys(row).forEach((name) => {
        if (t.fields.get(name)?.group !== key) out.push(said({ g, i }, name, unknown(t, name), sev, rule));
      }));
    } else if (!f || f.group !== null) out.push(said(null, key, unknown(t, key), sev, rule));
  }
  return out;
}

function applicable(t, values, ext) {
  const out = [];
  for (const f of t.fields.values()) if (f.group === null && applies(t, f, values, null, ext)) out.push([null, f, values[f.id]]);
  for (const g of t.groups.values()) {
    if (!Object.hasOwn(values, g.id) || !groupApplies(t, g, values)) continue;
    const members = [...t.fields.values()].filter((f) => f.group === g.id);
    rowsOf(values, g).forEach((row, i) => members.forEach((f) => {
      if (applies(t, f, values, row, ext)) out.push([{ g, i }, f, row[f.id]]);
    }));
  }
  return out;
}

function usageProblem(t, f, value) {
  const [r, nv, pn] = decode(value);
  const present = hasReal(r);
  if (f.must_be_true && r !== true) return phrase(t, "confirm this (it must be yes) to finalize.");
  if (f.usage === "M" && !present) {
    return nv || pn ? phrase(t, "a real answer is needed; '{code}' is not allowed here.", { code: nvLabel(t, nv || pn) })
      : phrase(t, "answer this to finalize.");
  }
  if (f.usage === "R" && !present && nv === null && pn === null) return phrase(t, "answer this, or choose why it is missing.");
  const wrong = nv !== null && !f.not_values.includes(nv) ? nv : pn !== null && !f.pertinent_negatives.includes(pn) ? pn : null;
  if (wrong !== null) return phrase(t, "'{code}' is not allowed here: {what}", { code: nvLabel(t, wrong), what: alternatives(t, f) });
  if (f.min_items != null && Array.isArray(r) && r.length < f.min_items) return phrase(t, "choose at least {n}.", { n: f.min_items });
  return null;
}

const nvLabel = (t, code) => t.nv.get(code ?? "")?.label ?? String(code);
function alternatives(t, f) {
  const allowed = [...f.not_values, ...f.pertinent_negatives];
  if (!allowed.length) return phrase(t, "enter a value.");
  return phrase(t, "enter a value or choose {choices}.", { choices: allowed.map((c) => `'${nvLabel(t, c)}'`).join(phrase(t, " or ")) });
}

// Return what to do about a stored value that does not fit its field, or null (values.py).
function valueProblem(t, f, value) {
  if (!isMap(value)) return blank(value) ? null : plainProblem(t, f, value);
  if (!SHAPES.includes(Object.keys(value).sort().join(","))) return "the stored answer is unreadable; answer the question again.";
  if ("nv" in value) return codeProblem(t, value.nv, "not");
  return codeProblem(t, value.pn, "pn") ?? ("value" in value ? plainProblem(t, f, value.value) : null);
}

function codeProblem(t, code, kind) {
  if (typeof code === "string" && t.nv.get(code)?.kind === kind) return null;
  const what = kind === "not" ? "reason for a missing value" : "qualifier (pertinent negative)";
  return `${pyRepr(code)} is not a known ${what}; choose one from the list.`;
}

const numText = (v) => (v === undefined || v === null ? null : String(v));
function rangeText(f) {
  const [lo, hi] = [numText(f.min), numText(f.max)];
  if (lo !== null && hi !== null) return ` from ${lo} to ${hi}`;
  if (lo !== null) return ` of ${lo} or more`;
  return hi !== null ? ` of ${hi} or less` : "";
}
const inRange = (f, v) => (f.min == null || v >= f.min) && (f.max == null || v <= f.max);
const shown = (v) => (typeof v === "string" ? `'${v}'` : pyRepr(v));

const TYPES = {
  text(t, f, v) {
    if (typeof v !== "string") return "enter text.";
    const length = [...v].length;
    if (f.max_length != null && length > f.max_length) return `keep it to ${f.max_length} characters or fewer (now ${length}).`;
    return f.pattern != null && !fullMatch(f.pattern, v) ? `'${v}' is not in the expected format; check it.` : null;
  },
  integer: (t, f, v) => (Number.isInteger(v) && inRange(f, v) ? null : `enter a whole number${rangeText(f)}.`),
  number: (t, f, v) => (Number.isFinite(v) && inRange(f, v) ? null : `enter a number${rangeText(f)}.`),
  boolean: (t, f, v) => (typeof v === "boolean" ? null : "answer yes or no."),
  date: (t, f, v) => (typeof v === "string" && /^\d{4}-\d\d-\d\d$/.test(v) && instant(v) ? null : "enter a date as YYYY-MM-DD (e.g. 2026-03-14)."),
  datetime: (t, f, v) => (typeof v === "string" && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(v) && instant(v)
    ? null : "enter a date and time with seconds and UTC offset (e.g. 2026-03-14T13:17:45-06:00)."),
  enum: (t, f, v) => (typeof v === "string" && isCode(t, f, v) ? null : `choose one of the listed options (${shown(v)} is not one).`),
  multi_enum(t, f, v) {
    if (!Array.isArray(v)) return "choose one or more of the listed options.";
    const bad = v.filter((x) => !(typeof x === "string" && isCode(t, f, x)));
    if (bad.length) return `choose from the listed options (${shown(bad[0])} is not one).`;
    return new Set(v).size !== v.length ? "choose each option only once." : null;
  },
  geo(t, f, v) {
    const parts = typeof v === "string" ? v.split(",").map((p) => p.trim()) : [];
    const [lat, lon] = parts.length === 2 && parts.every((p) => NUM.test(p)) ? parts.map((p) => Number(p.replaceAll("_", ""))) : [NaN, NaN];
    return lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180 ? null : "enter a GPS point as latitude,longitude (e.g. 39.7508,-104.9966).";
  },
};
const plainProblem = (t, f, v) => TYPES[f.type](t, f, v);

function isCode(t, f, value) {
  const list = t.lists.get(f.code_list || "");
  if (!list) return false;
  return list.set.has(value) || (!!list.external && list.pattern != null && fullMatch(list.pattern, value));
}

function fullMatch(pattern, text) {
  if (!patterns.has(pattern)) {
    try { patterns.set(pattern, new RegExp(`^(?:${pattern})$`, "u")); } catch { patterns.set(pattern, null); }
  }
  return patterns.get(pattern)?.test(text) ?? false;
}

// Parse an ISO date or datetime as Python's fromisoformat does; keep the wall clock for messages.
function instant(text) {
  const m = DT.exec(text);
  if (!m || (text.length === 10) !== (m[4] === undefined)) return null;
  const [y, mo, d, h = 0, mi = 0, s = 0] = m.slice(1, 7).map((x) => (x === undefined ? undefined : Number(x)));
  const wall = new Date(Date.UTC(2000, mo - 1, d, h, mi, s));
  wall.setUTCFullYear(y);
  if (y < 1 || wall.getUTCMonth() !== mo - 1 || wall.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) return null;
  const date = m.slice(1, 4).join("-");
  const day = Math.floor(wall.getTime() / 864e5);
  if (m[4] === undefined) return { dt: false, day, date };
  const off = offsetMinutes(m[8]);
  if (off !== null && Math.abs(off) >= 1440) return null;
  const key = wall.getTime() * 1000 + Number((m[7] || "").slice(0, 6).padEnd(6, "0")) - (off ?? 0) * 6e7;
  return { dt: true, aware: off !== null, key, day, date, hm: m.slice(4, 6).map((x) => x ?? "00").join(":") };
}

function offsetMinutes(text) {
  if (text === undefined) return null;
  if (text === "Z") return 0;
  const digits = text.slice(1).replace(":", "");
  return (text[0] === "-" ? -1 : 1) * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || 0));
}

const instantOf = (stored) => { const r = real(stored); return typeof r === "string" ? instant(r) : null; };
const micros = (now) => (now instanceof Date ? now.getTime() * 1000 : instant(String(now)).key);

function before(a, b) {
  if (a.dt !== b.dt) return a.day < b.day;
  if (a.dt && a.aware !== b.aware) return false;
  return a.dt ? a.key < b.key : a.day < b.day;
}

const when = (m, other) => (!m.dt ? m.date : other.dt && other.date === m.date ? m.hm : `${m.date} ${m.hm}`);
const at = (t, p, name) => (t.fields.get(name)?.group != null ? p : null);
const sentence = (text) => (/[.?!]$/.test(text) ? text : `${text}.`);

function checkRules(t, values, raw, now, duplicateLookup) {
  const out = [];
  for (const rule of t.rules) {
    const check = RULES[rule.kind];
    if (!check) continue;
    if (["rows", "unique", "exclusive", "not_future"].includes(rule.kind)) {
      out.push(...check(t, rule, values, null, null, { raw, now, duplicateLookup }));
      continue;
    }
    const g = t.groups.get(rule.level);
    if (!g) out.push(...check(t, rule, values, null, null));
    else if (groupApplies(t, g, values)) rowsOf(values, g).forEach((row, i) => out.push(...check(t, rule, values, row, { g, i })));
  }
  return out;
}

function firstField(cond, filters, depth = 0) {
  if (depth > 20 || !isMap(cond)) return null;
  if ("field" in cond) return String(cond.field);
  if ("use" in cond) return firstField(filters[String(cond.use)] ?? {}, filters, depth + 1);
  const inner = "all" in cond ? cond.all : "any" in cond ? cond.any : "not" in cond ? [cond.not] : [];
  for (const c of arr(inner)) { const n = firstField(c, filters, depth + 1); if (n) return n; }
  return null;
}

function firstInstant(t, names, values, row) {
  for (const name of typeof names === "string" ? [names] : names) {
    const derived = t.derived.find((d) => d.id === name && String(d.kind ?? "").startsWith("local_"));
    for (const source of derived ? [derived.start].flat() : [name]) {
      const moment = instantOf(lookup(source, values, row));
      if (moment) return [source, moment];
    }
  }
  return null;
}

function duration(t, s) {
  if (s >= 2 * 86400) return phrase(t, "{n} days", { n: Math.floor(s / 86400) });
  return s >= 7200 ? phrase(t, "{n} hours", { n: Math.floor(s / 3600) }) : phrase(t, "{n} minutes", { n: Math.floor(s / 60) });
}

function rowPlaces(t, name, values) {
  const g = t.groups.get(t.fields.get(name)?.group || "");
  return g ? rowsOf(values, g).map((row, i) => [{ g, i }, row]) : [[null, values]];
}

const RULES = {
  order(t, rule, values, row, p) {
    const present = rule.fields.map((n) => [n, instantOf(lookup(n, values, row))]).filter(([, m]) => m);
    const out = [];
    for (let k = 1; k < present.length; k++) {
      const [[first, t1], [second, t2]] = [present[k - 1], present[k]];
      if (!before(t2, t1)) continue;
      const text = phrase(t, "{message}: {second} ({later}) is before {first} ({earlier}). Check the times.",
        { message: rule.message, second: t.label(second), later: when(t2, t1), first: t.label(first), earlier: when(t1, t2) });
      out.push(said(at(t, p, second), second, text, rule.severity, rule.id));
    }
    return out;
  },
  not_future(t, rule, values, row, p, extra) {
    const latest = extra.now + (rule.tolerance_s ?? 0) * 1e6;
    const out = [];
    for (const f of t.fields.values()) {
      if (f.type !== "datetime") continue;
      for (const [place, record] of rowPlaces(t, f.id, values)) {
        const moment = instantOf(place ? lookup(f.id, values, record) : values[f.id]);
        if (moment?.dt && moment.aware && moment.key > latest) {
          const text = phrase(t, "{message}: {label} ({shown}) is later than now. Check the time.",
            { message: rule.message, label: t.label(f.id), shown: `${moment.date} ${moment.hm}` });
          out.push(said(place, f.id, text, rule.severity, rule.id));
        }
      }
    }
    return out;
  },
  require(t, rule, values, row, p) {
    if (rule.when && !holds(t, rule.when, values, row)) return [];
    if (holds(t, rule.then, values, row)) return [];
    const name = firstField(rule.then, t.src.filters || {});
    const text = name ? `${t.label(name)}: ${sentence(rule.message)}` : sentence(rule.message);
    return [said(name ? at(t, p, name) : p, name, text, rule.severity, rule.id)];
  },
  max_gap(t, rule, values, row, p) {
    const [start, end] = [firstInstant(t, rule.start, values, row), firstInstant(t, rule.end, values, row)];
    if (!start || !end) return [];
    const [[startName, t1], [endName, t2]] = [start, end];
    if (t1.dt && t2.dt && t1.aware !== t2.aware) return [];
    const gap = t1.dt && t2.dt ? (t2.key - t1.key) / 1e6 : (t2.day - t1.day) * 86400;
    if (gap <= rule.max_s) return [];
    const text = phrase(t, "{label}: {message} ({gap} after {start}). Check the dates.",
      { label: t.label(endName), message: rule.message, gap: duration(t, gap), start: t.label(startName) });
    return [said(at(t, p, endName), endName, text, rule.severity, rule.id)];
  },
  subset(t, rule, values, row, p) {
    const [value, pool] = [real(lookup(rule.field, values, row)), real(lookup(rule.of, values, row))];
    if (value === null || pool === null || (Array.isArray(pool) ? pool : [pool]).some((x) => pyEq(value, x))) return [];
    const text = phrase(t, "{label}: {message} (add it to {of}, or change it).", { label: t.label(rule.field), message: rule.message, of: t.label(rule.of) });
    return [said(at(t, p, rule.field), rule.field, text, rule.severity, rule.id)];
  },
  exclusive(t, rule, values) {
    const out = [];
    for (const item of rule.items) {
      for (const [place, record] of rowPlaces(t, item.field, values)) {
        const chosen = real(record[item.field]);
        if (!Array.isArray(chosen) || !chosen.some((c) => c === item.code) || chosen.length < 2) continue;
        const f = t.fields.get(item.field);
        const text = phrase(t, "{label}: {message}: remove '{code}' or the other choices.",
          { label: t.label(item.field), message: rule.message, code: t.code(f?.code_list, item.code) });
        out.push(said(place, item.field, text, rule.severity, rule.id));
      }
    }
    return out;
  },
  rows(t, rule, values, row, p, extra) {
    const g = t.groups.get(rule.group);
    const rows = extra.raw[g.id];
    const count = Array.isArray(rows) ? rows.length : 0;
    const words = { group: g.label, message: rule.message };
    let text;
    if (!groupApplies(t, g, values)) {
      if (count === 0) return [];
      text = phrase(t, "{group}: {message}. This record should have none: remove the {count} row(s) or correct the answers above.", { ...words, count });
    } else if (count < g.min_rows) text = phrase(t, "{group}: {message}. Add at least {n}.", { ...words, n: g.min_rows });
    else if (count > g.max_rows) text = phrase(t, "{group}: {message}. Keep at most {n}.", { ...words, n: g.max_rows });
    else return [];
    return [said(null, g.id, text, rule.severity, rule.id)];
  },
  unique(t, rule, values, row, p, extra) {
    if (!extra.duplicateLookup || !extra.duplicateLookup(values)) return [];
    const sources = new Map([...t.fields.values()].filter((f) => f.generalize).map((f) => [f.generalize.output, f.id]));
    const names = rule.fields.map((n) => sources.get(n) ?? n);
    const name = names.find((n) => t.fields.get(n)?.group === null) ?? null;
    const text = phrase(t, "{message}: another record has the same {same}. Check that this is not a duplicate.",
      { message: rule.message, same: names.map(t.label).join(", ") });
    return [said(null, name, text, rule.severity, rule.id)];
  },
};

// Compare as Python's == does on JSON values (True == 1, key order ignored).
function pyEq(a, b) {
  const num = (x) => (typeof x === "boolean" ? Number(x) : x);
  if (Array.isArray(a) || Array.isArray(b)) return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => pyEq(x, b[i]));
  if (isMap(a) || isMap(b)) {
    const keys = isMap(a) && isMap(b) ? Object.keys(a) : null;
    return !!keys && keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && pyEq(a[k], b[k]));
  }
  return num(a) === num(b) || (a == null && b == null);
}

// Return Python's repr() of a JSON value, for messages that quote what was stored.
function pyRepr(v) {
  if (v === null || v === undefined) return "None";
  if (typeof v === "boolean") return v ? "True" : "False";
  if (typeof v === "number") return String(v);
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(", ")}]`;
  if (isMap(v)) return `{${Object.entries(v).map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`).join(", ")}}`;
  const q = v.includes("'") && !v.includes('"') ? '"' : "'";
  const body = v.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll("\r", "\\r").replaceAll("\t", "\\t");
  return q + body.replaceAll(q, `\\${q}`) + q;
}
