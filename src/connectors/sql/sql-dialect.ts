// What the SQL helpers of this folder need to know about a dialect to write its statements: how identifiers are
// quoted and how parameters are written. Connectors pass one of these; nothing here runs a query, so the same
// statements serve synchronous drivers (better-sqlite3) and asynchronous ones (mysql2, pg).
import { quoteIdent } from './quote.js';

export interface SqlDialect {
  /** `"` (standard, SQLite, PostgreSQL) or `` ` `` (MySQL). */
  readonly quoteChar: string;
  /** The placeholder of the n-th parameter (1-based): `?` for MySQL and SQLite, `$n` for PostgreSQL. */
  param(n: number): string;
}

export const QUESTION_MARK = (): string => '?';

/** Quote one identifier in the dialect. */
export const ident = (d: SqlDialect, name: string): string => quoteIdent(name, d.quoteChar);

/** Collects parameter values while a statement is written, so placeholders and values never drift apart. */
export class Params {
  readonly values: unknown[] = [];
  constructor(private readonly dialect: SqlDialect) {}

  add(value: unknown): string {
    this.values.push(value);
    return this.dialect.param(this.values.length);
  }
}
