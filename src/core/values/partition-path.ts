// Hive-style partition directories: `col=value/…`. Values are written in their text form and escaped as Hive escapes
// path names (%XX for `/`, `=`, `%`, `:` and the other characters a path or a URL cannot carry as is), so Spark,
// Trino, Athena and DuckDB's `hive_partitioning` read the same value back. NULL and '' have no directory name of their
// own: both are Hive's default partition. Sources read them back from a path the same way (partitionsOfPath).
import type { ColumnType } from '../types.js';

export const DEFAULT_PARTITION = '__HIVE_DEFAULT_PARTITION__';

// The characters Hive's FileUtils.escapePathName escapes, plus space and `+` (which URL decoders may read as a space).
// eslint-disable-next-line no-control-regex
const ESCAPE = /[\u0000-\u001F\u007F"#%'*+/:=?\\{[\]^ ]/g;

export const escapePathName = (s: string): string =>
  s.replace(ESCAPE, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase()}`);

/** The partition value a row's value stands for in the path and the manifest (null: the default partition). */
export function partitionValue(v: unknown, type: ColumnType): string | null {
  if (v === null || v === undefined) return null;
  let s: string;
  if (v instanceof Date) s = type === 'date' ? v.toISOString().slice(0, 10) : v.toISOString();
  else if (v instanceof Uint8Array) s = Buffer.from(v).toString('base64');
  else if (typeof v === 'object') s = JSON.stringify(v);
  else s = String(v);
  return s === '' ? null : s;
}

export const partitionSegment = (column: string, value: string | null): string =>
  `${escapePathName(column)}=${value === null ? DEFAULT_PARTITION : escapePathName(value)}`;

const unescapePathName = (s: string): string => s.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));

/** The `col=value` directories of a file's path, outermost first, values unescaped (the default partition: null). */
export function partitionsOfPath(path: string): [string, string | null][] {
  const out: [string, string | null][] = [];
  for (const segment of path.split('/').slice(0, -1)) {
    const eq = segment.indexOf('=');
    if (eq <= 0) continue;
    const value = segment.slice(eq + 1);
    out.push([unescapePathName(segment.slice(0, eq)), value === DEFAULT_PARTITION ? null : unescapePathName(value)]);
  }
  return out;
}
