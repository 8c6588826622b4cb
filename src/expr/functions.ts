// The function table of the expression language. A function receives its evaluated arguments; null in, null out
// unless the function is about nulls (coalesce, if, nullif). `if` and `coalesce` evaluate lazily (compile.ts).
import { ExprError } from './tokenize.js';
import { compareValues, equalValues, show, toNumber, toText } from './values.js';

export interface FunctionDef {
  min: number;
  max: number;
  fn: (args: unknown[]) => unknown;
  /** For the docs. */
  doc: string;
}

const text1 = (f: (s: string) => unknown) => (a: unknown[]) => {
  const s = toText(a[0]);
  return s === null ? null : f(s);
};
const num1 = (f: (n: number) => unknown) => (a: unknown[]) => {
  const n = toNumber(a[0]);
  return n === null ? null : f(n);
};

const UNITS = ['year', 'quarter', 'month', 'week', 'day', 'hour', 'minute', 'second'] as const;

function toDate(v: unknown): Date | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return v;
  if (typeof v === 'string' || typeof v === 'number') {
    const d = new Date(typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00Z` : v);
    if (!Number.isNaN(d.getTime())) return d;
  }
  throw new ExprError(`expected a date or timestamp, got ${show(v)}`);
}

/** Truncate a timestamp (UTC) to the start of its unit. */
function dateTrunc(unit: unknown, v: unknown): Date | null {
  const d = toDate(v);
  if (d === null) return null;
  const u = String(unit).toLowerCase();
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  switch (u) {
    case 'year': return new Date(Date.UTC(y, 0, 1));
    case 'quarter': return new Date(Date.UTC(y, m - (m % 3), 1));
    case 'month': return new Date(Date.UTC(y, m, 1));
    case 'week': {
      // ISO weeks start on Monday.
      const day = (d.getUTCDay() + 6) % 7;
      return new Date(Date.UTC(y, m, d.getUTCDate() - day));
    }
    case 'day': return new Date(Date.UTC(y, m, d.getUTCDate()));
    case 'hour': return new Date(Math.floor(d.getTime() / 3600000) * 3600000);
    case 'minute': return new Date(Math.floor(d.getTime() / 60000) * 60000);
    case 'second': return new Date(Math.floor(d.getTime() / 1000) * 1000);
    default: throw new ExprError(`date_trunc: unknown unit ${show(unit)} (one of ${UNITS.join(', ')})`);
  }
}

function round(a: unknown[]): number | null {
  const n = toNumber(a[0]);
  if (n === null) return null;
  const digits = a.length > 1 ? toNumber(a[1]) ?? 0 : 0;
  if (digits === 0) return Math.sign(n) * Math.round(Math.abs(n)) || 0;
  const f = 10 ** digits;
  const x = Math.abs(n) * f;
  // Round half away from zero on the decimal value people see (1.005 → 1.01), not on its binary approximation:
  // near a half, shift the decimal point in the text (exact) instead of multiplying (inexact).
  const near = Math.abs(x - Math.floor(x) - 0.5) < 1e-6;
  return (Math.sign(n) * Math.round(near ? Number(`${Math.abs(n)}e${digits}`) : x)) / f || 0;
}

const extreme = (sign: number) => (a: unknown[]) => {
  let best: unknown = null;
  for (const v of a) {
    if (v === null || v === undefined) continue;
    if (best === null) best = v;
    else {
      const c = compareValues(v, best);
      if (c === undefined) throw new ExprError(`cannot compare ${show(v)} with ${show(best)}`);
      if (c * sign > 0) best = v;
    }
  }
  return best;
};

export const FUNCTIONS: Record<string, FunctionDef> = {
  lower: { min: 1, max: 1, fn: text1((s) => s.toLowerCase()), doc: 'lower(text)' },
  upper: { min: 1, max: 1, fn: text1((s) => s.toUpperCase()), doc: 'upper(text)' },
  trim: { min: 1, max: 1, fn: text1((s) => s.trim()), doc: 'trim(text)' },
  ltrim: { min: 1, max: 1, fn: text1((s) => s.trimStart()), doc: 'ltrim(text)' },
  rtrim: { min: 1, max: 1, fn: text1((s) => s.trimEnd()), doc: 'rtrim(text)' },
  length: { min: 1, max: 1, fn: text1((s) => [...s].length), doc: 'length(text): characters' },
  substr: {
    min: 2, max: 3, doc: 'substr(text, start[, length]): 1-based',
    fn: (a) => {
      const s = toText(a[0]);
      const start = toNumber(a[1]);
      if (s === null || start === null) return null;
      const chars = [...s];
      const len = a.length > 2 ? toNumber(a[2]) : chars.length;
      return len === null ? null : chars.slice(Math.max(start - 1, 0), Math.max(start - 1, 0) + Math.max(len, 0)).join('');
    },
  },
  replace: {
    min: 3, max: 3, doc: 'replace(text, search, replacement): every occurrence, literal text',
    fn: (a) => {
      const [s, from, to] = a.map(toText);
      return s === null || from === null ? null : from === '' ? s : s.split(from).join(to ?? '');
    },
  },
  concat: { min: 1, max: 64, fn: (a) => a.map((v) => toText(v) ?? '').join(''), doc: 'concat(a, b, …): nulls count as empty text' },
  nullif: { min: 2, max: 2, fn: (a) => (a[0] !== null && a[0] !== undefined && equalValues(a[0], a[1]) ? null : a[0] ?? null), doc: 'nullif(a, b): null when a = b' },
  round: { min: 1, max: 2, fn: round, doc: 'round(number[, digits])' },
  floor: { min: 1, max: 1, fn: num1(Math.floor), doc: 'floor(number)' },
  ceil: { min: 1, max: 1, fn: num1(Math.ceil), doc: 'ceil(number)' },
  abs: { min: 1, max: 1, fn: num1(Math.abs), doc: 'abs(number)' },
  to_number: { min: 1, max: 1, fn: (a) => toNumber(a[0]), doc: 'to_number(value): error when not numeric' },
  to_text: { min: 1, max: 1, fn: (a) => toText(a[0]), doc: 'to_text(value)' },
  greatest: { min: 1, max: 64, fn: extreme(1), doc: 'greatest(a, b, …): ignoring nulls' },
  least: { min: 1, max: 64, fn: extreme(-1), doc: 'least(a, b, …): ignoring nulls' },
  now: { min: 0, max: 0, fn: () => new Date(), doc: 'now(): the current timestamp' },
  date_trunc: { min: 2, max: 2, fn: (a) => dateTrunc(a[0], a[1]), doc: `date_trunc(unit, timestamp): unit one of ${UNITS.join(', ')} (UTC)` },
  year: { min: 1, max: 1, fn: (a) => toDate(a[0])?.getUTCFullYear() ?? null, doc: 'year(timestamp)' },
  month: { min: 1, max: 1, fn: (a) => { const d = toDate(a[0]); return d ? d.getUTCMonth() + 1 : null; }, doc: 'month(timestamp): 1–12' },
  day: { min: 1, max: 1, fn: (a) => toDate(a[0])?.getUTCDate() ?? null, doc: 'day(timestamp): day of month' },
};

/** Names handled by the compiler itself (lazy arguments). */
export const SPECIAL_FUNCTIONS: Record<string, { min: number; max: number; doc: string }> = {
  if: { min: 3, max: 3, doc: 'if(condition, then, else): only the chosen branch is evaluated' },
  coalesce: { min: 1, max: 64, doc: 'coalesce(a, b, …): the first non-null value' },
  run_id: { min: 0, max: 0, doc: 'run_id(): the id of the run (the `run_id` of `sluice runs`), the same on every row of it: tags rows with the load that brought them' },
};
