// Bulk writes through DuckDB's appender, one data chunk (≤ 2048 rows) at a time: one native call per column per
// chunk instead of one per value, which is what lets a load pass 400k rows/s. Also the table introspection and DDL
// that keep a table in step with a schema, shared by the warehouse destination and the Parquet file writer.
import { DuckDBDataChunk, VARCHAR, BIGINT } from '@duckdb/node-api';
import type { DuckDBConnection, DuckDBType, DuckDBValue } from '@duckdb/node-api';
import { RunError, errorMessage } from '../../core/errors.js';
import { type ColumnType, withDigits } from '../../core/types.js';
import { widerDecimal } from '../sql/column-limits.js';
import { quoteIdent, quoteQualified } from '../sql/quote.js';
import { DECIMAL_WIDTH, chunkType, decimalChunk, duckType, needsWidening } from './duckdb-types.js';
import type { Converter } from './duckdb-types.js';

/** DuckDB's vector size: the most rows one data chunk holds. */
const CHUNK_ROWS = 2048;

/** A table as DuckDB names it: catalog (database), schema, table. */
export interface TableRef {
  catalog: string;
  schema: string;
  table: string;
}

export const qualified = (t: TableRef): string => quoteQualified([t.catalog, t.schema, t.table]);

/** A column a table should have, in destination names and logical types. */
export interface WantedColumn {
  name: string;
  type: ColumnType;
  precision?: number;
  scale?: number;
}

export interface TableColumn {
  name: string;
  dataType: string;
}

/** Where each table column's value comes from: a row index, the load's sequence number, or nothing (NULL). */
export const SEQ = -2;
const NONE = -1;

interface PlanColumn {
  name: string;
  type: DuckDBType;
  index: number;
  convert: Converter;
}

export interface AppendPlan {
  table: TableRef;
  columns: PlanColumn[];
}

const fold = (s: string): string => s.toLowerCase();

/** A column's DuckDB type as created: DECIMAL(p,s) for a declared decimal(p,s) (DuckDB's DECIMAL holds at most 38 digits). */
export function duckColumnType(c: WantedColumn): string {
  if (c.type === 'decimal' && c.precision !== undefined && c.precision > DECIMAL_WIDTH) {
    throw new RunError(`column "${c.name}": DuckDB's DECIMAL holds at most ${DECIMAL_WIDTH} digits, not decimal(${c.precision},${c.scale}); declare it text`);
  }
  return withDigits(c, duckType, (p, s) => `DECIMAL(${p},${s})`);
}

export async function describeTable(conn: DuckDBConnection, t: TableRef): Promise<TableColumn[]> {
  // Lower-cased on both sides: DuckDB resolves unquoted and quoted names case-insensitively.
  const reader = await conn.runAndReadAll(
    `SELECT column_name, data_type FROM duckdb_columns()
     WHERE database_name = $1 AND lower(schema_name) = lower($2) AND lower(table_name) = lower($3)
     ORDER BY column_index`,
    [t.catalog, t.schema, t.table],
  );
  return reader.getRows().map((r) => ({ name: String(r[0]), dataType: String(r[1]) }));
}

/**
 * Create the table, or add missing columns and widen narrower ones. `extra` columns (e.g. a staging sequence)
 * are raw DDL types appended after the wanted ones at creation.
 */
export async function ensureTable(
  conn: DuckDBConnection, t: TableRef, wanted: readonly WantedColumn[], extra: readonly TableColumn[] = [],
): Promise<TableColumn[]> {
  const existing = await describeTable(conn, t);
  const q = qualified(t);
  if (existing.length === 0) {
    const defs = [
      ...wanted.map((c) => `${quoteIdent(c.name)} ${duckColumnType(c)}`),
      ...extra.map((c) => `${quoteIdent(c.name)} ${c.dataType}`),
    ];
    await conn.run(`CREATE ${t.catalog === 'temp' ? 'TEMP ' : ''}TABLE ${q} (${defs.join(', ')})`);
    return describeTable(conn, t);
  }
  const byName = new Map(existing.map((c) => [fold(c.name), c]));
  let changed = false;
  for (const c of [...wanted.map((w) => ({ name: w.name, logical: w.type, dataType: duckColumnType(w), declared: w })),
    ...extra.map((e) => ({ name: e.name, logical: undefined, dataType: e.dataType, declared: undefined }))]) {
    const have = byName.get(fold(c.name));
    if (!have) {
      await conn.run(`ALTER TABLE ${q} ADD COLUMN ${quoteIdent(c.name)} ${c.dataType}`);
      changed = true;
    } else if (c.logical && needsWidening(have.dataType, c.logical)) {
      await conn.run(`ALTER TABLE ${q} ALTER COLUMN ${quoteIdent(have.name)} SET DATA TYPE ${c.dataType}`);
      changed = true;
    } else if (c.declared && widerDecimal(have.dataType, c.declared, 38)) {
      const { precision, scale } = widerDecimal(have.dataType, c.declared, 38)!;
      await conn.run(`ALTER TABLE ${q} ALTER COLUMN ${quoteIdent(have.name)} SET DATA TYPE DECIMAL(${precision},${scale})`);
      changed = true;
    }
  }
  return changed ? describeTable(conn, t) : existing;
}

/**
 * Map the table's columns (in table order, as the appender wants them) to positions in the incoming rows.
 * Table columns the schema does not know get NULL; `seqColumn` gets the running sequence number.
 */
export function planAppend(
  t: TableRef, tableColumns: readonly TableColumn[], rowColumns: readonly WantedColumn[], seqColumn?: string,
): AppendPlan {
  const positions = new Map(rowColumns.map((c, i) => [fold(c.name), i]));
  const columns = tableColumns.map((tc): PlanColumn => {
    if (seqColumn !== undefined && fold(tc.name) === fold(seqColumn)) {
      return { name: tc.name, type: BIGINT, index: SEQ, convert: (v) => v as DuckDBValue };
    }
    const i = positions.get(fold(tc.name));
    if (i === undefined) return { name: tc.name, type: VARCHAR, index: NONE, convert: (v) => v as DuckDBValue };
    // A decimal goes at the column's own scale (a declared decimal(p,s), a table's DECIMAL(18,4)).
    const { type, convert } = rowColumns[i].type === 'decimal' ? decimalChunk(tc.dataType) : chunkType(rowColumns[i].type);
    return { name: tc.name, type, index: i, convert };
  });
  return { table: t, columns };
}

/**
 * Append `rows` through one appender and close it, so nothing stays buffered between calls (memory is bounded
 * by one write) and a later ALTER TABLE sees every row. Returns the next sequence number.
 */
export async function appendRows(
  conn: DuckDBConnection, plan: AppendPlan, rows: readonly unknown[][], seqStart = 0n,
): Promise<bigint> {
  const appender = await conn.createAppender(plan.table.table, plan.table.schema, plan.table.catalog);
  const types = plan.columns.map((c) => c.type);
  let seq = seqStart;
  try {
    for (let start = 0; start < rows.length; start += CHUNK_ROWS) {
      const n = Math.min(CHUNK_ROWS, rows.length - start);
      const chunk = DuckDBDataChunk.create(types, n);
      for (let ci = 0; ci < plan.columns.length; ci++) {
        const col = plan.columns[ci];
        const vector = chunk.getColumnVector(ci);
        if (col.index === SEQ) {
          for (let r = 0; r < n; r++) vector.setItem(r, seq + BigInt(r));
        } else if (col.index === NONE) {
          for (let r = 0; r < n; r++) vector.setItem(r, null);
        } else {
          for (let r = 0; r < n; r++) {
            const v = rows[start + r][col.index];
            try {
              vector.setItem(r, v === null || v === undefined ? null : col.convert(v));
            } catch (e) {
              throw new RunError(`column ${JSON.stringify(col.name)}: cannot store ${preview(v)}: ${errorMessage(e)}`);
            }
          }
        }
        vector.flush();
      }
      appender.appendDataChunk(chunk);
      seq += BigInt(n);
    }
    appender.closeSync();
  } catch (e) {
    try {
      appender.clear();
      appender.closeSync();
    } catch {
      // The load is failing already; the transaction rollback discards whatever the appender held.
    }
    if (e instanceof RunError) throw e;
    throw new RunError(`appending to ${qualified(plan.table)} failed: ${errorMessage(e)}`, undefined, { cause: e });
  }
  return seq;
}

const preview = (v: unknown): string => {
  const s = typeof v === 'string' ? JSON.stringify(v) : typeof v === 'bigint' ? `${v}n` : String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
};
