// Identifier quoting shared by every SQL destination. Names come from source data (CSV headers, JSON keys), so
// they are always quoted, never validated against a whitelist: `"; DROP TABLE x; --` is a legal column name.
import { RunError } from '../../core/errors.js';

/**
 * Quote one identifier: wrap it in `quoteChar` and double every embedded `quoteChar` (the SQL standard rule,
 * also MySQL's for backticks). NUL cannot be represented in any of our targets and would truncate the name in
 * C-string APIs, so it is refused rather than silently stripped.
 */
export function quoteIdent(name: string, quoteChar = '"'): string {
  if (name.length === 0) throw new RunError('empty identifier: every table and column needs a name');
  if (name.includes('\0')) throw new RunError(`identifier ${JSON.stringify(name)} contains a NUL character`);
  return quoteChar + name.split(quoteChar).join(quoteChar + quoteChar) + quoteChar;
}

/** `schema.table` (or any dotted path) with each part quoted; `undefined` parts (no schema) are left out. */
export function quoteQualified(parts: readonly (string | undefined)[], quoteChar = '"'): string {
  return parts.filter((p): p is string => p !== undefined).map((p) => quoteIdent(p, quoteChar)).join('.');
}

/** A string literal (a path, a name in an option): single quotes doubled; NUL refused, as for identifiers. */
export function sqlString(s: string): string {
  if (s.includes('\0')) throw new RunError(`${JSON.stringify(s)} contains a NUL character`);
  return `'${s.replace(/'/g, "''")}'`;
}

/** A SELECT list of `columns`, each quoted by `quote`; `*` when none are named (every column). */
export const selectList = (columns: readonly string[], quote: (name: string) => string): string =>
  (columns.length ? columns.map((c) => quote(c)).join(', ') : '*');
