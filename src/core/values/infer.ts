// Type inference from data, with care: a value only gets a narrower type than text when every value seen fits it.
// `00501` stays text (a leading zero is an identifier, not a number); ints mixed with floats widen to double;
// ISO dates and timestamps are detected; anything ambiguous is text.
import { type ArrayElementType, type ColumnType, elementType } from '../types.js';
import { JsonNumber } from './json-number.js';

const INTEGER = /^-?(?:0|[1-9]\d*)$/;
const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const DATE = /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])$/;
export const TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s?(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;
const INT32_MAX = 2147483647;

/** The narrowest type of one value, or undefined for null (nulls say nothing about the type). */
export function typeOfValue(v: unknown): ColumnType | undefined {
  if (v === null || v === undefined) return undefined;
  switch (typeof v) {
    case 'string':
      return typeOfText(v);
    case 'number':
      if (!Number.isInteger(v)) return 'double';
      return Math.abs(v) <= INT32_MAX ? 'integer' : Number.isSafeInteger(v) ? 'bigint' : 'double';
    case 'bigint':
      return 'bigint';
    case 'boolean':
      return 'boolean';
    case 'object':
      if (v instanceof Date) return 'timestamp';
      // A JSON number past a double's precision: decimal keeps its digits.
      if (v instanceof JsonNumber) return 'decimal';
      if (v instanceof Uint8Array) return 'binary';
      return 'json';
    default:
      return 'text';
  }
}

function typeOfText(s: string): ColumnType {
  if (s.length === 0) return 'text';
  const c = s.charCodeAt(0);
  // Only strings starting like a number or a date can be one: skip the regexes for everything else.
  if ((c >= 48 && c <= 57) || c === 45) {
    if (INTEGER.test(s)) {
      if (s.length < 10 || Math.abs(Number(s)) <= INT32_MAX) return 'integer';
      return s.length <= 19 && BigInt(s) <= 9223372036854775807n && BigInt(s) >= -9223372036854775808n ? 'bigint' : 'decimal';
    }
    if (NUMBER.test(s)) return 'double';
    if (DATE.test(s)) return validDate(s) ? 'date' : 'text';
    if (TIMESTAMP.test(s)) return Number.isNaN(Date.parse(s.replace(' ', 'T'))) ? 'text' : 'timestamp';
    return 'text';
  }
  const lower = s.length <= 5 ? s.toLowerCase() : '';
  if (lower === 'true' || lower === 'false') return 'boolean';
  return 'text';
}

const validDate = (s: string): boolean => {
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(s);
};

const NUMERIC_RANK: Partial<Record<ColumnType, number>> = { integer: 1, bigint: 2, decimal: 3, double: 4 };

/** The narrowest type that holds values of both types (the schema only ever widens). */
export function widen(a: ColumnType | undefined, b: ColumnType | undefined): ColumnType {
  if (!a) return b ?? 'text';
  if (!b || a === b) return a;
  const ra = NUMERIC_RANK[a];
  const rb = NUMERIC_RANK[b];
  if (ra && rb) {
    // decimal mixed with double: decimal holds every double exactly (its shortest text), and every digit of the long
    // numbers that made the column decimal (integers past int64, JSON numbers past a double's precision).
    if ((a === 'decimal' && b === 'double') || (a === 'double' && b === 'decimal')) return 'decimal';
    return ra > rb ? a : b;
  }
  if ((a === 'date' && b === 'timestamp') || (a === 'timestamp' && b === 'date')) return 'timestamp';
  const ea = elementType(a);
  const eb = elementType(b);
  if (ea && eb) {
    // Arrays widen by their elements; elements only text holds make a text array.
    return `${widen(ea, eb) as ArrayElementType}[]`;
  }
  // JSON holds any array.
  if ((ea && b === 'json') || (eb && a === 'json')) return 'json';
  return 'text';
}

/** Whether values of type `from` can be stored in a column of type `to` without loss of meaning. */
export const fits = (from: ColumnType, to: ColumnType): boolean => from === to || widen(from, to) === to;
