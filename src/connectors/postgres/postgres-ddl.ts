// Table introspection and DDL that keep a PostgreSQL table in step with a stream's schema: create, add columns,
// widen. Names are cut to PostgreSQL's 63 bytes here, since the server would cut them silently and a lookup by the
// uncut name would then miss.
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { type ColumnType, withDigits } from '../../core/types.js';
import { INT_RANGES, type ColumnLimit, widerDecimal } from '../sql/column-limits.js';
import { quoteIdent, quoteQualified } from '../sql/quote.js';
import { pgType, widening } from './postgres-types.js';

export const MAX_IDENT_BYTES = 63;

type Queryable = Pick<pg.ClientBase, 'query'>;

/** A name cut to 63 bytes of UTF-8 without splitting a character. */
export function fitIdent(name: string): string {
  if (Buffer.byteLength(name) <= MAX_IDENT_BYTES) return name;
  let out = '';
  let bytes = 0;
  for (const ch of name) {
    const b = Buffer.byteLength(ch);
    if (bytes + b > MAX_IDENT_BYTES) break;
    out += ch;
    bytes += b;
  }
  return out;
}

/**
 * `<table><suffix>` within 63 bytes. A long table name is cut and given a short hash, so the staging table of a
 * 63-byte name can never be the target itself.
 */
export function derivedName(table: string, suffix: string): string {
  const name = table + suffix;
  if (Buffer.byteLength(name) <= MAX_IDENT_BYTES) return name;
  const hash = createHash('sha1').update(table).digest('hex').slice(0, 8);
  return fitIdent(table.slice(0, MAX_IDENT_BYTES - suffix.length - 9)) + '_' + hash + suffix;
}

export interface TableRef {
  /** `pg_temp` for a session's temporary table. */
  schema: string;
  table: string;
}

export const qualified = (t: TableRef): string => quoteQualified([t.schema, t.table]);

export interface WantedColumn {
  name: string;
  type: ColumnType;
  precision?: number;
  scale?: number;
}

export interface TableColumn {
  name: string;
  typname: string;
  /** The type as the table declares it, modifiers included: `numeric(10,2)`, `character varying(20)`. */
  declared: string;
  /** pg_type.typtype: `b` base, `e` enum, `d` domain, `c` composite, … */
  typtype: string;
}

export async function describeTable(db: Queryable, t: TableRef): Promise<TableColumn[]> {
  const r = await db.query<TableColumn>(
    `SELECT a.attname AS name, t.typname, t.typtype, format_type(a.atttypid, a.atttypmod) AS declared
     FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
     WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [qualified(t)],
  );
  return r.rows;
}

/** A column's PostgreSQL type as created: numeric(p,s) for a declared decimal(p,s). */
const pgColumnType = (c: WantedColumn): string => withDigits(c, pgType, (p, s) => `numeric(${p},${s})`);

export interface EnsureOptions {
  /** Raw column definitions added after the wanted ones (a staging sequence). */
  extra?: string[];
  /** Primary key columns, given at creation. */
  primaryKey?: string[];
  temp?: boolean;
  /** `PARTITION BY …`, given at creation (see postgres-partitions.ts). */
  partitionBy?: string;
  /**
   * A generated column the caller makes again before its load commits (the search column, postgres-search.ts):
   * dropped when a column widens, since PostgreSQL will not change the type of a column one is computed from.
   */
  regenerated?: string;
}

/** Create the table, or add missing columns and widen narrower ones. Returns the columns it has afterwards. */
export async function ensureTable(
  db: Queryable, t: TableRef, wanted: readonly WantedColumn[], opts: EnsureOptions = {},
): Promise<TableColumn[]> {
  const existing = await describeTable(db, t);
  const q = qualified(t);
  if (existing.length === 0) {
    const defs = [
      ...wanted.map((c) => `${quoteIdent(c.name)} ${pgColumnType(c)}`),
      ...(opts.extra ?? []),
      ...(opts.primaryKey?.length ? [`PRIMARY KEY (${opts.primaryKey.map((k) => quoteIdent(k)).join(', ')})`] : []),
    ];
    await db.query(opts.temp ? `CREATE TEMP TABLE ${quoteIdent(t.table)} (${defs.join(', ')})`
      : `CREATE TABLE ${q} (${defs.join(', ')})${opts.partitionBy ? ` ${opts.partitionBy}` : ''}`);
    return describeTable(db, t);
  }
  const byName = new Map(existing.map((c) => [c.name, c]));
  const alters: string[] = [];
  for (const c of wanted) {
    const have = byName.get(c.name);
    if (!have) {
      alters.push(`ADD COLUMN ${quoteIdent(c.name)} ${pgColumnType(c)}`);
      continue;
    }
    const wider = widerDecimal(have.declared, c, 1000);
    const to = widening(have.typname, c.type) ?? (wider && `numeric(${wider.precision},${wider.scale})`);
    // No cast turns an array into jsonb; to_jsonb does.
    const using = to === 'jsonb' && have.typname.startsWith('_') ? `to_jsonb(${quoteIdent(c.name)})` : `${quoteIdent(c.name)}::${to}`;
    if (to) alters.push(`ALTER COLUMN ${quoteIdent(c.name)} TYPE ${to} USING ${using}`);
  }
  if (alters.length === 0) return existing;
  if (opts.regenerated !== undefined && byName.has(opts.regenerated) && alters.some((a) => a.startsWith('ALTER COLUMN'))) {
    alters.unshift(`DROP COLUMN ${quoteIdent(opts.regenerated)}`);
  }
  // One ALTER TABLE: several widenings rewrite the table once, not once each.
  await db.query(`ALTER TABLE ${q} ${alters.join(', ')}`);
  return describeTable(db, t);
}

/** Whether a unique index (or primary key) covers exactly these columns, which ON CONFLICT needs. */
export async function hasUniqueKey(db: Queryable, t: TableRef, columns: readonly string[]): Promise<boolean> {
  const r = await db.query<{ ok: boolean }>(
    `SELECT EXISTS (
       SELECT 1 FROM pg_index i
       WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
         AND (SELECT array_agg(a.attname::text ORDER BY a.attname::text COLLATE "C") FROM pg_attribute a
              WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)) = (SELECT array_agg(c ORDER BY c COLLATE "C") FROM unnest($2::text[]) c)
     ) AS ok`,
    [qualified(t), columns],
  );
  return r.rows[0].ok;
}

/** What a column as declared refuses (../sql/column-limits.ts): numeric(p,s), character varying(n), character(n), smallint. */
export function pgColumnLimit(declared: string): ColumnLimit {
  if (declared.endsWith('[]')) return { ...pgColumnLimit(declared.slice(0, -2)), elements: true };
  const numeric = /^numeric\((\d+),(\d+)\)$/.exec(declared);
  if (numeric) return { decimal: { precision: Number(numeric[1]), scale: Number(numeric[2]) } };
  const chars = /^(?:character varying|character)\((\d+)\)$/.exec(declared);
  if (chars) return { maxChars: Number(chars[1]) };
  // An integer column holds every `integer` value, and one a `bigint` needs is widened to bigint by the load.
  if (declared === 'smallint') return { range: INT_RANGES.smallint };
  return {};
}
