// A value read from one engine, written into the other: each driver gives its engine's own spelling (PostgreSQL's text
// output, MySQL's strings, SQLite's numbers), and the other engine must take it as the same value. Only the spellings
// an engine would refuse or misread are changed: booleans (`t`/`f` into MySQL or SQLite), timestamps with a zone
// (into MySQL's DATETIME, which has none: the UTC wall time, fraction kept), bytea's `\x…` text (bytes), and a zoneless
// timestamp into PostgreSQL's timestamptz (read as UTC, as both sides' sessions are).
import type { SideColumn } from './side.js';

export type Engine = 'postgres' | 'mysql' | 'sqlite';

const WITH_ZONE = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(\.\d+)?\s*(Z|[+-]\d{2}(?::?\d{2})?)$/;
const ZONELESS = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?$/;

const isBoolean = (c: SideColumn) => c.type === 'boolean' || c.type === 'bool';
const isTimestampTz = (c: SideColumn) => c.type.startsWith('timestamp with time zone') || c.type === 'timestamptz';

/** `2024-01-01 10:00:00.123456+02` → `2024-01-01 08:00:00.123456` (UTC, no zone). */
export function utcWallTime(text: string): string | undefined {
  const m = WITH_ZONE.exec(text);
  if (!m) return undefined;
  const [, date, time, fraction = '', zone] = m;
  const offset = zone === 'Z' ? 'Z' : zone.length === 3 ? `${zone}:00` : zone.includes(':') ? zone : `${zone.slice(0, 3)}:${zone.slice(3)}`;
  const at = Date.parse(`${date}T${time}${offset}`);
  if (Number.isNaN(at)) return undefined;
  return `${new Date(at).toISOString().slice(0, 19).replace('T', ' ')}${fraction}`;
}

/** `value` of column `from` (on the side it was read from) as column `to` of a `target` engine takes it. */
export function writeValue(value: unknown, from: SideColumn, to: SideColumn, target: Engine): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') {
    if (isBoolean(from) && target !== 'postgres') return value === 't' || value === 'true' ? 1 : value === 'f' || value === 'false' ? 0 : value;
    if (from.type === 'bytea' && value.startsWith('\\x')) return Buffer.from(value.slice(2), 'hex');
    if (target === 'mysql' || target === 'sqlite') {
      if (!to.text) return utcWallTime(value) ?? value;
      return value;
    }
    if (isTimestampTz(to) && ZONELESS.test(value)) return `${value}+00`;
    return value;
  }
  if (typeof value === 'bigint') return value.toString();
  return value;
}
