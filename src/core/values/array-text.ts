// Arrays as text, both ways. Read: a JSON array (`[1, "a", null]`) or a PostgreSQL array literal (`{1,"a b",NULL}`)
// → its elements as raw text or null, for the element type's coercer to judge; one dimension only. Write: canonical
// array values (src/core/values/coerce.ts) → JSON text (destinations without arrays) or a PostgreSQL literal (COPY).
import { JsonNumber, stringifyRefusingExact } from './json-number.js';

/** The elements of a one-dimensional array written as JSON or as a PostgreSQL literal; undefined when it is not one. */
export function parseArrayText(s: string): (string | null)[] | undefined {
  const t = s.trim();
  if (t.startsWith('[')) return parseJsonArray(t);
  if (t.startsWith('{')) return parsePgArray(t);
  return undefined;
}

const isSpace = (c: number): boolean => c === 32 || (c >= 9 && c <= 13);

/**
 * The elements of `s`, a list opened by its first character and closed by `close`, separated by commas, with
 * whitespace around them. `element` reads one element at `i` and returns it with the index after it, or undefined
 * when it is not one; JSON and PostgreSQL literals differ only there.
 */
function parseList(
  s: string, close: string, element: (i: number) => [string | null, number] | undefined,
): (string | null)[] | undefined {
  const out: (string | null)[] = [];
  let i = 1;
  const skip = (): void => {
    while (i < s.length && isSpace(s.charCodeAt(i))) i++;
  };
  skip();
  if (s[i] === close) return i === s.length - 1 ? out : undefined;
  for (;;) {
    skip();
    const read = element(i);
    if (read === undefined) return undefined;
    out.push(read[0]);
    i = read[1];
    skip();
    if (s[i] === ',') {
      i++;
      continue;
    }
    return s[i] === close && i === s.length - 1 ? out : undefined;
  }
}

const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

const parseJsonArray = (s: string) => parseList(s, ']', (i) => {
  const start = i;
  if (s[i] === '"') {
    i++;
    while (i < s.length && s[i] !== '"') i += s[i] === '\\' ? 2 : 1;
    if (i >= s.length) return undefined;
    i++;
    try {
      return [JSON.parse(s.slice(start, i)) as string, i];
    } catch {
      return undefined;
    }
  }
  // Numbers, true, false and null keep their text: numbers stay exact until the element type reads them.
  while (i < s.length && s[i] !== ',' && s[i] !== ']' && !isSpace(s.charCodeAt(i))) i++;
  const token = s.slice(start, i);
  if (token === 'null') return [null, i];
  return token === 'true' || token === 'false' || JSON_NUMBER.test(token) ? [token, i] : undefined;
});

const parsePgArray = (s: string) => parseList(s, '}', (i) => {
  if (s[i] === '"') {
    let value = '';
    i++;
    while (i < s.length && s[i] !== '"') {
      if (s[i] === '\\') i++;
      value += s[i] ?? '';
      i++;
    }
    return i < s.length ? [value, i + 1] : undefined;
  }
  const start = i;
  while (i < s.length && s[i] !== ',' && s[i] !== '}') {
    // A nested array, or a quote inside an unquoted element, is not a one-dimensional literal.
    if (s[i] === '{' || s[i] === '"') return undefined;
    i++;
  }
  const token = s.slice(start, i).trim();
  if (token === '') return undefined;
  return [token.toUpperCase() === 'NULL' ? null : token.replace(/\\(.)/g, '$1'), i];
});

/**
 * JSON text of a value that may hold bigints or exact JSON numbers (which JSON.stringify refuses here): they are
 * written as JSON numbers, every digit as read. Canonical decimals are strings and stay JSON strings, so no reader
 * rounds them through a double.
 */
export function jsonText(v: unknown): string {
  try {
    return stringifyRefusingExact(v) ?? 'null';
  } catch (e) {
    if (!(e instanceof TypeError)) throw e;
    return withBigints(v);
  }
}

function withBigints(v: unknown): string {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof JsonNumber) return v.text;
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : withBigints(x))).join(',')}]`;
  if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON !== 'function') {
    const members: string[] = [];
    for (const [k, x] of Object.entries(v)) if (x !== undefined) members.push(`${JSON.stringify(k)}:${withBigints(x)}`);
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** A canonical array as a PostgreSQL array literal: text elements quoted and escaped, NULLs bare. */
export function pgArrayLiteral(items: readonly unknown[]): string {
  let out = '{';
  for (let i = 0; i < items.length; i++) {
    if (i > 0) out += ',';
    const x = items[i];
    if (x === null || x === undefined) out += 'NULL';
    else if (typeof x === 'string') out += `"${x.replace(/[\\"]/g, '\\$&')}"`;
    else out += String(x);
  }
  return out + '}';
}
