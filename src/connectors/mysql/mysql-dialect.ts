// MySQL/MariaDB as the dialect-neutral SQL helpers see it, and its state table column types.
import type { SqlDialect } from '../sql/sql-dialect.js';
import { QUESTION_MARK } from '../sql/sql-dialect.js';
import type { StateColumnTypes } from '../sql/state-statements.js';

export const MYSQL_DIALECT: SqlDialect = { quoteChar: '`', param: QUESTION_MARK };

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
