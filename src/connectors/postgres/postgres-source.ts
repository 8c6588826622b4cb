// The `postgres` source. A stream is a table or a custom query, read on one pooled connection:
//   no cursor   the whole relation through a server-side cursor (pg-cursor), `batchSize` rows per fetch;
//   cursor+key  keyset pages `WHERE (cursor, key…) > (last…) ORDER BY cursor, key… LIMIT batchSize`, each batch
//               checkpointing the last tuple, so a resumed or later run continues exactly after it; where no index
//               leads with the cursor (or the stream is a query), one ordered cursor from the same position instead,
//               since each page would sort the relation again;
//   cursor only one ordered server-side cursor from the stored watermark (inclusive: rows sharing it are read again).
// A date or timestamp cursor is read only below the commit horizon (commit-horizon.ts): a row a transaction still open
// stamps with its start time (`DEFAULT now()`) commits later below rows read now, so nothing at or past the start of
// the oldest open transaction is read yet; it loads on a later run, and the watermark never passes a late commit.
// Value parsers (postgres-types.ts) give every catalog type its canonical form, and columns() declares each stream's
// column types from the catalog, so nothing is inferred, numeric, int8 and timestamps keep their precision, and the
// rows travel as arrays the engine only checks (postgres-rows.ts).
import pg from 'pg';
import Cursor from 'pg-cursor';
import type { RunContext, Source, SourceSlice, StreamConfig } from '../../core/connector.js';
import { RunError } from '../../core/errors.js';
import type { Batch, ColumnType, StreamState } from '../../core/types.js';
import { keysetFrom, watermarkOf } from '../sql/keyset.js';
import type { KeysetDialect, KeysetPage } from '../sql/keyset.js';
import { keysetBatches, keysetCheckpoint, resumePosition } from '../sql/keyset-batches.js';
import { schemaAndName } from '../sql/qualified-name.js';
import { quoteIdent, quoteQualified } from '../sql/quote.js';
import { commitHorizon } from './commit-horizon.js';
import { connectClient, createPool, pgError } from './postgres-connection.js';
import type { PostgresSourceConfig, PostgresStreamOptions } from './postgres-spec.js';
import { logicalOfOid, sourceTypes } from './postgres-types.js';
import { keyRanges, readParallel } from './postgres-parallel.js';
import { rangeKey } from '../sql/key-slices.js';
import { ResultColumns } from '../sql/result-columns.js';
import { readArrays } from './postgres-rows.js';

const PG_DIALECT: KeysetDialect = { quote: (n) => quoteIdent(n), placeholder: (n) => `$${n}`, rowValues: true };

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

  /** A large table read whole: ranges of its integer key, each a task of its own on workers (sql/key-slices.ts). */
  async slices(stream: StreamConfig): Promise<SourceSlice[] | undefined> {
    const key = rangeKey(stream as StreamConfig & PostgresStreamOptions);
    if (key === undefined) return undefined;
    const from = this.relation(stream);
    const client = await connectClient(this.requirePool(), this.config);
    try {
      return await keyRanges(client, from, key, stream);
    } catch (e) {
      throw pgError(e, `stream ${stream.name}: planning key ranges of ${from} failed`, stream.name);
    } finally {
      client.release();
    }
  }

  async *read(stream: StreamConfig, state: StreamState | undefined, ctx: RunContext): AsyncGenerator<Batch> {
    const from = this.relation(stream);
    const { parallel } = stream as StreamConfig & PostgresStreamOptions;
    const range = ctx.slice?.keys;
    if (range || (parallel && parallel > 1 && !stream.cursor)) {
      let start = state;
      if (range) {
        // One key range of a split stream: a parallel read of one slice, resumed from its own position; a slice
        // state with a position no longer (the range was read to its end) has nothing left.
        const own = (state?.connector as { slices?: unknown[] } | undefined)?.slices;
        if (state?.connector && !own?.length) return;
        if (!own?.length) start = { ...(state ?? { version: 1 }), connector: { slices: [{ lo: range.lo, hi: range.hi, after: null }] } };
      }
      yield* readParallel({
        from, stream, state: start, parallel: range ? 1 : parallel!, ctx,
        connect: () => connectClient(this.requirePool(), this.config),
        wrapError: (e, what) => pgError(e, `stream ${stream.name}: ${what} of ${from} failed`, stream.name),
      });
      return;
    }
    const client = await connectClient(this.requirePool(), this.config);
    let broken = false;
    try {
      const keys = stream.cursor && stream.primary_key.length > 0 ? [stream.cursor, ...stream.primary_key] : undefined;
      const { table, query } = stream as StreamConfig & PostgresStreamOptions;
      const horizon = stream.cursor
        ? await commitHorizon(client, from, query ? undefined : quoteQualified(schemaAndName(table!, 'public')), stream.cursor, ctx.logger.child({ stream: stream.name }))
        : undefined;
      /** A condition list with the horizon's bound added, its parameter numbered after `params`. */
      const below = (where: string, params: unknown[]): string => {
        if (horizon === undefined) return where;
        params.push(horizon);
        return `${where ? `${where} AND ` : ''}${quoteIdent(stream.cursor!)} < $${params.length}::timestamptz`;
      };
      if (keys && (await this.seeks(client, stream, keys[0]))) {
        yield* this.readKeyset(client, keys, from, state, ctx, below);
        return;
      }
      const { version: _v, connector: _c, ...base } = state ?? { version: 1 };
      let sql = `SELECT * FROM ${from}`;
      let params: unknown[] = [];
      // The checkpoint after a batch, from its last row's values.
      let checkpointOf = (_last: unknown[], _columns: string[]): StreamState => ({ ...base, version: 1 });
      if (keys) {
        // The keyset order in one ordered read: one sort of the relation, where pages without an index would sort it
        // once per page. It resumes after a stored position exactly as pages do.
        const page = this.keysetStart(keys, state);
        ({ params } = page);
        sql += ` WHERE ${below(page.where, params)} ORDER BY ${page.orderBy}`;
        checkpointOf = (last, columns) => keysetCheckpoint(state, keys.map((k) => asParam(last[columns.indexOf(k)])), true);
      } else if (stream.cursor) {
        const c = quoteIdent(stream.cursor);
        const start = state?.cursor?.column === stream.cursor ? state.cursor.value : null;
        if (start !== null && start !== undefined) params.push(start);
        sql += ` WHERE ${below(`${c} IS NOT NULL${params.length ? ` AND ${c} >= $1` : ''}`, params)} ORDER BY ${c}`;
        const cursorColumn = stream.cursor;
        checkpointOf = (last, columns) => ({ ...base, version: 1, connector: { cursor_value: asParam(last[columns.indexOf(cursorColumn)]) } });
      }
      const batchSize = Math.max(1, ctx.batchSize);
      const cursor = client.query(new Cursor<unknown[]>(sql, params, { rowMode: 'array' }));
      const names = new ResultColumns();
      // The next fetch is asked for as soon as a batch arrives: the server sends it while the engine loads this one.
      let next: ReturnType<typeof readArrays> | undefined = readArrays(cursor, batchSize);
      try {
        while (next) {
          ctx.signal.throwIfAborted();
          const { values, fields }: Awaited<ReturnType<typeof readArrays>> = await next;
          next = values.length < batchSize ? undefined : readArrays(cursor, batchSize);
          if (values.length === 0) break;
          const columns = names.of(fields);
          yield { rows: [], columns, values, canonical: true, checkpoint: checkpointOf(values[values.length - 1], columns) };
        }
      } finally {
        // A fetch still in flight (the read stopped early) ends before the cursor closes.
        await next?.catch(() => undefined);
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
   * Whether the stream's table has an index leading with `column`: then a keyset page is an index range scan. A
   * custom query, a view or an unindexed cursor column would be sorted again for every page.
   */
  private async seeks(client: pg.PoolClient, stream: StreamConfig, column: string): Promise<boolean> {
    const { table } = stream as StreamConfig & PostgresStreamOptions;
    if (!table) return false;
    const r = await client.query(`SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
      WHERE i.indrelid = $1::regclass AND a.attname = $2 LIMIT 1`, [quoteQualified(schemaAndName(table, 'public')), column]);
    return (r.rowCount ?? 0) > 0;
  }

  /**
   * Where a keyset read starts: strictly after the stored position, or, for state without one (written by another
   * source or an older version), at the watermark, inclusive.
   */
  private keysetStart(keys: string[], state: StreamState | undefined, after: readonly unknown[] | undefined = resumePosition(state, keys, true)): KeysetPage {
    return keysetFrom(PG_DIALECT, keys, after, watermarkOf(state, keys[0]), [keys[0]]);
  }

  /**
   * Page by page after the last tuple (sql/keyset-batches.ts): each page is one short statement over an index range
   * (no long-lived snapshot on the source), and ordering by (cursor, key…) makes the position exact even when many
   * rows share one cursor value.
   */
  private readKeyset(
    client: pg.PoolClient, keys: string[], from: string, state: StreamState | undefined, ctx: RunContext, below: (where: string, params: unknown[]) => string,
  ): AsyncGenerator<Batch> {
    const names = new ResultColumns();
    return keysetBatches({
      keys, hasCursor: true, state, batchSize: ctx.batchSize, signal: ctx.signal, keyValue: asParam,
      fetch: async (after, limit) => {
        const page = this.keysetStart(keys, state, after);
        const where = below(page.where, page.params);
        const r = await client.query<unknown[]>({ text: `SELECT * FROM ${from} WHERE ${where} ORDER BY ${page.orderBy} LIMIT ${limit}`, values: page.params, rowMode: 'array' });
        return { columns: names.of(r.fields), values: r.rows, canonical: true };
      },
    });
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
