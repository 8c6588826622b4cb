// Exact insert/update counts of an upsert, taken before it runs: staged keys already in the target will be
// updates, the rest inserts. Drivers' affected-row counts cannot say this (MySQL counts an update as 2, an
// unchanged row as 0 or 1 depending on client flags; SQLite counts both as 1). The staging table holds each key
// once (it is keyed like the target and written last-wins), so a join counts rows, not duplicates.
import { ident } from './sql-dialect.js';
import type { SqlDialect } from './sql-dialect.js';

/** Selects `staged` and `existing` (already-quoted table names; `keys` are column names). */
export function mergeCountSql(d: SqlDialect, target: string, stage: string, keys: readonly string[]): string {
  const on = keys.map((k) => `t.${ident(d, k)} = s.${ident(d, k)}`).join(' AND ');
  // One reference to the staging table: MySQL cannot open a TEMPORARY table twice in one statement.
  return `SELECT count(*) AS staged, count(t.${ident(d, keys[0])}) AS existing
          FROM ${stage} s LEFT JOIN ${target} t ON ${on}`;
}
