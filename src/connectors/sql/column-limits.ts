// The limits of an existing column that Sluice did not make (or made narrower by declaration): a numeric(10,2), a
// varchar(20), a smallint, a MySQL utf8mb3 text. A value past them would be rounded, cut or refused by the server in
// the middle of a load; the load names them per column (StreamLoad.refuses) and the engine dead-letters such a row
// before the load, with the reason, while the rest loads.
import { abbreviate } from '../../core/record.js';
import { plainDecimal } from '../../core/values/json-number.js';
import { decimalMisfit } from '../../core/values/decimal-text.js';
import type { Refusal } from '../../core/values/refusals.js';

export interface ColumnLimit {
  /** DECIMAL(precision, scale). */
  decimal?: { precision: number; scale: number };
  /** At most this many characters. */
  maxChars?: number;
  /** An integer type's range. */
  range?: readonly [bigint, bigint];
  /** A character set without 4-byte UTF-8 (MySQL's utf8mb3): no character beyond U+FFFF. */
  bmpOnly?: boolean;
  /** An array column: the limits hold for each element. */
  elements?: boolean;
}

/**
 * A declared `decimal(p,s)` that an existing DECIMAL(p0,s0) column (`numeric(10,2)`, `decimal(10,2)`, `DECIMAL(10,2)`)
 * cannot hold all of — more digits before or after the point, as when a declaration grew since the table was made:
 * the precision and scale holding both, to alter the column to. Undefined when the column holds it, when it is no
 * DECIMAL column or no declared decimal, or when both need more than `maxPrecision` (then the narrower column's limit
 * refuses the values that do not fit). Columns only widen: a narrower declaration leaves the column as it is.
 */
export function widerDecimal(
  existing: string, wanted: { type: string; precision?: number; scale?: number }, maxPrecision: number,
): { precision: number; scale: number } | undefined {
  if (wanted.type !== 'decimal' || wanted.precision === undefined) return undefined;
  const m = /^(?:numeric|decimal)\((\d+),\s*(\d+)\)/i.exec(existing);
  if (!m) return undefined;
  const [p0, s0] = [Number(m[1]), Number(m[2])];
  const s1 = wanted.scale ?? 0;
  const scale = Math.max(s0, s1);
  const precision = Math.max(p0 - s0, wanted.precision - s1) + scale;
  return precision > p0 || scale > s0 ? (precision <= maxPrecision ? { precision, scale } : undefined) : undefined;
}

export const INT_RANGES = {
  tinyint: [-128n, 127n], utinyint: [0n, 255n], smallint: [-32768n, 32767n], usmallint: [0n, 65535n],
  mediumint: [-8388608n, 8388607n], umediumint: [0n, 16777215n], int: [-2147483648n, 2147483647n], uint: [0n, 4294967295n],
  bigint: [-9223372036854775808n, 9223372036854775807n], ubigint: [0n, 18446744073709551615n],
} as const;

/** The text of a numeric value as canonical forms carry it (number, bigint, decimal text), or undefined. */
function numericText(v: unknown): string | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? plainDecimal(String(v)) : undefined;
  if (typeof v === 'bigint') return v.toString();
  return typeof v === 'string' && /^[+-]?(\d+\.?\d*|\.\d+)$/.test(v) ? v : undefined;
}

/**
 * Whether plain decimal text (`[+-]digits[.digits]`) fits DECIMAL(precision, scale) exactly, read by character codes:
 * the check runs for every value of such a column, and most fit. False also for text it does not read (an exponent,
 * no digits), which the general check (numericText, decimalMisfit) then judges and names.
 */
function fitsDecimal(s: string, precision: number, scale: number): boolean {
  const n = s.length;
  let i = s.charCodeAt(0) === 45 /* - */ || s.charCodeAt(0) === 43 /* + */ ? 1 : 0;
  while (i < n && s.charCodeAt(i) === 48 /* 0 */) i++;
  let whole = 0;
  let c = s.charCodeAt(i);
  for (; i < n && c >= 48 && c <= 57; c = s.charCodeAt(++i)) whole++;
  let fraction = 0;
  if (i < n) {
    if (c !== 46 /* . */) return false;
    let last = i;
    for (let j = i + 1; j < n; j++) {
      const d = s.charCodeAt(j);
      if (d < 48 || d > 57) return false;
      if (d !== 48) last = j;
    }
    fraction = last - i;
  }
  // Digits at all: `-`, `.` and `` are for the general check to refuse or let pass.
  return n > 0 && (whole > 0 || fraction > 0 || s.includes('0')) && fraction <= scale && whole <= precision - scale;
}

const shown = (v: unknown): string => abbreviate(typeof v === 'string' ? v : String(v), 40);

const BEYOND_BMP = /[\u{10000}-\u{10FFFF}]/u;

/** The check of a column with `limit`; `where` names it in reasons (`PostgreSQL column "price" (numeric(10,2))`). */
export function limitRefusal(where: string, limit: ColumnLimit): Refusal | undefined {
  const checks: Refusal[] = [];
  const { decimal, maxChars, range, bmpOnly } = limit;
  if (decimal) {
    checks.push((v) => {
      if (typeof v === 'string' && fitsDecimal(v, decimal.precision, decimal.scale)) return undefined;
      const text = numericText(v);
      const why = text === undefined ? undefined : decimalMisfit(text, decimal.precision, decimal.scale);
      return why && `${where} cannot hold ${shown(v)} exactly (${why}); declare the column \`text\`, or a \`decimal(p,s)\` that holds it`;
    });
  }
  if (range) {
    const [low, high] = [Number(range[0]), Number(range[1])];
    checks.push((v) => {
      if (typeof v === 'number' && Number.isSafeInteger(v) && v >= low && v <= high) return undefined;
      const text = numericText(v);
      if (text === undefined || !/^[+-]?\d+(\.0*)?$/.test(text)) return undefined;
      const n = BigInt(text.replace(/\.0*$/, '').replace(/^\+/, ''));
      return n < range[0] || n > range[1] ? `${where} holds ${range[0]} to ${range[1]}, not ${shown(v)}` : undefined;
    });
  }
  if (maxChars !== undefined) {
    checks.push((v) => {
      if (typeof v !== 'string' || v.length <= maxChars) return undefined;
      // Characters, not UTF-16 units: a string of emoji is twice as long in JS as in the database.
      const chars = [...v].length;
      return chars > maxChars ? `${where} holds ${maxChars} characters, not ${chars} (it would be cut or refused)` : undefined;
    });
  }
  if (bmpOnly) {
    checks.push((v) => {
      const found = typeof v === 'string' ? BEYOND_BMP.exec(v) : null;
      return found ? `${where} is utf8mb3 and cannot hold ${found[0]} (U+${found[0].codePointAt(0)!.toString(16).toUpperCase()}), a 4-byte character; convert the column to utf8mb4` : undefined;
    });
  }
  if (checks.length === 0) return undefined;
  const one: Refusal = checks.length === 1 ? checks[0] : (v) => {
    for (const c of checks) {
      const why = c(v);
      if (why !== undefined) return why;
    }
    return undefined;
  };
  if (!limit.elements) return one;
  return (v) => (Array.isArray(v) ? v.map((e) => (e === null ? undefined : one(e))).find((why) => why !== undefined) : undefined);
}

/** One refusal per column name from several tables' (staging and target): the first reason any of them gives. */
export function columnLimits(tables: { name: string; refuse: Refusal | undefined }[][]): Map<string, Refusal | undefined> {
  const out = new Map<string, Refusal | undefined>();
  for (const table of tables) {
    for (const { name, refuse } of table) {
      if (!refuse) continue;
      const before = out.get(name);
      out.set(name, before ? (v) => before(v) ?? refuse(v) : refuse);
    }
  }
  return out;
}
