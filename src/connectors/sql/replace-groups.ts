// Group replacement (`LoadTarget.replaceGroups`), as SQL that PostgreSQL and DuckDB both run in a commit's
// transaction. It is dlt's delete-insert for child tables: a parent loaded again brings its whole array, so the
// rows staged for its group replace every row the target holds for it, and a parent whose array emptied (or that
// was deleted) sends only a marker row, which empties its group. Running it twice on the same rows gives the same
// target, which is what makes a commit replayed after a crash harmless.
//
//   delete  every target row whose group value is among the staged ones (index the group column of a big target)
//   insert  the staged rows that are not markers and were written after their group's last marker (write sequence)
import type { CommitCounts } from '../../core/connector.js';
import { deleteMarkedSql } from '../../core/delete-marker.js';
import { quoteIdent } from './quote.js';

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

export function groupReplaceStatements(p: GroupReplacePlan): GroupReplaceStatements {
  const group = quoteIdent(p.group);
  const cols = p.columns.map((c) => quoteIdent(c)).join(', ');
  // DISTINCT first: the delete then probes the target (its index) once per group, not once per staged row.
  const del = `DELETE FROM ${p.target} AS t USING (SELECT DISTINCT ${group} FROM ${p.stage} WHERE ${group} IS NOT NULL) AS g
    WHERE t.${group} = g.${group}`;
  if (p.marker === undefined) return { delete: del, insert: `INSERT INTO ${p.target} (${cols}) SELECT ${cols} FROM ${p.stage}` };
  const isMarker = (a: string) => deleteMarkedSql(`CAST(${a}.${quoteIdent(p.marker!)} AS VARCHAR)`);
  const seq = quoteIdent(p.seq);
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
export async function applyGroupReplace(p: GroupReplacePlan, run: (sql: string) => Promise<number>): Promise<CommitCounts> {
  const s = groupReplaceStatements(p);
  const deleted = await run(s.delete);
  const inserted = await run(s.insert);
  return { inserted, updated: 0, deleted };
}
