// The NUL character (U+0000) in canonical text and JSON values: some destinations cannot store it (PostgreSQL text
// and jsonb), so the engine finds it before the load and dead-letters the row, or removes it where the stream asks
// (`strip_nul: true`). In JSON text a NUL is the escape `\u0000` (a raw one is not valid JSON); an escaped backslash
// before `u0000` is not one.
import { elementType, type ColumnType } from '../types.js';

const NUL_ESCAPE = /\\(\\|u0000)/g;

export const hasNul = (text: string): boolean => text.includes('\0');

/** True when JSON text holds a `\u0000` escape. */
export function hasNulEscape(json: string): boolean {
  if (!json.includes('\\u0000')) return false;
  NUL_ESCAPE.lastIndex = 0;
  for (let m = NUL_ESCAPE.exec(json); m; m = NUL_ESCAPE.exec(json)) if (m[1] !== '\\') return true;
  return false;
}

/** For a value of `type`, true when it holds a NUL; undefined when values of the type cannot. */
export function nulFinder(type: ColumnType): ((v: unknown) => boolean) | undefined {
  const element = elementType(type);
  if (element) {
    const inner = nulFinder(element);
    return inner && ((v) => Array.isArray(v) && v.some((e) => e !== null && inner(e)));
  }
  if (type === 'text') return (v) => typeof v === 'string' && hasNul(v);
  if (type === 'json') return (v) => typeof v === 'string' && hasNulEscape(v);
  return undefined;
}

/** For a value of `type`, the same value without NUL characters; undefined when values of the type hold none. */
export function nulStripper(type: ColumnType): ((v: unknown) => unknown) | undefined {
  const element = elementType(type);
  if (element) {
    const inner = nulStripper(element);
    return inner && ((v) => (Array.isArray(v) ? v.map((e) => (e === null ? e : inner(e))) : v));
  }
  if (type === 'text') return (v) => (typeof v === 'string' && hasNul(v) ? v.replaceAll('\0', '') : v);
  if (type === 'json') return (v) => (typeof v === 'string' && hasNulEscape(v) ? v.replace(NUL_ESCAPE, (m, g: string) => (g === '\\' ? m : '')) : v);
  return undefined;
}
