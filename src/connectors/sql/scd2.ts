// SCD2 history, as SQL that PostgreSQL, DuckDB, MariaDB/MySQL and SQLite all run, written through a small
// Scd2Dialect: a staged checkpoint (one row per key: the last one written) is compared with the current version of
// each key through a hash of the tracked columns.
//
//   key new                       → insert a current version (valid_from = now, valid_to NULL)
//   key known, hash differs       → close the current version (valid_to = now, is_current false), insert the new one
//   key known, hash equal         → untouched (no new version, no write)
//   key known, delete marker set  → close the current version, insert nothing
//
// "now" must be one value per commit, so a closed version's valid_to equals its successor's valid_from. now() is the
// transaction's start time in PostgreSQL and DuckDB; MariaDB's NOW() and SQLite's 'now' change from one statement to
// the next, so there the caller passes the commit's timestamp and it is bound as a parameter of every statement.
// Adding a column changes every hash: the next load of a key records a new version, as in dlt.
import type { CommitCounts } from '../../core/connector.js';
import type { ColumnType } from '../../core/types.js';
import { Params, ident } from './sql-dialect.js';
import type { SqlDialect } from './sql-dialect.js';
import type { Statement } from './state-statements.js';
import { quoteIdent } from './quote.js';

/** Columns the target of an scd2 stream carries besides the stream's own. */
export const SCD2_COLUMNS = ['valid_from', 'valid_to', 'is_current', '_sluice_hash'] as const;

/** Their definitions, given the destination's timestamp type. */
export const scd2ColumnDefs = (timestamp: string): string[] => [
  `${quoteIdent('valid_from')} ${timestamp} NOT NULL`, `${quoteIdent('valid_to')} ${timestamp}`,
  `${quoteIdent('is_current')} BOOLEAN NOT NULL`, `${quoteIdent('_sluice_hash')} TEXT`,
];

/** The same columns as logical types, for destinations whose DDL helpers map types themselves (MySQL, SQLite). */
export const SCD2_LOGICAL_COLUMNS: readonly { name: (typeof SCD2_COLUMNS)[number]; type: ColumnType }[] = [
  { name: 'valid_from', type: 'timestamp' }, { name: 'valid_to', type: 'timestamp' },
  { name: 'is_current', type: 'boolean' }, { name: '_sluice_hash', type: 'text' },
];

/** What differs between the engines in these statements. */
export interface Scd2Dialect extends SqlDialect {
  /** A non-NULL hash of the values `exprs` (possibly none) that tells NULL from '' and `('a','')` from `('','a')`. */
  hash(exprs: readonly string[]): string;
  /** True when `a` and `b` differ, NULL counting as a value. */
  distinct(a: string, b: string): string;
  /**
   * How an UPDATE reads a second table: `from` (`UPDATE t SET … FROM src WHERE …`: PostgreSQL, DuckDB, SQLite) or
   * `join` (`UPDATE t JOIN src ON … SET t.c = …`: MariaDB/MySQL).
   */
  update: 'from' | 'join';
}

/** PostgreSQL and DuckDB: the hash is the text of a row value, as stored by every scd2 table they already hold. */
export const STANDARD_SCD2: Scd2Dialect = {
  quoteChar: '"',
  param: (n) => `$${n}`,
  hash: (exprs) => `md5(ROW(${exprs.join(', ')})::text)`,
  distinct: (a, b) => `${a} IS DISTINCT FROM ${b}`,
  update: 'from',
};

export interface Scd2Plan {
  /** Qualified, quoted names. */
  target: string;
  stage: string;
  /**
   * Raw name of the write sequence column of the stage: the last row per key is picked by it (DISTINCT ON, so
   * PostgreSQL and DuckDB only). Absent: the stage holds one row per key already (keyed like the target and written
   * last-wins, as MySQL and SQLite stage).
   */
  seq?: string;
  /** Raw column names. */
  keys: string[];
  /** Columns of the target (keys included, the delete marker excluded). */
  columns: string[];
  /** SQL that is true when row `alias` carries the delete marker; absent without a delete column. */
  deleteWhere?: (alias: string) => string;
  /** The commit's timestamp, bound as a parameter; absent: the engine's now(), which must be the transaction's start. */
  now?: unknown;
}

export interface Scd2Statements {
  /** One row: fresh, changed, deleted (counted before anything changes). */
  count: Statement;
  close: Statement;
  insert: Statement;
}

export function scd2Statements(p: Scd2Plan, d: Scd2Dialect = STANDARD_SCD2): Scd2Statements {
  const id = (name: string) => ident(d, name);
  const keys = p.keys.map(id);
  const cols = p.columns.map(id);
  const tracked = cols.filter((c) => !keys.includes(c));
  const [validFrom, validTo, isCurrent, hashCol] = SCD2_COLUMNS.map(id);
  const hash = d.hash(tracked.map((c) => `src.${c}`));
  const src = p.seq === undefined ? `${p.stage} AS src`
    : `(SELECT DISTINCT ON (${keys.join(', ')}) * FROM ${p.stage} ORDER BY ${keys.join(', ')}, ${id(p.seq)} DESC) AS src`;
  const same = keys.map((k) => `t.${k} = src.${k}`).join(' AND ');
  const del = p.deleteWhere ? `coalesce(${p.deleteWhere('src')}, false)` : 'false';
  const changed = `(${d.distinct(`t.${hashCol}`, hash)} OR ${del})`;
  // Each statement collects its own parameters: only "now" is ever bound, once per place it appears.
  const now = (params: Params) => (p.now === undefined ? 'now()' : params.add(p.now));

  const close = new Params(d);
  const closeSql = d.update === 'join'
    ? `UPDATE ${p.target} AS t JOIN ${src} ON ${same} SET t.${validTo} = ${now(close)}, t.${isCurrent} = false
       WHERE t.${isCurrent} AND ${changed}`
    : `UPDATE ${p.target} AS t SET ${validTo} = ${now(close)}, ${isCurrent} = false FROM ${src}
       WHERE t.${isCurrent} AND ${same} AND ${changed}`;
  const insert = new Params(d);
  const insertSql = `INSERT INTO ${p.target} (${cols.join(', ')}, ${validFrom}, ${validTo}, ${isCurrent}, ${hashCol})
    SELECT ${cols.map((c) => `src.${c}`).join(', ')}, ${now(insert)}, NULL, true, ${hash} FROM ${src}
    WHERE NOT ${del} AND NOT EXISTS (SELECT 1 FROM ${p.target} AS t WHERE t.${isCurrent} AND ${same})`;
  // count(CASE …) rather than FILTER: MariaDB has no FILTER clause.
  const countSql = `SELECT count(CASE WHEN t.${keys[0]} IS NULL AND NOT ${del} THEN 1 END) AS fresh,
      count(CASE WHEN t.${keys[0]} IS NOT NULL AND NOT ${del} AND ${d.distinct(`t.${hashCol}`, hash)} THEN 1 END) AS changed,
      count(CASE WHEN t.${keys[0]} IS NOT NULL AND ${del} THEN 1 END) AS deleted
    FROM ${src} LEFT JOIN ${p.target} AS t ON t.${isCurrent} AND ${same}`;
  return {
    count: { sql: countSql, params: [] },
    close: { sql: closeSql, params: close.values },
    insert: { sql: insertSql, params: insert.values },
  };
}

const countsOf = (c: Record<string, unknown>): CommitCounts =>
  ({ inserted: Number(c.fresh), updated: Number(c.changed), deleted: Number(c.deleted) });

/** Run the three statements in the caller's transaction with `run(sql, params)` returning rows of the count query. */
export async function applyScd2(
  p: Scd2Plan, run: (sql: string, params: unknown[]) => Promise<Record<string, unknown>[]>, d: Scd2Dialect = STANDARD_SCD2,
): Promise<CommitCounts> {
  const s = scd2Statements(p, d);
  const [c] = await run(s.count.sql, s.count.params);
  await run(s.close.sql, s.close.params);
  await run(s.insert.sql, s.insert.params);
  return countsOf(c);
}

/** The same for a synchronous driver (better-sqlite3), whose transaction must not span an await. */
export function applyScd2Sync(p: Scd2Plan, run: (st: Statement) => Record<string, unknown>[], d: Scd2Dialect): CommitCounts {
  const s = scd2Statements(p, d);
  const [c] = run(s.count);
  run(s.close);
  run(s.insert);
  return countsOf(c);
}
