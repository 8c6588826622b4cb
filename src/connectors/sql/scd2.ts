// SCD2 history, as SQL that PostgreSQL and DuckDB both run: a staged checkpoint (last row per key by a write
// sequence) is compared with the current version of each key through a hash of the tracked columns.
//
//   key new                       → insert a current version (valid_from = now(), valid_to NULL)
//   key known, hash differs       → close the current version (valid_to = now(), is_current false), insert the new one
//   key known, hash equal         → untouched (no new version, no write)
//   key known, delete marker set  → close the current version, insert nothing
//
// now() is the transaction's start time in both engines, so a closed version's valid_to equals its successor's
// valid_from. Adding a column changes every hash: the next load of a key records a new version, as in dlt.
import type { CommitCounts } from '../../core/connector.js';
import { quoteIdent } from './quote.js';

/** Columns the target of an scd2 stream carries besides the stream's own. */
export const SCD2_COLUMNS = ['valid_from', 'valid_to', 'is_current', '_sluice_hash'] as const;

/** Their definitions, given the destination's timestamp type. */
export const scd2ColumnDefs = (timestamp: string): string[] => [
  `${quoteIdent('valid_from')} ${timestamp} NOT NULL`, `${quoteIdent('valid_to')} ${timestamp}`,
  `${quoteIdent('is_current')} BOOLEAN NOT NULL`, `${quoteIdent('_sluice_hash')} TEXT`,
];

export interface Scd2Plan {
  /** Qualified, quoted names. */
  target: string;
  stage: string;
  /** Raw column names. */
  seq: string;
  keys: string[];
  /** Columns of the target (keys included, the delete marker excluded). */
  columns: string[];
  /** SQL that is true when row `alias` carries the delete marker; absent without a delete column. */
  deleteWhere?: (alias: string) => string;
}

export interface Scd2Statements {
  /** One row: fresh, changed, deleted (counted before anything changes). */
  count: string;
  close: string;
  insert: string;
}

export function scd2Statements(p: Scd2Plan): Scd2Statements {
  const keys = p.keys.map((k) => quoteIdent(k));
  const cols = p.columns.map((c) => quoteIdent(c));
  const tracked = cols.filter((c) => !keys.includes(c));
  const hash = (a: string) => `md5(ROW(${tracked.map((c) => `${a}.${c}`).join(', ')})::text)`;
  const src = `(SELECT DISTINCT ON (${keys.join(', ')}) * FROM ${p.stage} ORDER BY ${keys.join(', ')}, ${quoteIdent(p.seq)} DESC) AS src`;
  const same = keys.map((k) => `t.${k} = src.${k}`).join(' AND ');
  const del = p.deleteWhere ? `coalesce(${p.deleteWhere('src')}, false)` : 'false';
  return {
    count: `SELECT count(*) FILTER (WHERE t.${keys[0]} IS NULL AND NOT ${del}) AS fresh,
      count(*) FILTER (WHERE t.${keys[0]} IS NOT NULL AND NOT ${del} AND t._sluice_hash IS DISTINCT FROM ${hash('src')}) AS changed,
      count(*) FILTER (WHERE t.${keys[0]} IS NOT NULL AND ${del}) AS deleted
      FROM ${src} LEFT JOIN ${p.target} AS t ON t.is_current AND ${same}`,
    close: `UPDATE ${p.target} AS t SET valid_to = now(), is_current = false FROM ${src}
      WHERE t.is_current AND ${same} AND (t._sluice_hash IS DISTINCT FROM ${hash('src')} OR ${del})`,
    insert: `INSERT INTO ${p.target} (${cols.join(', ')}, valid_from, valid_to, is_current, _sluice_hash)
      SELECT ${cols.map((c) => `src.${c}`).join(', ')}, now(), NULL, true, ${hash('src')} FROM ${src}
      WHERE NOT ${del} AND NOT EXISTS (SELECT 1 FROM ${p.target} AS t WHERE t.is_current AND ${same})`,
  };
}

/** Run the three statements in the caller's transaction with `run(sql)` returning rows of the count query. */
export async function applyScd2(p: Scd2Plan, run: (sql: string) => Promise<Record<string, unknown>[]>): Promise<CommitCounts> {
  const s = scd2Statements(p);
  const [c] = await run(s.count);
  await run(s.close);
  await run(s.insert);
  return { inserted: Number(c.fresh), updated: Number(c.changed), deleted: Number(c.deleted) };
}
