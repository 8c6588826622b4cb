// Table introspection and DDL for SQLite: create a table with its primary key, add missing columns, and widen a
// column by rebuilding the table (SQLite cannot change a column's type in place). Every call is synchronous and
// runs inside the caller's transaction, so a rebuild is all-or-nothing.
import type { SqliteDatabase } from '../../core/sqlite-driver.js';
import { type ColumnType, withDigits } from '../../core/types.js';
import { q } from './sqlite-dialect.js';
import { sqliteType, sqliteWidening } from './sqlite-types.js';

export interface WantedColumn {
  name: string;
  type: ColumnType;
  precision?: number;
  scale?: number;
}

export interface TableColumn {
  name: string;
  declared: string;
  /** Position in the primary key, 1-based; 0 when not part of it. */
  pk: number;
}

/** `schema` is `main` or `temp`. Empty when the table does not exist. */
export function describeTable(db: SqliteDatabase, schema: string, table: string): TableColumn[] {
  const rows = db.prepare(`SELECT name, type, pk FROM pragma_table_info(?, ?)`).all(table, schema) as { name: string; type: string; pk: number }[];
  return rows.map((r) => ({ name: r.name, declared: r.type, pk: r.pk }));
}

export const primaryKeyOf = (cols: readonly TableColumn[]): string[] =>
  cols.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.name);

const fold = (s: string): string => s.toLowerCase();

const createSql = (
  schema: string, table: string, defs: readonly { name: string; declared: string }[], pk: readonly string[], extra: readonly string[] = [],
): string =>
  `CREATE TABLE ${q(schema)}.${q(table)} (${[
    ...defs.map((d) => `${q(d.name)}${d.declared ? ` ${d.declared}` : ''}${pk.some((k) => fold(k) === fold(d.name)) ? ' NOT NULL' : ''}`),
    ...extra,
    ...(pk.length ? [`PRIMARY KEY (${pk.map(q).join(', ')})`] : []),
  ].join(', ')})`;

export interface EnsureOptions {
  primaryKey: readonly string[];
  /** Column definitions (SQL) added when the table is created: a staging table's write sequence. */
  extra?: readonly string[];
}

export function ensureTable(db: SqliteDatabase, schema: string, table: string, wanted: readonly WantedColumn[], o: EnsureOptions): void {
  const existing = describeTable(db, schema, table);
  // Staging is typed like the target: better-sqlite3 binds every JS number as a REAL, and only a column's affinity
  // turns 6.0 back into the integer 6 (untyped staging would hand the text column of a widened target '6.0').
  // A declared decimal(p,s) keeps its digits in the declaration; the TEXT affinity keeps the values exact.
  const declared = (c: WantedColumn): string => withDigits(c, sqliteType, (p, s) => `DECIMAL TEXT(${p},${s})`);
  if (existing.length === 0) {
    db.exec(createSql(schema, table, wanted.map((c) => ({ name: c.name, declared: declared(c) })), o.primaryKey, o.extra));
    return;
  }
  const byName = new Map(existing.map((c) => [fold(c.name), c]));
  let rebuild = false;
  const target = existing.map((c) => ({ name: c.name, declared: c.declared }));
  for (const c of wanted) {
    const have = byName.get(fold(c.name));
    if (!have) {
      db.exec(`ALTER TABLE ${q(schema)}.${q(table)} ADD COLUMN ${q(c.name)}${declared(c) ? ` ${declared(c)}` : ''}`);
      target.push({ name: c.name, declared: declared(c) });
      continue;
    }
    const to = sqliteWidening(have.declared, c.type);
    if (to) {
      target.find((t) => t.name === have.name)!.declared = to;
      rebuild = true;
    }
  }
  if (rebuild) rebuildTable(db, schema, table, target, primaryKeyOf(existing));
}

/** The documented way to change column types: new table, copy, drop, rename — in the caller's transaction. */
function rebuildTable(
  db: SqliteDatabase, schema: string, table: string, defs: readonly { name: string; declared: string }[], pk: readonly string[],
): void {
  const tmp = `${table}__sluice_rebuild`;
  const cols = defs.map((d) => q(d.name)).join(', ');
  db.exec(`DROP TABLE IF EXISTS ${q(schema)}.${q(tmp)}`);
  db.exec(createSql(schema, tmp, defs, pk));
  db.exec(`INSERT INTO ${q(schema)}.${q(tmp)} (${cols}) SELECT ${cols} FROM ${q(schema)}.${q(table)}`);
  db.exec(`DROP TABLE ${q(schema)}.${q(table)}`);
  db.exec(`ALTER TABLE ${q(schema)}.${q(tmp)} RENAME TO ${q(table)}`);
}
