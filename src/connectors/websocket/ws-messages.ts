// What a WebSocket source does with message text: find the records in a message, decide whether a message is for
// this stream at all, read and order offsets, and render the subscribe/ping templates with the resume offset.
// Pure functions, so the rules are the same on every connection and easy to test on their own.

/** An offset as the server sends it: a sequence number or an opaque, ordered string (a padded id, a timestamp). */
export type Offset = string | number;

export type Scalar = string | number | boolean | null;

/** The placeholder the subscribe and ping templates may use for the resume offset. */
export const OFFSET_PLACEHOLDER = '{{offset}}';

/** `a.b.0.c` inside a parsed message; undefined when any step is missing. An empty path is the value itself. */
export function valueAt(value: unknown, path: string | undefined): unknown {
  if (!path) return value;
  let v = value;
  for (const key of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    // Own properties only: a path must not reach `__proto__` or `constructor` of a plain object.
    if (!Object.prototype.hasOwnProperty.call(v, key)) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/** True when every path of `filter` holds the given value (or one of the given values). No filter matches all. */
export function matchesFilter(message: unknown, filter: Record<string, Scalar | Scalar[]> | undefined): boolean {
  if (!filter) return true;
  for (const [path, wanted] of Object.entries(filter)) {
    const v = valueAt(message, path);
    const ok = Array.isArray(wanted) ? wanted.some((w) => sameScalar(v, w)) : sameScalar(v, wanted);
    if (!ok) return false;
  }
  return true;
}

/** `"5"` in YAML and `5` on the wire are the same filter value: servers are not consistent about quoting. */
const sameScalar = (v: unknown, w: Scalar): boolean =>
  v === w || (v !== null && w !== null && (typeof v === 'number' || typeof v === 'string') && String(v) === String(w));

/** An offset read from a record, or undefined when it has none usable (absent, null, an object). */
export function offsetOf(record: Record<string, unknown>, path: string): Offset | undefined {
  const v = valueAt(record, path);
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.length > 0) return v;
  return undefined;
}

const DIGITS = /^-?\d+$/;

/**
 * Order of two offsets. Numbers (and all-digit strings, compared exactly, without the 2^53 limit of a double) by
 * value; other strings by code point, which is the order of padded ids and ISO timestamps.
 */
export function compareOffsets(a: Offset, b: Offset): number {
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  const sa = String(a);
  const sb = String(b);
  if (DIGITS.test(sa) && DIGITS.test(sb)) {
    const x = BigInt(sa);
    const y = BigInt(sb);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

export type Template = string | Record<string, unknown> | unknown[];

/**
 * The text to send for a template. A string template is sent as written with `{{offset}}` replaced by the offset's
 * text, escaped for use inside a JSON string (`"from":"{{offset}}"`); an object template is sent as JSON, a value that
 * is exactly `"{{offset}}"` becoming the offset itself (a number stays a number, no offset is `null`) and the
 * placeholder inside longer strings replaced by its text. No offset renders as the empty string inside text.
 */
export function renderTemplate(template: Template, offset: Offset | undefined): string {
  const text = offset === undefined ? '' : String(offset);
  if (typeof template === 'string') return template.split(OFFSET_PLACEHOLDER).join(JSON.stringify(text).slice(1, -1));
  const walk = (v: unknown): unknown => {
    if (v === OFFSET_PLACEHOLDER) return offset ?? null;
    if (typeof v === 'string') return v.split(OFFSET_PLACEHOLDER).join(text);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return JSON.stringify(walk(template));
}

/**
 * The records a message carries at `path`: an array of them or a single one. Undefined when the path is absent or
 * null (an acknowledgement, a status message: nothing to load).
 */
export function recordsAt(message: unknown, path: string | undefined): unknown[] | undefined {
  const v = valueAt(message, path);
  if (v === undefined || v === null) return undefined;
  return Array.isArray(v) ? v : [v];
}
