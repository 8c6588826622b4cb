// Table introspection and the DDL that keeps a table in step with a schema: create it (with the primary key when
// the load needs one), add missing columns, widen narrower ones. DDL commits implicitly in MySQL, so callers only run
// it while no rows are pending in an open transaction (see mysql-load.ts).
import type { PoolConnection } from 'mysql2/promise';
import { RunError } from '../../core/errors.js';
import { type ColumnType, withDigits } from '../../core/types.js';
import { INT_RANGES, type ColumnLimit, widerDecimal } from '../sql/column-limits.js';
import { quoteIdent } from '../sql/quote.js';
import { columnDdlType, mysqlWidening } from './mysql-types.js';

export const q = (name: string): string => quoteIdent(name, '`');

const SUPPLEMENTARY = /[\u{10000}-\u{10FFFF}]/gu;

/**
 * The name MySQL can store for `name`. Identifiers are utf8mb3 in MySQL and MariaDB: characters outside the Basic
 * Multilingual Plane (emoji) cannot appear even quoted, so each becomes `_<hex>_` (`🎉` → `_1f389_`): readable,
 * stable across runs, and distinct for distinct characters. Cut to 64 characters like any name.
 */
export function mysqlName(name: string): string {
  if (!SUPPLEMENTARY.test(name)) return name;
  SUPPLEMENTARY.lastIndex = 0;
  return name.replace(SUPPLEMENTARY, (c) => `_${c.codePointAt(0)!.toString(16)}_`).slice(0, 64);
}

export interface WantedColumn {
  name: string;
  type: ColumnType;
  precision?: number;
  scale?: number;
}

export interface TableColumn {
  name: string;
  /** As SHOW COLUMNS prints it: `int(11)`, `longtext`, `decimal(38,9)`. */
  type: string;
  /** A text column's collation (`utf8mb4_bin`, `utf8mb3_general_ci`); null for other types. */
  collation: string | null;
}

/** A column's MySQL type as created: DECIMAL(p,s) for a declared decimal(p,s) (MySQL's holds at most 65 digits, 30 after the point). */
function mysqlColumnType(c: WantedColumn, isKey: boolean): string {
  if (c.type === 'decimal' && c.precision !== undefined && (c.precision > 65 || (c.scale ?? 0) > 30)) {
    throw new RunError(`column "${c.name}": MySQL's DECIMAL holds at most 65 digits, 30 after the point, not decimal(${c.precision},${c.scale}); declare it text`);
  }
  return withDigits(c, (t) => columnDdlType(t, isKey), (p, s) => `DECIMAL(${p},${s})`);
}

/** Columns in table order; an empty list when the table does not exist. Works for TEMPORARY tables too. */
export async function describeTable(conn: PoolConnection, table: string): Promise<TableColumn[]> {
  try {
    const [rows] = await conn.query({ sql: `SHOW FULL COLUMNS FROM ${q(table)}`, rowsAsArray: false });
    return (rows as { Field: string; Type: string; Collation: string | null }[]).map((r) => ({ name: r.Field, type: r.Type, collation: r.Collation }));
  } catch (e) {
    if ((e as { errno?: number }).errno === 1146) return [];
    throw e;
  }
}

/** Column names of the table's primary key, in key order (empty when it has none). */
export async function primaryKeyOf(conn: PoolConnection, table: string): Promise<string[]> {
  const [rows] = await conn.query(`SHOW KEYS FROM ${q(table)} WHERE Key_name = 'PRIMARY'`);
  return (rows as { Column_name: string; Seq_in_index: number }[])
    .sort((a, b) => a.Seq_in_index - b.Seq_in_index).map((r) => r.Column_name);
}

const fold = (s: string): string => s.toLowerCase();

export interface EnsureOptions {
  /** Primary key columns, used only when the table is created. */
  primaryKey: readonly string[];
  /**
   * Create a plain index of this name on the key columns instead of a PRIMARY KEY (an scd2 table holds several
   * versions per key). The key columns are still typed to be indexable and NOT NULL.
   */
  keyIndex?: string;
  /** Column definitions (SQL) added when the table is created: a staging table's write sequence. */
  extra?: readonly string[];
  temporary?: boolean;
}

/** Create the table or evolve it; returns its columns afterwards. */
export async function ensureTable(
  conn: PoolConnection, table: string, wanted: readonly WantedColumn[], o: EnsureOptions,
): Promise<TableColumn[]> {
  const existing = await describeTable(conn, table);
  const keys = new Set(o.primaryKey.map(fold));
  if (existing.length === 0) {
    const defs = wanted.map((c) => `${q(c.name)} ${mysqlColumnType(c, keys.has(fold(c.name)))}${keys.has(fold(c.name)) ? ' NOT NULL' : ''}`);
    defs.push(...o.extra ?? []);
    if (o.primaryKey.length) defs.push(`${o.keyIndex === undefined ? 'PRIMARY KEY' : `INDEX ${q(o.keyIndex)}`} (${o.primaryKey.map(q).join(', ')})`);
    await conn.query(`CREATE ${o.temporary ? 'TEMPORARY ' : ''}TABLE ${q(table)} (${defs.join(', ')})
      ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`);
    return describeTable(conn, table);
  }
  const byName = new Map(existing.map((c) => [fold(c.name), c]));
  const alters: string[] = [];
  for (const c of wanted) {
    const have = byName.get(fold(c.name));
    const isKey = keys.has(fold(c.name));
    if (!have) {
      alters.push(`ADD COLUMN ${q(c.name)} ${mysqlColumnType(c, false)} NULL`);
      continue;
    }
    const wider = widerDecimal(have.type, c, 65);
    const to = mysqlWidening(have.type, c.type, isKey) ?? (wider && `DECIMAL(${wider.precision},${wider.scale})`);
    if (to) alters.push(`MODIFY COLUMN ${q(have.name)} ${to}${isKey ? ' NOT NULL' : ' NULL'}`);
  }
  if (alters.length === 0) return existing;
  // One ALTER for all changes: MySQL may rebuild the table once instead of once per column.
  await conn.query(`ALTER TABLE ${q(table)} ${alters.join(', ')}`);
  return describeTable(conn, table);
}

/**
 * A plain index `name` on one column, unless the table has an index of that name (MySQL has no CREATE INDEX IF NOT
 * EXISTS). TEXT and BLOB columns can only be indexed by a prefix: 191 characters, as for keys (see mysql-types.ts);
 * equality still compares whole values, the prefix only narrows the rows to compare. DDL: commits on its own.
 */
export async function ensureIndex(conn: PoolConnection, table: string, name: string, column: string): Promise<void> {
  const [indexes] = await conn.query(`SHOW INDEX FROM ${q(table)} WHERE Key_name = ?`, [name]);
  if ((indexes as unknown[]).length > 0) return;
  const type = (await describeTable(conn, table)).find((c) => fold(c.name) === fold(column))?.type ?? '';
  const prefix = /text|blob/i.test(type) ? '(191)' : '';
  await conn.query(`CREATE INDEX ${q(name)} ON ${q(table)} (${q(column)}${prefix})`);
}

/** What a column as declared refuses (../sql/column-limits.ts): DECIMAL(p,s), (VAR)CHAR(n), small integers, utf8mb3. */
export function mysqlColumnLimit(c: TableColumn): ColumnLimit {
  const t = c.type.toLowerCase();
  const limit: ColumnLimit = {};
  const decimal = /^(?:decimal|numeric)\((\d+),(\d+)\)/.exec(t);
  if (decimal) limit.decimal = { precision: Number(decimal[1]), scale: Number(decimal[2]) };
  const chars = /^(?:varchar|char)\((\d+)\)/.exec(t);
  if (chars) limit.maxChars = Number(chars[1]);
  // INT holds every `integer` value (one a `bigint` needs is widened to BIGINT by the load); TINYINT(1) is a boolean.
  const int = /^(tinyint|smallint|mediumint|int)\b(\(\d+\))?( unsigned)?/.exec(t);
  if (int && (int[1] !== 'int' || int[3]) && !(int[1] === 'tinyint' && int[2] === '(1)')) {
    limit.range = INT_RANGES[`${int[3] ? 'u' : ''}${int[1]}` as keyof typeof INT_RANGES];
  }
  if (c.collation && /^utf8(mb3)?_/i.test(c.collation)) limit.bmpOnly = true;
  return limit;
}
