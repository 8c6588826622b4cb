// MySQL/MariaDB source. A stream reads a table (or a custom query) in keyset pages ordered by (cursor, primary key),
// each page one short query, so memory is bounded by the batch size and no transaction stays open. A table without
// any key, or a cursor no index leads with (each page would sort the table), is streamed in one ordered pass with
// backpressure instead. Values arrive in lossless forms (see canonicalRows in mysql-types.ts).
import type { FieldPacket, Pool, PoolConnection } from 'mysql2/promise';
import type { RunContext, Source, SourceSlice, StreamConfig } from '../../core/connector.js';
import { RunError } from '../../core/errors.js';
import type { Batch, ColumnType, StreamState } from '../../core/types.js';
import { keysetFrom, keysetPage, watermarkOf } from '../sql/keyset.js';
import type { KeysetDialect } from '../sql/keyset.js';
import { keysetBatches, keysetCheckpoint, resumePosition, stateValue } from '../sql/keyset-batches.js';
import { type PassOptions, passBatches } from '../sql/pass-batches.js';
import { ResultColumns } from '../sql/result-columns.js';
import { rangeCount, rangeKey, rangeRead, rangeSlices } from '../sql/key-slices.js';
import { catalogTypes, planRead } from '../sql/read-plan.js';
import type { CatalogColumn, ReadPlan } from '../sql/read-plan.js';
import { splitQualified } from '../sql/qualified-name.js';
import { quoteQualified } from '../sql/quote.js';
import { createMysqlPool, mysqlConnect, mysqlError } from './mysql-connection.js';
import type { MysqlConnectionConfig } from './mysql-options.js';
import { q } from './mysql-tables.js';
import { canonicalRows } from './mysql-types.js';

export interface MysqlSourceConfig extends Partial<MysqlConnectionConfig> {
  streams?: StreamConfig[];
}

export interface MysqlStreamOptions {
  table?: string;
  query?: string;
}

// MariaDB does not turn row-value comparisons into index ranges; the expanded OR form it does.
const KEYSET_DIALECT: KeysetDialect = { quote: q, placeholder: () => '?', rowValues: false };

const UNSIGNED = 32;
const BINARY_CHARSET = 63;

/** Logical type of a result column from its wire metadata (works for tables and custom queries alike). */
export function logicalOfField(f: FieldPacket): ColumnType {
  const flags = typeof f.flags === 'number' ? f.flags : 0;
  const unsigned = (flags & UNSIGNED) !== 0;
  if (f.extendedFormat === 'json') return 'json';
  if (f.extendedTypeName === 'uuid') return 'uuid';
  switch (f.columnType) {
    case 1: return f.columnLength === 1 ? 'boolean' : 'integer';
    case 2: case 9: case 13: return 'integer';
    case 3: return unsigned ? 'bigint' : 'integer';
    case 8: return unsigned ? 'decimal' : 'bigint';
    case 0: case 246: return 'decimal';
    case 4: case 5: return 'double';
    case 7: case 12: return 'timestamp';
    case 10: case 14: return 'date';
    case 16: return f.columnLength === 1 ? 'boolean' : 'binary';
    case 245: return 'json';
    case 249: case 250: case 251: case 252: case 253: case 254:
      return f.characterSet === BINARY_CHARSET ? 'binary' : 'text';
    default: return 'text';
  }
}

/** A key value as the state holds it (canonical form) → the form MySQL compares with the column. */
function keyParam(type: ColumnType | undefined, v: unknown): unknown {
  if (type === 'timestamp' && typeof v === 'string' && v.endsWith('Z')) return `${v.slice(0, 10)} ${v.slice(11, -1)}`;
  if (type === 'boolean' && typeof v === 'boolean') return v ? 1 : 0;
  return v;
}

export class MysqlSource implements Source {
  readonly type = 'mysql';
  private pool: Pool | undefined;

  constructor(private readonly config: MysqlSourceConfig) {}

  async connect(ctx: RunContext): Promise<void> {
    if (this.pool) return;
    this.pool = createMysqlPool(this.config, ctx.baseDir);
  }

  /** Types are known before the first row, so the engine treats them as contracts (DECIMAL stays exact). */
  async columns(stream: StreamConfig): Promise<Record<string, ColumnType>> {
    const conn = await mysqlConnect(this.requirePool(), this.config);
    try {
      return catalogTypes((await this.describe(conn, stream)).columns);
    } finally {
      conn.release();
    }
  }

  async check(ctx: RunContext): Promise<void> {
    await this.connect(ctx);
    await this.requirePool().query('SELECT 1');
  }

  /** A large table read whole: ranges of its integer key, each a task of its own on workers (sql/key-slices.ts). */
  async slices(stream: StreamConfig): Promise<SourceSlice[] | undefined> {
    const key = rangeKey(stream as StreamConfig & MysqlStreamOptions);
    if (key === undefined) return undefined;
    const conn = await mysqlConnect(this.requirePool(), this.config);
    try {
      const [db, table] = tableParts(stream);
      // InnoDB's estimate (information_schema); a count where it has none.
      const [est] = await conn.query('SELECT TABLE_ROWS AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ?', [db ?? null, table]);
      let n = Number((est as { n: unknown }[])[0]?.n ?? 0);
      if (!n) n = Number(((await conn.query(`SELECT count(*) AS n FROM ${fromClause(stream)}`))[0] as { n: unknown }[])[0].n);
      const parts = rangeCount(stream, n);
      if (parts < 2) return undefined;
      const [range] = await conn.query(`SELECT CAST(min(${q(key)}) AS CHAR) AS lo, CAST(max(${q(key)}) AS CHAR) AS hi FROM ${fromClause(stream)}`);
      const { lo, hi } = (range as { lo: string | null; hi: string | null }[])[0];
      return rangeSlices(key, lo, hi, parts);
    } catch (e) {
      throw mysqlError(e, `stream ${stream.name}: planning key ranges of ${describeFrom(stream)} failed`, stream.name);
    } finally {
      conn.release();
    }
  }

  async *read(stream: StreamConfig, state: StreamState | undefined, ctx: RunContext): AsyncGenerator<Batch> {
    // One key range of a split stream (sql/key-slices.ts): nothing left once it was read to its end.
    const range = ctx.slice?.keys && rangeRead(state, ctx.slice.keys, KEYSET_DIALECT);
    if (ctx.slice?.keys && !range) return;
    const conn = await mysqlConnect(this.requirePool(), this.config);
    try {
      const { columns, primaryKey } = await this.describe(conn, stream);
      const plan = planRead(stream, columns, primaryKey);
      const from = fromClause(stream);
      if (plan.keys.length === 0) {
        // The whole relation in one pass: only its end is a checkpoint.
        yield* this.streamed(conn, stream, `SELECT * FROM ${from}`, [], ctx, (last) => (last ? undefined : { version: 1 }));
        return;
      }
      if (plan.hasCursor && !(await this.seeks(conn, stream, plan.keys[0]))) {
        // Keyset pages on an unindexed cursor would each sort the table: one ordered pass from the same position,
        // each batch checkpointing its last row as a page would.
        const after = resumePosition(state, plan.keys, true)?.map((v, i) => keyParam(plan.types.get(plan.keys[i]), v));
        const page = keysetFrom(KEYSET_DIALECT, plan.keys, after, this.watermark(plan, state), [plan.keys[0]]);
        let keyIndexes: number[] | undefined;
        yield* this.streamed(conn, stream, `SELECT * FROM ${from} WHERE ${page.where} ORDER BY ${page.orderBy}`, page.params, ctx, (last, columns) => {
          if (!last) return undefined;
          keyIndexes ??= plan.keys.map((k) => columns.indexOf(k));
          return keysetCheckpoint(state, keyIndexes.map((i) => stateValue(last[i])), true);
        });
        return;
      }
      const resultColumns = new ResultColumns();
      // The columns the value fixes were made for: a new names array means new columns.
      let names: string[] | undefined;
      let canonical = canonicalRows([]);
      yield* keysetBatches({
        keys: plan.keys, hasCursor: plan.hasCursor, state, batchSize: ctx.batchSize, signal: ctx.signal,
        fetch: async (after, limit) => {
          const params = after?.map((v, i) => keyParam(plan.types.get(plan.keys[i]), v));
          const keyset = plan.hasCursor ? keysetFrom(KEYSET_DIALECT, plan.keys, params, this.watermark(plan, state), [plan.keys[0]]) : keysetPage(KEYSET_DIALECT, plan.keys, params);
          const page = range ? range.page(keyset) : keyset;
          const sql = `SELECT * FROM ${from}${page.where ? ` WHERE ${page.where}` : ''} ORDER BY ${page.orderBy} LIMIT ${limit}`;
          try {
            // Arrays, not objects: no object per row, and the engine reads them by position.
            const [result, fields] = await conn.query({ sql, rowsAsArray: true }, page.params);
            const f = fields as FieldPacket[];
            const columns = resultColumns.of(f);
            if (columns !== names) {
              names = columns;
              canonical = canonicalRows(f);
            }
            // Every catalog type in its canonical form, so the engine only checks the values.
            const values = result as unknown as unknown[][];
            canonical(values);
            return { columns, values, canonical: true };
          } catch (e) {
            throw mysqlError(e, `stream ${stream.name}: reading failed`, stream.name);
          }
        },
      });
    } finally {
      conn.release();
    }
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.end().catch(() => undefined);
  }

  /**
   * One streamed query with backpressure (mysql2 pauses the socket while the consumer lags), in batches. Each
   * batch's checkpoint comes from its last row (undefined: none), and the end's from `checkpointOf(undefined)`.
   */
  private async *streamed(
    conn: PoolConnection, stream: StreamConfig, sql: string, params: unknown[], ctx: RunContext,
    checkpointOf: PassOptions['checkpointOf'],
  ): AsyncGenerator<Batch> {
    // The promise wrapper has no streaming query; its underlying callback connection does.
    const core = conn.connection as unknown as import('mysql2').Connection;
    const query = core.query({ sql, values: params, rowsAsArray: true });
    let columns: string[] = [];
    let canonical = canonicalRows([]);
    query.on('fields', (fields: FieldPacket[]) => {
      columns = fields.map((f) => f.name);
      canonical = canonicalRows(fields);
    });
    try {
      yield* passBatches(query.stream({ highWaterMark: 1000 }) as AsyncIterable<unknown[]>, {
        size: ctx.batchSize, signal: ctx.signal, columns: () => columns, fix: (values) => canonical(values), canonical: true, checkpointOf,
      });
    } catch (e) {
      throw mysqlError(e, `stream ${stream.name}: reading failed`, stream.name);
    }
  }

  /** Whether the stream's table has an index leading with `column`, so that a keyset page is an index range. */
  /** The stored watermark as a parameter for the cursor column (a read without a position starts there). */
  private watermark(plan: ReadPlan, state: StreamState | undefined): unknown {
    const w = watermarkOf(state, plan.keys[0]);
    return w === null ? null : keyParam(plan.types.get(plan.keys[0]), w);
  }

  private async seeks(conn: PoolConnection, stream: StreamConfig, column: string): Promise<boolean> {
    if ((stream as StreamConfig & MysqlStreamOptions).query) return false;
    const [db, table] = tableParts(stream);
    try {
      const [found] = await conn.query(
        `SELECT 1 FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ?
         AND SEQ_IN_INDEX = 1 AND COLUMN_NAME = ? LIMIT 1`, [db ?? null, table, column]);
      return (found as unknown[]).length > 0;
    } catch (e) {
      throw mysqlError(e, `stream ${stream.name}: cannot read the indexes of ${describeFrom(stream)}`, stream.name);
    }
  }

  /** Column types from the wire metadata of an empty result, and the table's primary key from the catalog. */
  private async describe(conn: PoolConnection, stream: StreamConfig): Promise<{ columns: CatalogColumn[]; primaryKey: string[] }> {
    try {
      const [, fields] = await conn.query(`SELECT * FROM ${fromClause(stream)} LIMIT 0`);
      const columns = (fields as FieldPacket[]).map((f) => ({ name: f.name, type: logicalOfField(f) }));
      const opts = stream as StreamConfig & MysqlStreamOptions;
      if (opts.query) return { columns, primaryKey: [] };
      const [db, table] = tableParts(stream);
      const [keys] = await conn.query(
        `SELECT COLUMN_NAME AS name FROM information_schema.KEY_COLUMN_USAGE
         WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY'
         ORDER BY ORDINAL_POSITION`, [db ?? null, table]);
      return { columns, primaryKey: (keys as { name: string }[]).map((k) => k.name) };
    } catch (e) {
      throw mysqlError(e, `stream ${stream.name}: cannot read ${describeFrom(stream)}`, stream.name);
    }
  }

  private requirePool(): Pool {
    if (!this.pool) throw new RunError('the MySQL source is not connected');
    return this.pool;
  }
}

/** `table` as [database, table]: `shop.orders` names another database; default: the stream name. */
function tableParts(stream: StreamConfig): [string | undefined, string] {
  const parts = splitQualified((stream as StreamConfig & MysqlStreamOptions).table ?? stream.name);
  return parts.length > 1 ? [parts.slice(0, -1).join('.'), parts[parts.length - 1]] : [undefined, parts[0]];
}

function fromClause(stream: StreamConfig): string {
  const opts = stream as StreamConfig & MysqlStreamOptions;
  if (opts.query) return `(${opts.query}) AS ${q('_sluice_query')}`;
  return quoteQualified(tableParts(stream), '`');
}

const describeFrom = (stream: StreamConfig): string => {
  const opts = stream as StreamConfig & MysqlStreamOptions;
  return opts.query ? 'its query' : `table ${tableParts(stream).filter(Boolean).join('.')}`;
};
