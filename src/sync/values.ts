// Values of two engines as one text, so a row is the same on both sides when its data is: each engine's driver gives
// its own forms (PostgreSQL's text output, MySQL's strings, SQLite's numbers), and the same value may be spelled
// differently — `1.0` in one and `1.00` in the other, `t` and `1` for true, a timestamp with microseconds and one
// without, JSON with keys in another order. None of those is a change.

const DECIMAL = /^[+-]?\d+\.\d+$/;
const EXPONENT = /^[+-]?\d+(\.\d+)?[eE][+-]?\d+$/;
const TIMESTAMP = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(\.\d+)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/;
const BOOLEANS: Record<string, string> = { t: '1', f: '0', true: '1', false: '0' };

/** One value as the text both sides compare; null stays null. */
export function syncText(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return stringText(v);
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : stringText(String(v));
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString();
  if (v instanceof Uint8Array) return `\\x${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}`;
  return stableJson(v);
}

function stringText(s: string): string {
  if (DECIMAL.test(s)) return trimDecimal(s);
  if (EXPONENT.test(s)) return String(Number(s));
  const bool = BOOLEANS[s];
  if (bool !== undefined) return bool;
  const ts = TIMESTAMP.exec(s);
  if (ts) return timestampText(ts);
  const c = s.charCodeAt(0);
  if (c === 123 || c === 91) {
    // `{` or `[`: JSON text (MySQL's JSON, PostgreSQL's json/jsonb), compared by content.
    try {
      return stableJson(JSON.parse(s));
    } catch {
      return s;
    }
  }
  return s;
}

/** `1.500` → `1.5`, `2.0` → `2`, `-0.0` → `0`. */
function trimDecimal(s: string): string {
  const t = s.replace(/0+$/, '').replace(/\.$/, '').replace(/^\+/, '');
  return t === '-0' ? '0' : t;
}

/**
 * A timestamp at millisecond precision in UTC (one engine may keep microseconds, the other not); one without a zone
 * is read as UTC (both sides' sessions are in UTC).
 */
function timestampText(m: RegExpExecArray): string {
  const [, date, time, fraction = '', zone] = m;
  const ms = `${fraction.slice(1)}000`.slice(0, 3);
  const offset = zone === undefined || zone === 'Z' ? 'Z' : zone.length === 3 ? `${zone}:00` : zone.includes(':') ? zone : `${zone.slice(0, 3)}:${zone.slice(3)}`;
  const at = Date.parse(`${date}T${time}.${ms}${offset}`);
  return Number.isNaN(at) ? m[0] : new Date(at).toISOString();
}

/** JSON with object keys sorted, numbers as numbers: the same document however it was spelled. */
function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : stableJson(x))).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`).join(',')}}`;
  }
  return typeof v === 'bigint' ? v.toString() : JSON.stringify(v) ?? 'null';
}

/**
 * Whether two values are the same once made comparable — `syncText(u) === syncText(v)` — without spelling JSON
 * documents: two texts of JSON are parsed and compared as values (keys in any order), which is what their
 * sorted spellings would tell, at a fraction of the cost (a diff compares a JSON column on every row).
 */
export function sameValue(u: unknown, v: unknown): boolean {
  if (u === v) return true;
  if (typeof u === 'string' && typeof v === 'string' && isJsonStart(u) && isJsonStart(v)) {
    const x = parseJson(u);
    const y = parseJson(v);
    if (x !== FAILED && y !== FAILED) return sameJson(x, y);
  }
  return syncText(u) === syncText(v);
}

const FAILED = Symbol('not JSON');
const isJsonStart = (s: string) => s.charCodeAt(0) === 123 || s.charCodeAt(0) === 91;

function parseJson(s: string): unknown {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return FAILED;
  }
}

/** Parsed JSON values equal as stableJson spells them (-0 is 0, as JSON.stringify writes it). */
function sameJson(x: unknown, y: unknown): boolean {
  if (x === y) return true;
  if (x === null || y === null || typeof x !== 'object' || typeof y !== 'object') return false;
  if (Array.isArray(x) !== Array.isArray(y)) return false;
  if (Array.isArray(x)) {
    const w = y as unknown[];
    if (x.length !== w.length) return false;
    for (let i = 0; i < x.length; i++) if (!sameJson(x[i], w[i])) return false;
    return true;
  }
  const a = x as Record<string, unknown>;
  const b = y as Record<string, unknown>;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const k of keys) if (!Object.prototype.hasOwnProperty.call(b, k) || !sameJson(a[k], b[k])) return false;
  return true;
}

/**
 * Two keys in the order both engines were asked to sort them: the parts `numeric` marks (integer or decimal columns
 * on both sides) by value when they are whole numbers, the rest by UTF-8 bytes. By its column's type, not its
 * spelling: text keys '9' and '10' are in byte order ('10' first) on both engines, and '007' is not '7'. (Compared by
 * spelling, a walk of both sides took '9' for a key on one side only, then for one on the other.)
 */
export function compareKeys(a: readonly (string | null)[], b: readonly (string | null)[], numeric: readonly boolean[]): number {
  for (let i = 0; i < a.length; i++) {
    const c = compareKeyPart(a[i], b[i], numeric[i]);
    if (c !== 0) return c;
  }
  return 0;
}

const INTEGER = /^-?\d+$/;

function compareKeyPart(a: string | null, b: string | null, numeric: boolean): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  if (numeric && INTEGER.test(a) && INTEGER.test(b)) {
    // Up to 15 digits a double holds exactly; longer ones (64-bit ids) compare as bigints.
    if (a.length < 16 && b.length < 16) return Number(a) - Number(b);
    const x = BigInt(a);
    const y = BigInt(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * A 53-bit hash of a row's values (two 32-bit FNV-1a lanes; NULL and each value's end marked, so that (null, 'a') and
 * ('', 'a') or ('ab', '') and ('a', 'b') differ). It tells a row from its last agreed version: a change that kept the
 * hash would go unseen once in 2^53. (An md5 per row, with every value made comparable first, was most of a sync's time.)
 */
function hashValues(values: readonly unknown[], from: number, text: (v: unknown) => string | null): number {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ 0x5bd1e995;
  const mix = (s: string) => {
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995) ^ (h2 >>> 15);
    }
  };
  for (let i = from; i < values.length; i++) {
    const t = text(values[i]);
    mix(t === null ? '\u0000' : `${t}\u0001`);
  }
  return (h1 >>> 11) * 0x100000000 + (h2 >>> 0);
}

/**
 * The hash of a row's content (its values from index `from`), each value made comparable first (syncText): the same
 * whichever side it was read from.
 */
export const contentHash = (values: readonly unknown[], from = 0): number => hashValues(values, from, syncText);

const rawText = (v: unknown): string | null => {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) return `\\x${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}`;
  return `${typeof v}:${String(v)}`;
};

/** The hash of a row as one side's driver spelled it: cheap, and what tells that side's row has not changed. */
export const rawHash = (values: readonly unknown[], from = 0): number => hashValues(values, from, rawText);

const INTEGER_TYPE = /^(small|big|tiny|medium)?int(eger)?\b|^(small|big)?serial\b|^int[248]\b/;

export const isIntegerType = (type: string): boolean => INTEGER_TYPE.test(type);

/** Columns the engines order by value: integers and exact decimals (`numeric(10,0)` ids among them). */
export const isNumericType = (type: string): boolean => INTEGER_TYPE.test(type) || /^(numeric|decimal)\b/.test(type);

/** An integer column's value as text: already in one spelling, no pattern to test. */
export const integerText = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

/** A text key's part as itself (a driver's other forms of text as syncText spells them). */
export const exactText = (v: unknown): string | null => (v === null || v === undefined ? null : typeof v === 'string' ? v : syncText(v));
