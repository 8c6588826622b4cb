// SQLite as the dialect-neutral SQL helpers see it, its state table column types, identifier quoting, and the
// functions Sluice registers on its connections.
import { createHash } from 'node:crypto';
import type { SqliteDatabase } from '../../core/sqlite-driver.js';
import { deleteMarkedSql } from '../../core/delete-marker.js';
import { quoteIdent } from '../sql/quote.js';
import type { GroupReplaceDialect } from '../sql/replace-groups.js';
import type { Scd2Dialect } from '../sql/scd2.js';
import type { SqlDialect } from '../sql/sql-dialect.js';
import { QUESTION_MARK } from '../sql/sql-dialect.js';
import type { StateColumnTypes } from '../sql/state-statements.js';

export const SQLITE_DIALECT: SqlDialect = { quoteChar: '"', param: QUESTION_MARK };

export const q = (name: string): string => quoteIdent(name);

/** A value read as text: how the delete marker is read, whatever its type (booleans are stored as 1 and 0). */
const asText = (expr: string): string => `CAST(${expr} AS TEXT)`;

/** SQL true (never NULL) when `expr`, a column of any type, carries the delete marker (src/core/delete-marker.ts). */
export const sqliteDeleteMarked = (expr: string): string => deleteMarkedSql(asText(expr));

/** Group replacement (../sql/replace-groups.ts) in SQLite: no DELETE … USING; an IN subquery probes the index. */
export const SQLITE_GROUP_REPLACE: GroupReplaceDialect = { ...SQLITE_DIALECT, text: asText, delete: 'in' };

/** SQLite has no identifier length limit worth the name; this keeps derived names readable. */
export const SQLITE_MAX_IDENTIFIER = 255;

export const SQLITE_STATE_TYPES: StateColumnTypes = {
  name: 'TEXT',
  version: 'INTEGER',
  document: 'TEXT',
  runId: 'TEXT',
  committedAt: "TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
};

const HASH_FUNCTION = 'sluice_hash';

/** SCD2 statements (../sql/scd2.ts) in SQLite: UPDATE … FROM, `IS NOT` as the NULL-safe comparison, our own hash. */
export const SQLITE_SCD2: Scd2Dialect = {
  ...SQLITE_DIALECT,
  hash: (exprs) => `${HASH_FUNCTION}(${exprs.join(', ')})`,
  distinct: (a, b) => `${a} IS NOT ${b}`,
  update: 'from',
};

/**
 * MD5 of the values as SQLite holds them, each tagged with its storage class (and strings and blobs with their byte
 * length), so NULL, '', 1 and '1' all differ and no two value lists run together. Integers arrive as bigint
 * (safeIntegers), so values past 2^53 hash exactly.
 */
export function sqliteHash(...values: unknown[]): string {
  const h = createHash('md5');
  for (const v of values) {
    if (v === null || v === undefined) h.update('n');
    else if (typeof v === 'bigint') h.update(`i${v};`);
    else if (typeof v === 'number') h.update(`r${v};`);
    else if (Buffer.isBuffer(v)) h.update(`b${v.length}:`).update(v);
    else {
      const s = String(v);
      h.update(`s${Buffer.byteLength(s)}:`).update(s);
    }
  }
  return h.digest('hex');
}

/** SQLite has no hash function built in: register ours (deterministic, so SQLite may use it anywhere). */
export function registerSqliteFunctions(db: SqliteDatabase): void {
  db.function(HASH_FUNCTION, { deterministic: true, varargs: true, safeIntegers: true }, sqliteHash);
}
