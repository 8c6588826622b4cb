// Records whose keys come from data (a JSON document, an XML element, a CSV header): `__proto__`, `constructor` or
// `toString` is an ordinary column name there, never a way into the object prototype.
import type { Row } from './types.js';

/** Set a key; `__proto__` stays an ordinary key instead of changing the prototype. */
export function setKey(row: Row, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(row, key, { value, enumerable: true, writable: true, configurable: true });
  else row[key] = value;
}

/** Keys every plain object inherits (`constructor`, `toString`, `__proto__`, …): a record lacking one reads its prototype's. */
export const inheritedKey = (key: string): boolean => key in Object.prototype;

/** A record's own value for `key`; undefined when the record lacks it, whatever its prototype has. */
export const ownValue = (row: Row, key: string): unknown => (Object.hasOwn(row, key) ? row[key] : undefined);

/** A row as JSON for a dead-letter entry: big integers as their digits, bytes as base64. */
export const rowJson = (row: Row): string =>
  JSON.stringify(row, (_k, v) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v));

/** Long text cut for a message (a dead-letter reason shows which value, not all of it). */
export const abbreviate = <T>(v: T, max = 80): T | string => (typeof v === 'string' && v.length > max ? `${v.slice(0, max - 3)}...` : v);
