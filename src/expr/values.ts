// How the expression language treats the values rows carry. Values arrive as the source read them — a CSV gives
// strings — so numbers written as text take part in arithmetic and comparisons as numbers; anything else that is
// not a number is a row error (the row goes to the dead-letter queue with the reason), never a silent NaN.
import { jsonText } from '../core/values/array-text.js';
import { JsonNumber } from '../core/values/json-number.js';
import { ExprError } from './tokenize.js';

const NUMERIC = /^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

export const isNumericText = (v: string): boolean => NUMERIC.test(v);

export const show = (v: unknown): string => {
  if (typeof v === 'string') return `'${v.length > 40 ? `${v.slice(0, 37)}...` : v}'`;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object' && v !== null) return 'an object';
  return String(v);
};

/**
 * Numeric text → number without a regex in the common case: text that starts like a decimal number and ends in a
 * digit, where Number() agrees. Anything else (spaces, `0x1f`, `Infinity`) is left to the regex.
 */
export function fastNumber(s: string): number | undefined {
  const v = plainNumber(s);
  if (v !== undefined) return v;
  return NUMERIC.test(s) ? Number(s) : undefined;
}

/** Powers of ten a double holds exactly. */
const EXACT_TENS = Array.from({ length: 23 }, (_, k) => 10 ** k);

/** The number of text written plainly (`-12.5`, `3e4`: no spaces, no `0x`), undefined for anything else. */
export function plainNumber(s: string): number | undefined {
  const n = s.length;
  if (n === 0) return undefined;
  const c0 = s.charCodeAt(0);
  const cl = s.charCodeAt(n - 1);
  if (((c0 >= 48 && c0 <= 57) || c0 === 45 || c0 === 43 || c0 === 46) && cl >= 48 && cl <= 57) {
    // Up to 15 digits and a point (`-123.45`, most decimal columns): the digits as an integer, exact below 2^53,
    // divided by an exact power of ten is the correctly rounded value (Clinger's fast path), which is what Number()
    // gives, at a fraction of its cost for text with a fraction.
    if (n <= 16) {
      let i = c0 === 45 || c0 === 43 ? 1 : 0;
      let digits = 0;
      let point = -1;
      let m = 0;
      for (; i < n; i++) {
        const d = s.charCodeAt(i) - 48;
        if (d >= 0 && d <= 9) {
          m = m * 10 + d;
          digits++;
        } else if (d === -2 /* . */ && point < 0) {
          point = i;
        } else {
          break;
        }
      }
      if (i === n && digits <= 15) {
        const v = point < 0 ? m : m / EXACT_TENS[n - 1 - point];
        return c0 === 45 ? -v : v;
      }
    }
    const c1 = n > 1 ? s.charCodeAt(1) | 32 : 0;
    if (c1 !== 120 /* x */ && c1 !== 98 /* b */ && c1 !== 111 /* o */) {
      const v = +s;
      if (v === v) return v;
    }
  }
  return undefined;
}

/** A value as a number for arithmetic; null stays null. */
export function toNumber(v: unknown, what = 'a number'): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const n = fastNumber(v);
    if (n !== undefined) return n;
  }
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof JsonNumber) return Number(v.text);
  if (typeof v === 'boolean') return v ? 1 : 0;
  throw new ExprError(`expected ${what}, got ${show(v)}`);
}

/** A value as text (concatenation, string functions). */
export function toText(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (v instanceof Date) return v.toISOString();
  if (v instanceof JsonNumber) return v.text;
  if (typeof v === 'object') return jsonText(v);
  return String(v);
}

const asTime = (v: unknown): number | undefined => {
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}/.test(v)) {
    const t = Date.parse(v);
    return Number.isNaN(t) ? undefined : t;
  }
  return undefined;
};

/**
 * Order two non-null values: numbers (and numeric text) numerically, dates by time, text by code point.
 * Returns undefined when the values cannot be compared (a number against non-numeric text).
 */
export function compareValues(a: unknown, b: unknown): number | undefined {
  const ta = typeof a;
  const tb = typeof b;
  if (ta === 'number' && tb === 'number') return (a as number) - (b as number);
  // Text against a number (a CSV cell against a literal): the hot case of filters.
  if (ta === 'string' && tb === 'number') {
    const x = fastNumber(a as string);
    return x === undefined ? undefined : x - (b as number);
  }
  if (ta === 'number' && tb === 'string') {
    const y = fastNumber(b as string);
    return y === undefined ? undefined : (a as number) - y;
  }
  if (ta === 'string' && tb === 'string') {
    const x = fastNumber(a as string);
    const y = x === undefined ? undefined : fastNumber(b as string);
    if (x !== undefined && y !== undefined) return x - y;
    return (a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0;
  }
  if (a instanceof Date || b instanceof Date) {
    const x = asTime(a);
    const y = asTime(b);
    return x === undefined || y === undefined ? undefined : x - y;
  }
  if (typeof a === 'boolean' || typeof b === 'boolean') return a === b ? 0 : typeof a === typeof b ? (a ? 1 : -1) : undefined;
  if (isNumeric(a) && isNumeric(b)) {
    if (typeof a === 'bigint' && typeof b === 'bigint') return a < b ? -1 : a > b ? 1 : 0;
    return Number(a) - Number(b);
  }
  return undefined;
}

const isNumeric = (v: unknown): boolean =>
  typeof v === 'number' || typeof v === 'bigint' || v instanceof JsonNumber || (typeof v === 'string' && NUMERIC.test(v));

/** Equality in the same terms: `'10' = 10` holds, `'abc' = 10` is false (not an error). */
export function equalValues(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  const c = compareValues(a, b);
  return c === 0;
}

/** Three-valued logic: true, false or null (unknown). */
export function toBool(v: unknown): boolean | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'boolean') return v;
  throw new ExprError(`expected true or false, got ${show(v)}`);
}
