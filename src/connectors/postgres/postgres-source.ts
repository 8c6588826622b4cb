// The `postgres` source. A stream is a table or a custom query, read on one pooled connection:
//   no cursor   the whole relation through a server-side cursor (pg-cursor), `batchSize` rows per fetch;
//   cursor+key  keyset pages `WHERE (cursor, key…) > (last…) ORDER BY cursor, key… LIMIT batchSize`, each batch
//               checkpointing the last tuple, so a resumed or later run continues exactly after it;
//   cursor only one ordered server-side cursor from the stored watermark (inclusive: rows sharing it are read again).
// Value parsers (postgres-types.ts) give canonical-friendly values, and connect() declares each stream's column
// types from the catalog, so nothing is inferred and numeric, int8 and timestamps keep their precision.
import pg from 'pg';
import Cursor from 'pg-cursor';
import type { RunContext, Source, StreamConfig } from '../../core/connector.js';
import { RunError } from '../../core/errors.js';
import type { Batch, ColumnType, Row, StreamState } from '../../core/types.js';
import { keysetPage } from '../sql/keyset.js';
import type { KeysetDialect } from '../sql/keyset.js';
import { schemaAndName } from '../sql/qualified-name.js';
import { quoteIdent, quoteQualified } from '../sql/quote.js';
import { connectClient, createPool, pgError } from './postgres-connection.js';
import type { PostgresSourceConfig, PostgresStreamOptions } from './postgres-spec.js';
import { logicalOfOid, sourceTypes } from './postgres-types.js';
import { readParallel } from './postgres-parallel.js';

const PG_DIALECT: KeysetDialect = { quote: (n) => quoteIdent(n), placeholder: (n) => `$${n}`, rowValues: true };

/** Where an incremental read stopped: the last (cursor, key…) tuple committed, as query parameters. */
interface KeysetPosition {
  cursor_value: unknown;
  pk_values: unknown[];
}

export class PostgresSource implements Source {
  readonly type = 'postgres';
  private pool: pg.Pool | undefined;

  constructor(private readonly config: PostgresSourceConfig) {}

  async connect(ctx: RunContext): Promise<void> {
    if (this.pool) return;
    this.pool = createPool(this.config, ctx.baseDir, sourceTypes(pg.types));
  }

  async check(ctx: RunContext): Promise<void> {
    await this.connect(ctx);
    const client = await connectClient(this.requirePool(), this.config);
    try {
      await client.query('SELECT 1');
    } finally {
      client.release();
    }
  }

  /** Logical types of a stream's columns, from the server's description of the relation or query. */
  async columns(stream: StreamConfig): Promise<Record<string, ColumnType>> {
    const from = this.relation(stream);
    try {
      const r = await this.requirePool().query(`SELECT * FROM ${from} LIMIT 0`);
      return Object.fromEntries(r.fields.map((f) => [f.name, logicalOfOid(f.dataTypeID)]));
    } catch (e) {
      throw pgError(e, `stream ${stream.name}: cannot describe ${from}`, stream.name);
    }
  }

  async *read(stream: StreamConfig, state: StreamState | undefined, ctx: RunContext): AsyncGenerator<Batch> {
    const from = this.relation(stream);
    const { parallel } = stream as StreamConfig & PostgresStreamOptions;
    if (parallel && parallel > 1 && !stream.cursor) {
      yield* readParallel({
        from, stream, state, parallel, ctx,
        connect: () => connectClient(this.requirePool(), this.config),
        wrapError: (e, what) => pgError(e, `stream ${stream.name}: ${what} of ${from} failed`, stream.name),
      });
      return;
    }
    const client = await connectClient(this.requirePool(), this.config);
    let broken = false;
    try {
      const { version: _v, connector: _c, ...base } = state ?? { version: 1 };
      const batchSize = Math.max(1, ctx.batchSize);
      if (stream.cursor && stream.primary_key.length > 0) {
        yield* this.readKeyset(client, stream, from, state, base, batchSize, ctx);
        return;
      }
      let sql = `SELECT * FROM ${from}`;
      const params: unknown[] = [];
      if (stream.cursor) {
        const c = quoteIdent(stream.cursor);
        const start = state?.cursor?.column === stream.cursor ? state.cursor.value : null;
        sql += ` WHERE ${c} IS NOT NULL${start === null || start === undefined ? '' : ` AND ${c} >= $1`} ORDER BY ${c}`;
        if (start !== null && start !== undefined) params.push(start);
      }
      const cursor = client.query(new Cursor<Row>(sql, params));
      try {
        while (true) {
          ctx.signal.throwIfAborted();
          const rows = await cursor.read(batchSize);
          if (rows.length === 0) break;
          const connector = stream.cursor ? { cursor_value: asParam(rows[rows.length - 1][stream.cursor]) } : undefined;
          yield { rows, checkpoint: { ...base, version: 1, ...(connector ? { connector } : {}) } };
          if (rows.length < batchSize) break;
        }
      } finally {
        await cursor.close().catch(() => {
          broken = true;
        });
      }
    } catch (e) {
      if (ctx.signal.aborted) throw e;
      broken = !(e as { code?: string }).code;
      throw pgError(e, `stream ${stream.name}: reading ${from} failed`, stream.name);
    } finally {
      client.release(broken);
    }
  }

  /**
   * Page by page after the last tuple: each page is one short statement (no long-lived snapshot on the source), and
   * ordering by (cursor, key…) makes the position exact even when many rows share one cursor value.
   */
  private async *readKeyset(
    client: pg.PoolClient, stream: StreamConfig, from: string, state: StreamState | undefined,
    base: Omit<StreamState, 'version'>, batchSize: number, ctx: RunContext,
  ): AsyncGenerator<Batch> {
    const cursor = stream.cursor!;
    const columns = [cursor, ...stream.primary_key];
    const stored = state?.connector as Partial<KeysetPosition> | undefined;
    let after: unknown[] | undefined = stored?.pk_values?.length === stream.primary_key.length && stored.cursor_value !== undefined
      ? [stored.cursor_value, ...stored.pk_values]
      : undefined;
    // State without a position (written by another source or an older version): start at the watermark, inclusive.
    const watermark = after === undefined && state?.cursor?.column === cursor ? state.cursor.value : null;
    while (true) {
      ctx.signal.throwIfAborted();
      const page = keysetPage(PG_DIALECT, columns, after, [cursor]);
      let where = page.where;
      const params = page.params;
      if (after === undefined && watermark !== null && watermark !== undefined) {
        params.push(watermark);
        where += ` AND ${quoteIdent(cursor)} >= $${params.length}`;
      }
      const r = await client.query<Row>(`SELECT * FROM ${from} WHERE ${where} ORDER BY ${page.orderBy} LIMIT ${batchSize}`, params);
      const rows = r.rows;
      if (rows.length === 0) break;
      const last = rows[rows.length - 1];
      after = columns.map((c) => asParam(last[c]));
      const connector: KeysetPosition = { cursor_value: after[0], pk_values: after.slice(1) };
      yield { rows, checkpoint: { ...base, version: 1, connector: { ...connector } } };
      if (rows.length < batchSize) break;
    }
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.end().catch(() => undefined);
  }

  /** The FROM item of a stream: a quoted `schema.table`, or the custom query as a subquery. */
  private relation(stream: StreamConfig): string {
    const { query } = stream as StreamConfig & PostgresStreamOptions;
    const { table } = stream as StreamConfig & PostgresStreamOptions;
    if (query) return `(${query.trim().replace(/;\s*$/, '')}) AS q`;
    if (table) return quoteQualified(schemaAndName(table, 'public'));
    throw new RunError(`stream ${stream.name}: give a \`table\` or a \`query\``, stream.name);
  }

  private requirePool(): pg.Pool {
    if (!this.pool) throw new RunError('the postgres source is not connected');
    return this.pool;
  }
}


/** A read value as a query parameter and a JSON-safe state value (bigint → text, bytea → hex input syntax). */
function asParam(v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return '\\x' + Buffer.from(v).toString('hex');
  return v;
}
