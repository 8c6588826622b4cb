// SQLite as the dialect-neutral SQL helpers see it, its state table column types, and identifier quoting.
import { quoteIdent } from '../sql/quote.js';
import type { SqlDialect } from '../sql/sql-dialect.js';
import { QUESTION_MARK } from '../sql/sql-dialect.js';
import type { StateColumnTypes } from '../sql/state-statements.js';

export const SQLITE_DIALECT: SqlDialect = { quoteChar: '"', param: QUESTION_MARK };

export const q = (name: string): string => quoteIdent(name);

/** SQLite has no identifier length limit worth the name; this keeps derived names readable. */
export const SQLITE_MAX_IDENTIFIER = 255;

export const SQLITE_STATE_TYPES: StateColumnTypes = {
  name: 'TEXT',
  version: 'INTEGER',
  document: 'TEXT',
  runId: 'TEXT',
  committedAt: "TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
};
