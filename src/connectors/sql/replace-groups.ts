// Group replacement (`LoadTarget.replaceGroups`), as SQL that PostgreSQL, DuckDB, MariaDB/MySQL and SQLite run in a
// commit's transaction, written through a small GroupReplaceDialect. It is dlt's delete-insert for child tables: a
// parent loaded again brings its whole array, so the rows staged for its group replace every row the target holds
// for it, and a parent whose array emptied (or that was deleted) sends only a marker row, which empties its group.
// Running it twice on the same rows gives the same target, which is what makes a commit replayed after a crash
// harmless.
//
//   delete  every target row whose group value is among the staged ones (index the group column of a big target)
//   insert  the staged rows that are not markers and were written after their group's last marker (write sequence)
//
// Each statement reads the staging table once: MySQL cannot open a TEMPORARY table twice in one statement, which is
// also why the last marker of a group is found by a window function rather than a join back to staging.
import type { CommitCounts } from '../../core/connector.js';
import { deleteMarkedSql } from '../../core/delete-marker.js';
import { ident } from './sql-dialect.js';
import type { SqlDialect } from './sql-dialect.js';

/** What differs between the engines in these statements. */
export interface GroupReplaceDialect extends SqlDialect {
  /** `expr` read as text (the marker column, whatever its type). */
  text(expr: string): string;
  /**
   * How the delete reads the staged groups: `using` (`DELETE FROM t USING g WHERE …`: PostgreSQL, DuckDB), `join`
   * (`DELETE t FROM t JOIN g ON …`: MariaDB/MySQL, whose single-table DELETE may not turn an IN subquery into a
   * join) or `in` (`DELETE FROM t WHERE c IN (SELECT …)`: SQLite, which probes the index once per value).
   */
  delete: 'using' | 'join' | 'in';
}

/** PostgreSQL and DuckDB. */
export const STANDARD_GROUP_REPLACE: GroupReplaceDialect = {
  quoteChar: '"',
  param: (n) => `$${n}`,
  text: (expr) => `CAST(${expr} AS VARCHAR)`,
  delete: 'using',
};

export interface GroupReplacePlan {
  /** Qualified, quoted names. */
  target: string;
  stage: string;
  /** Raw column names: the group column, the staging write sequence, the marker column (if any). */
  group: string;
  seq: string;
  marker?: string;
  /** Columns of the target (the group column included, the marker excluded). */
  columns: string[];
}

export interface GroupReplaceStatements {
  delete: string;
  insert: string;
}

export function groupReplaceStatements(p: GroupReplacePlan, d: GroupReplaceDialect = STANDARD_GROUP_REPLACE): GroupReplaceStatements {
  const id = (name: string) => ident(d, name);
  const group = id(p.group);
  const cols = p.columns.map(id).join(', ');
  // DISTINCT first: the delete then probes the target (its index) once per group, not once per staged row.
  const groups = `SELECT DISTINCT ${group} FROM ${p.stage} WHERE ${group} IS NOT NULL`;
  const del = d.delete === 'using' ? `DELETE FROM ${p.target} AS t USING (${groups}) AS g
    WHERE t.${group} = g.${group}`
    : d.delete === 'join' ? `DELETE t FROM ${p.target} AS t JOIN (${groups}) AS g ON t.${group} = g.${group}`
      : `DELETE FROM ${p.target} WHERE ${group} IN (${groups})`;
  if (p.marker === undefined) return { delete: del, insert: `INSERT INTO ${p.target} (${cols}) SELECT ${cols} FROM ${p.stage}` };
  const isMarker = (a: string) => deleteMarkedSql(d.text(`${a}.${id(p.marker!)}`));
  const seq = id(p.seq);
  return {
    delete: del,
    insert: `INSERT INTO ${p.target} (${cols})
      SELECT ${cols} FROM (
        SELECT s.*, max(CASE WHEN ${isMarker('s')} THEN s.${seq} END) OVER (PARTITION BY s.${group}) AS _sluice_reset
        FROM ${p.stage} AS s
      ) AS s
      WHERE NOT ${isMarker('s')} AND (s._sluice_reset IS NULL OR s.${seq} > s._sluice_reset)`,
  };
}

/** Run both statements in the caller's transaction; `run(sql)` returns the number of rows it changed. */
export async function applyGroupReplace(
  p: GroupReplacePlan, run: (sql: string) => Promise<number>, d: GroupReplaceDialect = STANDARD_GROUP_REPLACE,
): Promise<CommitCounts> {
  const s = groupReplaceStatements(p, d);
  const deleted = await run(s.delete);
  const inserted = await run(s.insert);
  return { inserted, updated: 0, deleted };
}

/** The same for a synchronous driver (better-sqlite3), whose transaction must not span an await. */
export function applyGroupReplaceSync(p: GroupReplacePlan, run: (sql: string) => number, d: GroupReplaceDialect): CommitCounts {
  const s = groupReplaceStatements(p, d);
  const deleted = run(s.delete);
  const inserted = run(s.insert);
  return { inserted, updated: 0, deleted };
}
