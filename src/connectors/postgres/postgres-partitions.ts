// Declaratively partitioned targets. A table named in the destination's `partitions` is created PARTITION BY RANGE
// (by day, month or year of a date/timestamp column) or LIST (one partition per value); before staged rows move into
// it, the partitions they need are created — from the staged rows themselves, so every disposition shares one path.
// Values reach the DDL only through format('%L') on the server: nothing from the data is spliced into SQL by hand.
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { z } from 'zod';
import type { ColumnType } from '../../core/types.js';
import { quoteIdent } from '../sql/quote.js';
import { derivedName, qualified } from './postgres-ddl.js';
import type { TableRef } from './postgres-ddl.js';
import { pgType as pgTypeOf } from './postgres-types.js';

export const partitionSpec = z.strictObject({
  column: z.string().min(1).describe('Partition key column.'),
  by: z.enum(['day', 'month', 'year', 'list'])
    .describe('`day`, `month`, `year`: RANGE partitions of a date or timestamp column; `list`: one partition per distinct value.'),
});
export type PartitionSpec = z.output<typeof partitionSpec>;

/** The clause after a partitioned table's column list. */
export const partitionClause = (p: PartitionSpec): string =>
  `PARTITION BY ${p.by === 'list' ? 'LIST' : 'RANGE'} (${quoteIdent(p.column)})`;

type Queryable = Pick<pg.ClientBase, 'query'>;

/** Create the partitions the rows of `stage` need in `target` (idempotent). Returns how many statements ran. */
export async function ensurePartitions(
  db: Queryable, target: TableRef, stage: TableRef, p: PartitionSpec, type: ColumnType,
): Promise<number> {
  const col = quoteIdent(p.column);
  const pgType = pgTypeOf(type);
  const name = (suffix: string) => derivedName(target.table, suffix);
  const ddl: { name: string; sql: string; params: unknown[] }[] = [];
  if (p.by === 'list') {
    const r = await db.query<{ v: string | null }>(`SELECT DISTINCT ${col}::text AS v FROM ${qualified(stage)}`);
    for (const { v } of r.rows) {
      // A readable name where the value allows it, and a hash so two values never share one.
      const slug = v === null ? 'null' : `${v.toLowerCase().replace(/[^a-z0-9]+/g, '_').slice(0, 20)}_${createHash('sha1').update(v).digest('hex').slice(0, 6)}`;
      ddl.push(v === null
        ? { name: name('_p_null'), sql: `format('CREATE TABLE IF NOT EXISTS %I.%I PARTITION OF %I.%I FOR VALUES IN (NULL)', $1::text, $2::text, $3::text, $4::text)`, params: [] }
        : { name: name(`_p_${slug}`), sql: `format('CREATE TABLE IF NOT EXISTS %I.%I PARTITION OF %I.%I FOR VALUES IN (%L)', $1::text, $2::text, $3::text, $4::text, $5::${pgType})`, params: [v] });
    }
  } else {
    const r = await db.query<{ lo: string | null; hi: string | null; tag: string | null }>(
      `SELECT DISTINCT date_trunc('${p.by}', ${col})::${pgType}::text AS lo,
         (date_trunc('${p.by}', ${col}) + interval '1 ${p.by}')::${pgType}::text AS hi,
         to_char(date_trunc('${p.by}', ${col}), '${p.by === 'year' ? 'YYYY' : p.by === 'month' ? 'YYYY_MM' : 'YYYY_MM_DD'}') AS tag
       FROM ${qualified(stage)}`);
    for (const { lo, hi, tag } of r.rows) {
      // Range partitions cannot hold NULL: a DEFAULT partition takes those rows.
      ddl.push(lo === null
        ? { name: name('_p_default'), sql: `format('CREATE TABLE IF NOT EXISTS %I.%I PARTITION OF %I.%I DEFAULT', $1::text, $2::text, $3::text, $4::text)`, params: [] }
        : { name: name(`_p${tag}`), sql: `format('CREATE TABLE IF NOT EXISTS %I.%I PARTITION OF %I.%I FOR VALUES FROM (%L) TO (%L)', $1::text, $2::text, $3::text, $4::text, $5::${pgType}, $6::${pgType})`, params: [lo, hi] });
    }
  }
  for (const d of ddl) {
    const r = await db.query<{ sql: string }>(`SELECT ${d.sql} AS sql`, [target.schema, d.name, target.schema, target.table, ...d.params]);
    await db.query(r.rows[0].sql);
  }
  return ddl.length;
}
