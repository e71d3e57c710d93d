// Evaluate template conditions in the browser exactly as forms/conditions.py does.
// A condition is data ({field, op, value} | {all} | {any} | {not} | {use}); nothing is eval'd.

const LEAF_OPS = ["eq", "ne", "in", "not_in", "lt", "le", "gt", "ge", "is_true", "is_false", "is_set", "is_not_set"];
const VALUE_OPS = ["eq", "ne", "in", "not_in", "lt", "le", "gt", "ge"];
const ORDER_OPS = ["lt", "le", "gt", "ge"];
const MISSING = Symbol("missing");
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2})(?::(\d{2})(?::(\d{2})(?:[.,](\d{1,6}))?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/;

export class ConditionError extends Error {}

// Return whether the condition holds for an encounter's values (and a person row).
export function evaluate(cond, values, template = null, row = null) {
  return compileCondition(cond, template)(values, row);
}

// Return a predicate (values, row) => boolean for the condition.
export function compileCondition(cond, template = null) {
  const nvCodes = template ? new Set(notValueCodes(template.not_values)) : null;
  const compiler = new Compiler(template?.filters || {}, template?.parameters || {}, nvCodes, rowGroups(template));
  return compiler.compile(cond);
}

// Return {field id: group id} for fields of repeat-group rows (given, or from sections).
function rowGroups(template) {
  if (!template) return {};
  if (template.row_groups) return template.row_groups;
  const bySection = Object.fromEntries((template.sections || []).map((s) => [s.id, s.group]));
  return Object.fromEntries((template.fields || []).filter((f) => bySection[f.section]).map((f) => [f.id, bySection[f.section]]));
}

function notValueCodes(notValues) {
  if (Array.isArray(notValues)) return notValues.map((n) => n.code);
  return Object.keys(notValues || {});
}

const isMap = (x) => x !== null && typeof x === "object" && !Array.isArray(x);

export function hasReal(value) {
  return value !== MISSING && value !== null && value !== undefined && value !== "" &&
    !(Array.isArray(value) && value.length === 0);
}

// Split a stored value into [real value or MISSING, NOT value code, PN code].
export function decode(stored) {
  if (isMap(stored)) {
    const code = (c) => (typeof c === "string" ? c : null);
    const real = "value" in stored ? stored.value : MISSING;
    return [hasReal(real) ? real : MISSING, code(stored.nv), code(stored.pn)];
  }
  return [hasReal(stored) ? stored : MISSING, null, null];
}

const has = (obj, key) => Object.prototype.hasOwnProperty.call(obj, key);

function lookup(name, values, row) {
  if (row && has(row, name)) return row[name];
  return values && has(values, name) ? values[name] : undefined;
}

class Compiler {
  constructor(filters, params, nvCodes, rowGroups) {
    Object.assign(this, { filters, params, nvCodes, rowGroups, using: [], done: {} });
  }

  compile(cond) {
    if (!isMap(cond)) throw new ConditionError(`a condition must be a table, got ${JSON.stringify(cond)}`);
    if ("all" in cond) { const ps = asList(cond.all, "all").map((c) => this.compile(c)); return (v, r) => ps.every((p) => p(v, r)); }
    if ("any" in cond) { const ps = asList(cond.any, "any").map((c) => this.compile(c)); return (v, r) => ps.some((p) => p(v, r)); }
    if ("not" in cond) { const p = this.compile(cond.not); return (v, r) => !p(v, r); }
    if ("use" in cond) return this.use(String(cond.use));
    if ("field" in cond) return this.leaf(cond);
    throw new ConditionError(`a condition needs field, all, any, not or use, got ${Object.keys(cond).sort()}`);
  }

  use(name) {
    if (has(this.done, name)) return this.done[name];
    if (!has(this.filters, name)) throw new ConditionError(`unknown named filter '${name}'`);
    if (this.using.includes(name)) throw new ConditionError(`named filter '${name}' uses itself`);
    this.using.push(name);
    try { this.done[name] = this.compile(this.filters[name]); } finally { this.using.pop(); }
    return this.done[name];
  }

  resolve(value) {
    if (isMap(value) && Object.keys(value).length === 1 && has(value, "param")) {
      const name = String(value.param);
      if (!has(this.params, name)) throw new ConditionError(`unknown parameter '${name}'`);
      return this.params[name];
    }
    return Array.isArray(value) ? value.map((v) => this.resolve(v)) : value;
  }

  // A row field read at encounter level holds when it holds for some row.
  leaf(cond) {
    const leaf = this.plainLeaf(cond);
    const group = has(this.rowGroups, String(cond.field)) ? this.rowGroups[String(cond.field)] : null;
    if (group === null) return leaf;
    return (values, row) => {
      if (row) return leaf(values, row);
      const rows = values && has(values, group) ? values[group] : undefined;
      return Array.isArray(rows) && rows.some((r) => isMap(r) && leaf(values, r));
    };
  }

  plainLeaf(cond) {
    const name = String(cond.field);
    const op = cond.op;
    if (!LEAF_OPS.includes(op)) throw new ConditionError(`unknown op ${JSON.stringify(op)}`);
    if (VALUE_OPS.includes(op) && !("value" in cond)) throw new ConditionError(`op '${op}' needs a value`);
    const value = this.resolve(cond.value);
    if (ORDER_OPS.includes(op)) return ordered(name, op, value);
    if (op === "in" || op === "not_in") {
      if (!Array.isArray(value)) throw new ConditionError(`op '${op}' needs a list value`);
      const m = member(name, value, this.codes(value));
      return op === "in" ? m : (v, r) => !m(v, r);
    }
    if (op === "eq" || op === "ne") {
      const m = member(name, [value], this.codes([value]));
      return op === "eq" ? m : (v, r) => !m(v, r);
    }
    return UNARY[op](name);
  }

  codes(values) {
    const strings = values.filter((v) => typeof v === "string");
    return new Set(this.nvCodes ? strings.filter((s) => this.nvCodes.has(s)) : strings);
  }
}

function asList(items, key) {
  if (!Array.isArray(items)) throw new ConditionError(`'${key}' needs a list of conditions`);
  return items;
}

const isScalar = (t) => typeof t === "string" || typeof t === "number" || typeof t === "boolean";
const same = (a, b) => (typeof a === "boolean") === (typeof b === "boolean") && a === b;

function member(name, targets, codes) {
  const wanted = targets.filter(isScalar);
  return (values, row) => {
    const [real, nv, pn] = decode(lookup(name, values, row));
    if (codes.size && ((nv !== null && codes.has(nv)) || (pn !== null && codes.has(pn)))) return true;
    if (real === MISSING) return false;
    const items = Array.isArray(real) ? real : [real];
    return items.some((item) => wanted.some((t) => same(item, t)));
  };
}

function ordered(name, op, value) {
  const target = comparable(value);
  if (target === null) throw new ConditionError(`op '${op}' needs a number, date or datetime value`);
  return (values, row) => {
    const left = comparable(decode(lookup(name, values, row))[0]);
    return left !== null && compare(left, target, op);
  };
}

// Return {kind: "num"|"date"|"dt", ...} for a number, ISO date or ISO datetime, else null.
function comparable(value) {
  if (typeof value === "number") return { kind: "num", key: value };
  return typeof value === "string" ? parseInstant(value) : null;
}

export function parseInstant(text) {
  const m = ISO.exec(text);
  if (!m || (text.length === 10) !== (m[4] === undefined)) return null;
  const [y, mo, d, h = 0, mi = 0, s = 0] = m.slice(1, 7).map((x) => (x === undefined ? undefined : Number(x)));
  const day = new Date(Date.UTC(y, mo - 1, d));
  if (day.getUTCFullYear() !== y || day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d) return null;
  const date = m.slice(1, 4).join("-");
  if (m[4] === undefined) return { kind: "date", key: date, date };
  if (h > 23 || mi > 59 || s > 59) return null;
  const micro = Number((m[7] || "").padEnd(6, "0"));
  const wall = (Date.UTC(y, mo - 1, d, h, mi, s) * 1000) + micro;
  return { kind: "dt", aware: m[8] !== undefined, key: wall - offsetMicros(m[8]), date };
}

function offsetMicros(offset) {
  if (!offset || offset === "Z") return 0;
  const digits = offset.slice(1).replace(":", "");
  const minutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || 0);
  return (offset[0] === "-" ? -1 : 1) * minutes * 60e6;
}

function compare(left, right, op) {
  if ((left.kind === "num") !== (right.kind === "num")) return false;
  let [a, b] = [left.key, right.key];
  if ((left.kind === "dt") !== (right.kind === "dt")) [a, b] = [left.date, right.date];
  else if (left.kind === "dt" && left.aware !== right.aware) return false;
  return { lt: a < b, le: a <= b, gt: a > b, ge: a >= b }[op];
}

const UNARY = {
  is_true: (name) => (v, r) => decode(lookup(name, v, r))[0] === true,
  is_false: (name) => (v, r) => {
    const [real, , pn] = decode(lookup(name, v, r));
    return real === false || (real === MISSING && pn !== null);
  },
  is_set: (name) => (v, r) => decode(lookup(name, v, r))[0] !== MISSING,
  is_not_set: (name) => (v, r) => decode(lookup(name, v, r))[0] === MISSING,
};
