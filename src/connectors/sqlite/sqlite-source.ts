// SQLite source: a table (or query) read in keyset pages ordered by (cursor, primary key), so a page is never more
// than `batchSize` rows in memory; a table without any key, or a cursor no index leads with (each page would sort the
// table), is iterated in one (ordered) pass. Rows come as arrays (better-sqlite3's raw mode): an object per row, and
// iterating a page rather than taking it whole, had made reading three times slower. Integers come back exactly
// (numbers while safe, bigint beyond 2^53).
import { resolve } from 'node:path';
import type { SqliteDatabase, SqliteStatement } from '../../core/sqlite-driver.js';
import type { RunContext, Source, SourceSlice, StreamConfig } from '../../core/connector.js';
import { RunError, errorMessage } from '../../core/errors.js';
import type { Batch, ColumnType, StreamState } from '../../core/types.js';
import { keysetFrom, keysetPage, watermarkOf } from '../sql/keyset.js';
import type { KeysetDialect } from '../sql/keyset.js';
import { keysetBatches, keysetCheckpoint, resumePosition, stateValue } from '../sql/keyset-batches.js';
import { type PassOptions, passBatches } from '../sql/pass-batches.js';
import { ResultColumns } from '../sql/result-columns.js';
import { rangeCount, rangeKey, rangeRead, rangeSlices } from '../sql/key-slices.js';
import { catalogTypes, planRead } from '../sql/read-plan.js';
import type { CatalogColumn, ReadPlan } from '../sql/read-plan.js';
import { openSqlite } from './sqlite-destination.js';
import { q } from './sqlite-dialect.js';
import type { SqliteSourceConfig, SqliteStreamOptions } from './sqlite-spec.js';
import { logicalOfSqlite, normalizeValues } from './sqlite-types.js';

const KEYSET_DIALECT: KeysetDialect = { quote: q, placeholder: () => '?', rowValues: true };

export class SqliteSource implements Source {
  readonly type = 'sqlite';
  private db: SqliteDatabase | undefined;

  constructor(private readonly config: SqliteSourceConfig) {}

  async connect(ctx: RunContext): Promise<void> {
    if (this.db) return;
    this.db = openSqlite(resolve(ctx.baseDir, this.config.path), { readonly: true });
  }

  async columns(stream: StreamConfig): Promise<Record<string, ColumnType>> {
    return catalogTypes(this.describe(stream).columns.filter((c) => c.type) as CatalogColumn[]);
  }

  async check(ctx: RunContext): Promise<void> {
    await this.connect(ctx);
  }

  /** A large table read whole: ranges of its integer key, each a task of its own on workers (sql/key-slices.ts). */
  async slices(stream: StreamConfig): Promise<SourceSlice[] | undefined> {
    const key = rangeKey(stream as StreamConfig & SqliteStreamOptions);
    if (key === undefined) return undefined;
    // SQLite keeps no row estimate; counting reads the smallest index, once per run.
    const r = this.reading(stream, () => this.requireDb().prepare(`SELECT count(*) AS n, CAST(min(${q(key)}) AS TEXT) AS lo, CAST(max(${q(key)}) AS TEXT) AS hi FROM ${fromClause(stream)}`)
      .get() as { n: number; lo: string | null; hi: string | null });
    return rangeSlices(key, r.lo, r.hi, rangeCount(stream, Number(r.n)));
  }

  async *read(stream: StreamConfig, state: StreamState | undefined, ctx: RunContext): AsyncGenerator<Batch> {
    // One key range of a split stream (sql/key-slices.ts): nothing left once it was read to its end.
    const range = ctx.slice?.keys && rangeRead(state, ctx.slice.keys, KEYSET_DIALECT);
    if (ctx.slice?.keys && !range) return;
    const { columns, primaryKey } = this.describe(stream);
    const plan = planRead(stream, columns.map((c) => ({ name: c.name, type: c.type ?? 'text' })), primaryKey);
    const from = fromClause(stream);
    if (plan.keys.length === 0) {
      // The whole relation in one pass: only its end is a checkpoint.
      yield* this.pass(stream, `SELECT * FROM ${from}`, [], ctx, (last) => (last ? undefined : { version: 1 }));
      return;
    }
    if (plan.hasCursor && !this.seeks(stream, plan.keys[0], primaryKey)) {
      // Keyset pages on an unindexed cursor would each scan and sort the table: one ordered pass from the same
      // position, each batch checkpointing its last row as a page would.
      const page = keysetFrom(KEYSET_DIALECT, plan.keys, resumePosition(state, plan.keys, true), numericWatermark(plan, state), [plan.keys[0]]);
      let keyIndexes: number[] | undefined;
      yield* this.pass(stream, `SELECT * FROM ${from} WHERE ${page.where} ORDER BY ${page.orderBy}`, page.params, ctx, (last, columns) => {
        if (!last) return undefined;
        keyIndexes ??= plan.keys.map((k) => columns.indexOf(k));
        return keysetCheckpoint(state, keyIndexes.map((i) => stateValue(last[i])), true);
      });
      return;
    }
    const names = new ResultColumns();
    yield* keysetBatches({
      keys: plan.keys, hasCursor: plan.hasCursor, state, batchSize: ctx.batchSize, signal: ctx.signal,
      fetch: async (after, limit) => {
        const keyset = plan.hasCursor
          ? keysetFrom(KEYSET_DIALECT, plan.keys, after, numericWatermark(plan, state), [plan.keys[0]]) : keysetPage(KEYSET_DIALECT, plan.keys, after);
        const page = range ? range.page(keyset) : keyset;
        const sql = `SELECT * FROM ${from}${page.where ? ` WHERE ${page.where}` : ''} ORDER BY ${page.orderBy} LIMIT ${limit}`;
        const statement = this.statement(stream, sql);
        const values = this.reading(stream, () => statement.all(...page.params) as unknown[][]);
        normalizeValues(values);
        return { columns: names.of(statement.columns()), values };
      },
    });
  }

  async close(): Promise<void> {
    this.db?.close();
    this.db = undefined;
  }

  /** One pass over a query's rows (see ../sql/pass-batches.ts). */
  private pass(stream: StreamConfig, sql: string, params: unknown[], ctx: RunContext, checkpointOf: PassOptions['checkpointOf']): AsyncGenerator<Batch> {
    const statement = this.statement(stream, sql);
    const columns = statement.columns().map((c) => c.name);
    const rows = this.reading(stream, () => statement.iterate(...params) as IterableIterator<unknown[]>);
    return passBatches(rows, { size: ctx.batchSize, signal: ctx.signal, columns: () => columns, fix: normalizeValues, checkpointOf });
  }

  /**
   * Whether a keyset page on `column` is an index range: an index leads with it, or it is the table's one-column
   * primary key (an INTEGER PRIMARY KEY is the rowid itself and has no index of its own).
   */
  private seeks(stream: StreamConfig, column: string, primaryKey: string[]): boolean {
    const opts = stream as StreamConfig & SqliteStreamOptions;
    if (opts.query) return false;
    if (primaryKey.length === 1 && primaryKey[0] === column) return true;
    return this.requireDb().prepare('SELECT 1 FROM pragma_index_list(?) AS l, pragma_index_info(l.name) AS i WHERE i.seqno = 0 AND i.name = ?')
      .get(opts.table ?? stream.name, column) !== undefined;
  }

  /** A query returning rows as arrays, integers exact. */
  private statement(stream: StreamConfig, sql: string): SqliteStatement {
    return this.reading(stream, () => this.requireDb().prepare(sql).safeIntegers(true).raw(true));
  }

  private reading<T>(stream: StreamConfig, f: () => T): T {
    try {
      return f();
    } catch (e) {
      throw new RunError(`stream ${stream.name}: reading failed: ${errorMessage(e)}`, stream.name, { cause: e });
    }
  }

  /** Declared column types and the primary key from the catalog; a query's columns are only named. */
  private describe(stream: StreamConfig): { columns: { name: string; type: CatalogColumn['type'] | undefined }[]; primaryKey: string[] } {
    const db = this.requireDb();
    const opts = stream as StreamConfig & SqliteStreamOptions;
    try {
      if (opts.query) {
        const cols = db.prepare(`SELECT * FROM ${fromClause(stream)} LIMIT 0`).columns();
        return { columns: cols.map((c) => ({ name: c.name, type: c.type ? logicalOfSqlite(c.type) : undefined })), primaryKey: [] };
      }
      const table = opts.table ?? stream.name;
      const info = db.prepare('SELECT name, type, pk FROM pragma_table_info(?)').all(table) as { name: string; type: string; pk: number }[];
      if (info.length === 0) throw new Error(`no table ${JSON.stringify(table)}`);
      return {
        columns: info.map((c) => ({ name: c.name, type: logicalOfSqlite(c.type) })),
        primaryKey: info.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.name),
      };
    } catch (e) {
      throw new RunError(`stream ${stream.name}: cannot read ${opts.query ? 'its query' : `table ${opts.table ?? stream.name}`}: ${errorMessage(e)}`, stream.name, { cause: e });
    }
  }

  private requireDb(): SqliteDatabase {
    if (!this.db) throw new RunError('the SQLite source is not connected');
    return this.db;
  }
}

function fromClause(stream: StreamConfig): string {
  const opts = stream as StreamConfig & SqliteStreamOptions;
  if (opts.query) return `(${opts.query.trim().replace(/;\s*$/, '')}) AS ${q('_sluice_query')}`;
  return q(opts.table ?? stream.name);
}

/**
 * The stored watermark as a parameter, where SQLite compares it as the column's values compare: a number for a numeric
 * cursor. Text cursors (dates and timestamps kept as text in their own layout) read from the beginning instead, and
 * the engine filters what the watermark already covers.
 */
function numericWatermark(plan: ReadPlan, state: StreamState | undefined): number | bigint | null {
  const type = plan.types.get(plan.keys[0]);
  const w = watermarkOf(state, plan.keys[0]);
  if (w === null || (type !== 'integer' && type !== 'bigint' && type !== 'double')) return null;
  if (typeof w === 'number') return w;
  return typeof w === 'string' && /^-?\d+$/.test(w) ? BigInt(w) : null;
}
