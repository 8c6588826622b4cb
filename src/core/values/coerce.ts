// Coercion of raw values to the canonical JS form of a logical type, the form every destination receives:
// text→string, integer→number, bigint→number within ±(2^53−1) and bigint beyond (one form per value, so equal values
// stay equal; a number costs no allocation), decimal→string, double→number, boolean→boolean,
// date→"YYYY-MM-DD", timestamp→ISO-8601 UTC "YYYY-MM-DDTHH:MM:SS.ffffffZ" (always six fraction digits), json→JSON text, binary→Uint8Array,
// uuid→lowercase string, an array type→a JS array of its element type's canonical values and nulls, NULL→null.
// A value that does not fit returns FAIL; the caller applies the schema policy.
import { type ArrayElementType, type ColumnType, elementType, type ScalarType } from '../types.js';
import { jsonText, parseArrayText } from './array-text.js';
import { TIMESTAMP } from './infer.js';
import { isJsonText } from './json-check.js';
import { JsonNumber, plainDecimal } from './json-number.js';
import { fastDate, fastTimestamp, fastUtc } from './timestamp-text.js';

export { twoDigits } from './timestamp-text.js';

export const FAIL: unique symbol = Symbol('coerce-fail');
export type Coerced = unknown | typeof FAIL;
export type Coercer = (v: unknown) => Coerced;

const INT = /^[+-]?\d+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TRUE = new Set(['true', 't', 'yes', 'y', '1']);
const FALSE = new Set(['false', 'f', 'no', 'n', '0']);

const text: Coercer = (v) => {
  if (typeof v === 'string') return v;
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (v instanceof JsonNumber) return v.text;
  if (typeof v === 'object') return jsonText(v);
  return String(v);
};

const integer: Coercer = (v) => {
  if (typeof v === 'number') return Number.isInteger(v) && Math.abs(v) <= 2147483647 ? v : FAIL;
  if (typeof v === 'string' && INT.test(v)) {
    const n = Number(v);
    return Math.abs(n) <= 2147483647 ? n : FAIL;
  }
  if (typeof v === 'bigint') return v <= 2147483647n && v >= -2147483648n ? Number(v) : FAIL;
  if (v instanceof JsonNumber) return v.decimal === undefined ? FAIL : integer(v.decimal);
  return FAIL;
};

const BIGINT_MAX = 9223372036854775807n;
const BIGINT_MIN = -9223372036854775808n;

const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);

/** A JS bigint as the canonical form holds it: a number while it is a safe integer (drivers hand over bigints). */
export const narrowBigint = (n: bigint): number | bigint => (n <= SAFE_MAX && n >= -SAFE_MAX ? Number(n) : n);

/** A bigint in range, in its canonical form. */
const fromBigint = (n: bigint): Coerced => (n <= BIGINT_MAX && n >= BIGINT_MIN ? narrowBigint(n) : FAIL);

/**
 * Text of at most 15 characters as an integer, read digit by digit (half the time of Number(), which also has to
 * consider fractions and exponents); FAIL for anything but an optional sign and digits. 15 digits always fit.
 */
function shortInteger(s: string): Coerced {
  const n = s.length;
  let i = 0;
  const sign = s.charCodeAt(0);
  if (sign === 45 /* - */ || sign === 43 /* + */) i = 1;
  if (i === n) return FAIL;
  let value = 0;
  for (; i < n; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return FAIL;
    value = value * 10 + d;
  }
  return sign === 45 ? -value : value;
}

const bigint: Coercer = (v) => {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? v : FAIL;
  if (typeof v === 'string') {
    if (v.length <= 15) return shortInteger(v);
    return INT.test(v) ? fromBigint(BigInt(v)) : FAIL;
  }
  if (typeof v === 'bigint') return fromBigint(v);
  if (v instanceof JsonNumber) return v.decimal === undefined ? FAIL : bigint(v.decimal);
  return FAIL;
};

const NINE_ZEROS = '000000000';

/**
 * The decimal text of a canonical bigint. String() of a number past 2^31 takes the general double-to-text path,
 * four times slower than this: two small-integer halves, joined.
 */
export function bigintText(v: number | bigint): string {
  if (typeof v === 'bigint' || (v <= 2147483647 && v >= -2147483648)) return String(v);
  const abs = v < 0 ? -v : v;
  const high = Math.floor(abs / 1e9);
  const low = String(abs - high * 1e9);
  return `${v < 0 ? '-' : ''}${high}${NINE_ZEROS.slice(low.length)}${low}`;
}

/** `[+-]digits[.digits]` with a digit on at least one side of the point; a loop costs a third of a regex's test. */
function isDecimalText(s: string): boolean {
  const n = s.length;
  let i = 0;
  const sign = s.charCodeAt(0);
  if (sign === 43 /* + */ || sign === 45 /* - */) i = 1;
  let digits = 0;
  let point = false;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
    else if (c === 46 /* . */ && !point) point = true;
    else return false;
  }
  return digits > 0;
}

const EXPONENT_NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)[eE][+-]?\d+$/;

const decimal: Coercer = (v) => {
  if (typeof v === 'string') return isDecimalText(v) ? v : EXPONENT_NUMBER.test(v) ? plainDecimal(v.replace(/^\+/, '')) ?? FAIL : FAIL;
  // A double's shortest text is the decimal it stands for (1e21 and 1e-7 written out in full).
  if (typeof v === 'number') return Number.isFinite(v) ? plainDecimal(String(v)) ?? FAIL : FAIL;
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof JsonNumber) return v.decimal ?? FAIL;
  return FAIL;
};

/** The spellings of the non-finite doubles a file or an API may send (`Number()` reads only `Infinity`). */
const NON_FINITE = new Map<string, number>([
  ['nan', NaN], ['+nan', NaN], ['-nan', NaN], ['inf', Infinity], ['+inf', Infinity], ['-inf', -Infinity],
  ['infinity', Infinity], ['+infinity', Infinity], ['-infinity', -Infinity],
]);

const double: Coercer = (v) => {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    if (v.trim() === '') return FAIL;
    const n = Number(v);
    return Number.isNaN(n) ? NON_FINITE.get(v.trim().toLowerCase()) ?? FAIL : n;
  }
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof JsonNumber) return Number(v.text);
  return FAIL;
};

const boolean: Coercer = (v) => {
  if (typeof v === 'boolean') return v;
  // The spellings most files use, without trimming and lower-casing a copy.
  if (v === 'true') return true;
  if (v === 'false') return false;
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    return TRUE.has(s) ? true : FALSE.has(s) ? false : FAIL;
  }
  if (typeof v === 'number') return v === 1 ? true : v === 0 ? false : FAIL;
  return FAIL;
};

const date: Coercer = (v) => (typeof v === 'string' ? fastDate(v) ?? generalDate(v) : generalDate(v));

/** The date coercer without its fast path: the reference it is tested against. */
export const generalDate: Coercer = (v) => {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? FAIL : v.toISOString().slice(0, 10);
  if (typeof v !== 'string') return FAIL;
  const m = DATE.exec(v);
  if (!m) return FAIL;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  return d.getUTCMonth() === +m[2] - 1 && d.getUTCDate() === +m[3] ? v : FAIL;
};

/**
 * ISO timestamp → UTC with the fraction kept to microseconds (Date would cut it to milliseconds). The common forms
 * take the fast paths of timestamp-text.ts; this one is their reference, and decides what they leave.
 */
export function normalizeTimestamp(s: string): string | typeof FAIL {
  return fastUtc(s) ?? fastTimestamp(s) ?? generalTimestamp(s);
}

/** normalizeTimestamp without its fast paths: the reference they are tested against. */
export function generalTimestamp(s: string): string | typeof FAIL {
  const m = TIMESTAMP.exec(s);
  if (!m) return DATE.test(s) && generalDate(s) !== FAIL ? `${s}T00:00:00.000000Z` : FAIL;
  const [, y, mo, d, h, mi, sec = '0', frac = '', zone] = m;
  let ms = Date.UTC(+y, +mo - 1, +d, +h, +mi, +sec);
  const check = new Date(ms);
  if (check.getUTCMonth() !== +mo - 1 || check.getUTCDate() !== +d || +h > 23 || +mi > 59 || +sec > 59) return FAIL;
  if (zone && zone !== 'Z' && zone !== 'z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    ms -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || 0)) * 60000;
  }
  const base = new Date(ms).toISOString().slice(0, 19);
  // Always six fraction digits, so canonical timestamps compare correctly as strings.
  return `${base}.${frac.slice(0, 6).padEnd(6, '0')}Z`;
}

const timestamp: Coercer = (v) => {
  if (typeof v === 'string') return normalizeTimestamp(v);
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? FAIL : v.toISOString().replace('Z', '000Z');
  return FAIL;
};

const json: Coercer = (v) => {
  if (typeof v === 'string') {
    // Text that is JSON stays as written; other text becomes a JSON string.
    let i = 0;
    let c = v.charCodeAt(0);
    while (c === 32 || (c >= 9 && c <= 13) || (c > 127 && /\s/.test(v[i]))) c = v.charCodeAt(++i);
    if (c === 123 /* { */ || c === 91 /* [ */) return isJsonText(v) ? v : FAIL;
    return JSON.stringify(v);
  }
  if (typeof v === 'bigint') return v.toString();
  return jsonText(v);
};

const binary: Coercer = (v) => {
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string') return v.startsWith('\\x') ? Buffer.from(v.slice(2), 'hex') : Buffer.from(v, 'base64');
  return FAIL;
};

const uuid: Coercer = (v) => (typeof v === 'string' && UUID.test(v) ? v.toLowerCase() : FAIL);

const SCALAR_COERCERS: Record<ScalarType, Coercer> = {
  text, integer, bigint, decimal, double, boolean, date, timestamp, json, binary, uuid,
};

/** An array: a JS array, JSON array text or a PostgreSQL literal, each element coerced (null stays null). */
function arrayCoercer(element: ArrayElementType): Coercer {
  const coerce = SCALAR_COERCERS[element];
  return (v) => {
    const items = Array.isArray(v) ? (v as unknown[]) : typeof v === 'string' ? parseArrayText(v) : undefined;
    if (items === undefined) return FAIL;
    const out: unknown[] = new Array(items.length);
    for (let i = 0; i < items.length; i++) {
      const x = items[i];
      if (x === null || x === undefined) {
        out[i] = null;
        continue;
      }
      const y = coerce(x);
      if (y === FAIL) return FAIL;
      out[i] = y;
    }
    return out;
  };
}

const ARRAY_COERCERS = new Map<ColumnType, Coercer>();

/** The coercer of a type for a value that is neither null nor undefined (the engine's hot loop checks those). */
export function valueCoercer(type: ColumnType): Coercer {
  const element = elementType(type);
  if (element === undefined) return SCALAR_COERCERS[type as ScalarType];
  let c = ARRAY_COERCERS.get(type);
  if (!c) ARRAY_COERCERS.set(type, (c = arrayCoercer(element)));
  return c;
}

/**
 * Whether a value has the JS type (and, where it costs nothing, the shape) of a type's canonical form (see the
 * header): a check, not a coercion, for values a source vouches for. A timestamp must have its six fraction digits
 * and a date its ten characters, since state compares cursor values as text.
 */
const endsInDigit = (s: string): boolean => {
  const c = s.charCodeAt(s.length - 1);
  return c >= 48 && c <= 57;
};

const CANONICAL_SCALAR: Record<ScalarType, (v: unknown) => boolean> = {
  text: (v) => typeof v === 'string',
  integer: (v) => typeof v === 'number' && Number.isInteger(v) && Math.abs(v) <= 2147483647,
  bigint: (v) => (typeof v === 'number' ? Number.isSafeInteger(v) : typeof v === 'bigint' && (v > SAFE_MAX || v < -SAFE_MAX) && v <= BIGINT_MAX && v >= BIGINT_MIN),
  // Ends in a digit: not NaN or Infinity, which a numeric column may hold and a decimal may not.
  decimal: (v) => typeof v === 'string' && endsInDigit(v),
  double: (v) => typeof v === 'number',
  boolean: (v) => typeof v === 'boolean',
  date: (v) => typeof v === 'string' && v.length === 10,
  timestamp: (v) => typeof v === 'string' && v.length === 27 && v.charCodeAt(26) === 90 /* Z */ && v.charCodeAt(19) === 46 /* . */,
  // An object or array as its JSON text; any other string would be a JSON string still to be quoted.
  json: (v) => typeof v === 'string' && (v.charCodeAt(0) === 123 /* { */ || v.charCodeAt(0) === 91 /* [ */),
  binary: (v) => v instanceof Uint8Array,
  uuid: (v) => typeof v === 'string' && v === v.toLowerCase(),
};

export function isCanonical(type: ColumnType): (v: unknown) => boolean {
  const element = elementType(type);
  if (element === undefined) return CANONICAL_SCALAR[type as ScalarType];
  const check = CANONICAL_SCALAR[element];
  return (v) => Array.isArray(v) && v.every((x) => x === null || check(x));
}

/** The coercer of a type; null and undefined always pass through as null. */
export function coercerFor(type: ColumnType): Coercer {
  const c = valueCoercer(type);
  return (v) => (v === null || v === undefined ? null : c(v));
}

const integral = (v: unknown): boolean =>
  typeof v === 'bigint' || (typeof v === 'number' ? Number.isInteger(v) : typeof v === 'string' && INT.test(v));

/**
 * Compare two canonical cursor values (numbers, bigints, ISO strings), or one with a cursor as state keeps it: a
 * bigint column's cursor is kept as text (states written before bigints became numbers when safe hold it so too).
 */
export function compareCursor(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if ((typeof a === 'bigint' || typeof b === 'bigint' || typeof a === 'number' || typeof b === 'number') && integral(a) && integral(b)) {
    const x = BigInt(a as bigint);
    const y = BigInt(b as bigint);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** A plain decimal's sign, integer digits without leading zeros and fraction digits without trailing zeros. */
const PLAIN_DECIMAL = /^([+-]?)0*(\d*)(?:\.(\d*?)0*)?$/;

/**
 * Two decimals compared exactly, as text: digit count of the integer part first, then the digits. As strings,
 * "10.5" sorts before "9.9"; as doubles, digits past the 17th are lost.
 */
function compareDecimal(a: unknown, b: unknown): number {
  const x = PLAIN_DECIMAL.exec(String(a));
  const y = PLAIN_DECIMAL.exec(String(b));
  if (!x || !y) return Number(a) - Number(b) || compareCursor(a, b);
  const sign = (m: RegExpExecArray): number => (m[2] === '' && (m[3] ?? '') === '' ? 0 : m[1] === '-' ? -1 : 1);
  const sx = sign(x);
  const sy = sign(y);
  if (sx !== sy) return sx - sy;
  let c = x[2].length - y[2].length || (x[2] < y[2] ? -1 : x[2] > y[2] ? 1 : 0);
  if (c === 0) {
    const fx = x[3] ?? '';
    const fy = y[3] ?? '';
    c = fx < fy ? -1 : fx > fy ? 1 : 0;
  }
  return sx * c;
}

/** The order of a cursor column's values: a decimal's is numeric (its canonical form is text), the rest compareCursor's. */
export const cursorOrder = (type: ColumnType | undefined): ((a: unknown, b: unknown) => number) =>
  (type === 'decimal' ? compareDecimal : compareCursor);
