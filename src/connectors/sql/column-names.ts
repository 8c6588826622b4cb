// Destinations that fold case (DuckDB, MySQL, SQLite) match a configured name — a primary key, a group column, a
// delete marker — to a column of the schema as they do themselves: the exact spelling first, then case-insensitively.
import { RunError } from '../../core/errors.js';

/** The schema's spelling of `name`, if it has that column (yet). */
export function foldedColumn(columns: readonly { name: string }[], name: string): string | undefined {
  const lower = name.toLowerCase();
  return (columns.find((c) => c.name === name) ?? columns.find((c) => c.name.toLowerCase() === lower))?.name;
}

/** The schema's spelling of `name`; a stream whose schema lacks it fails, saying `what` it was. */
export function requireColumn(columns: readonly { name: string }[], name: string, stream: string, what: string): string {
  const found = foldedColumn(columns, name);
  if (found === undefined) throw new RunError(`stream ${stream}: ${what} "${name}" is not in the schema`, stream);
  return found;
}
