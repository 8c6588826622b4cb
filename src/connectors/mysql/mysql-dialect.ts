// MySQL/MariaDB as the dialect-neutral SQL helpers see it, and its state table column types.
import { deleteMarkedSql } from '../../core/delete-marker.js';
import type { GroupReplaceDialect } from '../sql/replace-groups.js';
import type { Scd2Dialect } from '../sql/scd2.js';
import type { SqlDialect } from '../sql/sql-dialect.js';
import { QUESTION_MARK } from '../sql/sql-dialect.js';
import type { StateColumnTypes } from '../sql/state-statements.js';

export const MYSQL_DIALECT: SqlDialect = { quoteChar: '`', param: QUESTION_MARK };

/**
 * SCD2 statements (../sql/scd2.ts) in MySQL/MariaDB: multi-table UPDATE is `UPDATE t JOIN src … SET`, `<=>` is the
 * NULL-safe comparison, and the hash is MD5 over each value as `<byte length>:<bytes>` (`n` for NULL): unlike
 * CONCAT_WS, which skips NULLs, that tells `(NULL, 'a')` from `('a', NULL)`. Values are cast to binary so columns of
 * different collations never meet in one CONCAT.
 */
export const MYSQL_SCD2: Scd2Dialect = {
  ...MYSQL_DIALECT,
  hash: (exprs) => `MD5(CONCAT(${exprs.map((e) => `COALESCE(CONCAT(LENGTH(${e}), ':', CAST(${e} AS BINARY)), 'n')`).join(', ') || "''"}))`,
  distinct: (a, b) => `NOT (${a} <=> ${b})`,
  update: 'join',
};

/** A value read as text (MySQL has no CAST … AS VARCHAR): how the delete marker is read, whatever its type. */
const asText = (expr: string): string => `CAST(${expr} AS CHAR)`;

/** SQL true (never NULL) when `expr`, a column of any type, carries the delete marker (src/core/delete-marker.ts). */
export const mysqlDeleteMarked = (expr: string): string => deleteMarkedSql(asText(expr));

/**
 * Group replacement (../sql/replace-groups.ts) in MySQL/MariaDB: no DELETE … USING, and a single-table DELETE with
 * an IN subquery may scan the whole target, so the delete joins the staged groups (`DELETE t FROM t JOIN g`).
 */
export const MYSQL_GROUP_REPLACE: GroupReplaceDialect = { ...MYSQL_DIALECT, text: asText, delete: 'join' };

/** Longest table or column name MySQL accepts. */
export const MYSQL_MAX_IDENTIFIER = 64;

export const MYSQL_STATE_TYPES: StateColumnTypes = {
  // Part of the primary key: 2 × 255 × 4 bytes (utf8mb4) stays under InnoDB's 3072-byte key limit.
  name: 'VARCHAR(255)',
  version: 'BIGINT',
  document: 'LONGTEXT',
  runId: 'VARCHAR(64)',
  committedAt: 'DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)',
};
