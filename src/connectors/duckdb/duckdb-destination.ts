// The embedded DuckDB warehouse. One DuckDBInstance per destination (DuckDB allows one writing process per file),
// one connection per stream load since streams load concurrently, and one control connection for state reads.
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { DuckDBConnection, DuckDBInstance, DuckDBValue, Json as JsonValue } from '@duckdb/node-api';
import type {
  Destination, EraseOptions, ErasedRows, LoadTarget, RunContext, StreamLoad, SubjectRows, ViewDefinition,
} from '../../core/connector.js';
import { RunError, errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { silentLogger } from '../../core/logger.js';
import type { StreamState } from '../../core/types.js';
import { schemaAndName } from '../sql/qualified-name.js';
import { quoteIdent, quoteQualified, selectList, sqlString } from '../sql/quote.js';
import type { DuckDBStreamLoad } from './duckdb-load.js';
import { DEFAULT_MEMORY_LIMIT, DUCKDB_CAPABILITIES } from './duckdb-spec.js';
import type { DuckDBConfig } from './duckdb-spec.js';
import { createStateTable, deleteState, readState } from './duckdb-state.js';
import { OpenLoads } from '../open-loads.js';
import { eraseSubjectRows } from '../sql/erase-subject.js';

/**
 * The pool a load reading a file with read_csv adds, in loads' worth (DEFAULT_MEMORY_LIMIT each): the reader's
 * buffers and the insertion-order buffers of two threads ran out of 32 MB and loaded 1M rows at full speed in 96 MB.
 */
const READ_POOL_LOADS = 3;

/**
 * A load's share of the pool, in DEFAULT_MEMORY_LIMITs: one per 20 columns. The appender and the commit hold blocks
 * per column: a 64-column table ran out of a 32 MB pool at 100k rows and out of 64 MB committing 1M (it loads in 96).
 */
const loadUnits = (columns: number): number => Math.max(1, Math.ceil(columns / 20));

export class DuckDBDestination implements Destination {
  readonly type = 'duckdb';
  readonly capabilities = DUCKDB_CAPABILITIES;
  private instance: DuckDBInstance | undefined;
  private control: DuckDBConnection | undefined;
  private catalog = '';
  private logger: Logger = silentLogger();
  private readonly loads = new OpenLoads<DuckDBStreamLoad>();
  /** The control connection runs one statement at a time. */
  private queue: Promise<unknown> = Promise.resolve();
  /** DEFAULT_MEMORY_LIMITs the buffer pool is sized for the open loads, without a configured memory_limit (sizePool). */
  private pooledFor = 1;
  /** The width of each open load; what loads reading a file with DuckDB's reader borrow; the pool's size. */
  private readonly widths = new Set<{ columns: number }>();
  private reading = 0;
  private poolUnits = 1;

  constructor(private readonly config: Partial<DuckDBConfig> = {}) {}

  get schema(): string {
    return this.config.schema ?? 'main';
  }

  async connect(ctx: RunContext): Promise<void> {
    if (this.instance) return;
    this.logger = ctx.logger;
    const path = this.config.path === ':memory:' ? ':memory:'
      : this.config.path ? resolve(ctx.baseDir, this.config.path) : join(ctx.home, 'warehouse.duckdb');
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    try {
      const options: Record<string, string> = { memory_limit: this.config.memory_limit ?? DEFAULT_MEMORY_LIMIT };
      if (this.config.threads) options.threads = String(this.config.threads);
      // Loaded on first use: DuckDB's native library costs ~30 MB of RSS a pipeline without DuckDB should not pay.
      const { DuckDBInstance } = await import('@duckdb/node-api');
      this.instance = await DuckDBInstance.create(path, options);
    } catch (e) {
      const msg = errorMessage(e);
      if (/lock/i.test(msg)) {
        throw new RunError(`the DuckDB warehouse ${path} is in use by another process (DuckDB allows one writer per file); `
          + `wait for it to finish or point destination.path elsewhere. ${msg}`, undefined, { cause: e });
      }
      throw new RunError(`cannot open the DuckDB warehouse ${path}: ${msg}`, undefined, { cause: e });
    }
    this.control = await this.instance.connect();
    this.catalog = String((await this.control.runAndReadAll('SELECT current_database()')).getRows()[0][0]);
    await this.control.run(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(this.schema)}`);
    await createStateTable(this.control, this.schema);
  }

  readState(pipeline: string, stream: string): Promise<StreamState | undefined> {
    return this.serial((c) => readState(c, this.schema, pipeline, stream));
  }

  resetState(pipeline: string, stream?: string): Promise<void> {
    return this.serial((c) => deleteState(c, this.schema, pipeline, stream));
  }

  /**
   * Run SQL on the control connection and return plain rows. It sees only committed data, which is what a reader
   * of the warehouse sees (used by post-load SQL, `sluice` inspection commands and tests).
   */
  query(sql: string, params: DuckDBValue[] = []): Promise<Record<string, JsonValue>[]> {
    return this.serial(async (c) => (await c.runAndReadAll(sql, params)).getRowObjectsJson());
  }

  async begin(target: LoadTarget): Promise<StreamLoad> {
    const instance = this.requireInstance();
    const { DuckDBStreamLoad } = await import('./duckdb-load.js');
    const conn = await instance.connect();
    const weight = { columns: 0 };
    const load = await this.loads.begin((onDone) => new DuckDBStreamLoad({
      conn, catalog: this.catalog, schema: this.schema, target, logger: this.logger,
      onDone: () => {
        this.widths.delete(weight);
        onDone();
      },
      poolForRead: () => this.poolForRead(weight.columns),
      widened: (columns) => {
        weight.columns = columns;
        return this.sizePool();
      },
    }));
    this.widths.add(weight);
    try {
      // Counted once registered, so loads begun together each see the others.
      await this.sizePool();
    } catch (e) {
      await load.abort();
      throw e;
    }
    return load;
  }

  /** A committed table's columns, chunk by chunk, on a connection of its own (`table` may be `schema.table`). */
  async *readTable(table: string, columns: string[], limit?: number): AsyncIterable<Record<string, unknown>[]> {
    const conn = await this.requireInstance().connect();
    try {
      const [schema, name] = schemaAndName(table, this.schema);
      const found = await conn.runAndReadAll('SELECT 1 FROM information_schema.tables WHERE table_schema = $schema AND table_name = $name', { schema, name });
      if (found.currentRowCount === 0) return;
      const result = await conn.stream(`SELECT ${selectList(columns, quoteIdent)} FROM ${quoteQualified([schema, name])}${limit === undefined ? '' : ` LIMIT ${Math.trunc(limit)}`}`);
      for await (const rows of result.yieldRowObjectJs()) yield rows as Record<string, unknown>[];
    } catch (e) {
      throw new RunError(`reading ${table} from the DuckDB warehouse failed: ${errorMessage(e)}`, undefined, { cause: e });
    } finally {
      conn.closeSync();
    }
  }

  async eraseSubject(subject: SubjectRows, options: EraseOptions): Promise<ErasedRows> {
    const conn = await this.requireInstance().connect();
    try {
      const [schema, name] = schemaAndName(subject.table, this.schema);
      const found = await conn.runAndReadAll('SELECT 1 FROM information_schema.tables WHERE table_schema = $schema AND table_name = $name', { schema, name });
      if (found.currentRowCount === 0) return { rows: 0, keys: [] };
      await conn.run('BEGIN TRANSACTION');
      try {
        const erased = await eraseSubjectRows({
          dialect: { quoteChar: '"', param: (n) => `$${n}` },
          column: (c) => quoteIdent(c),
          // Values go back as DuckDB gave them (a BIGINT as bigint), so the keys bind as their own types.
          rows: async (sql, params) => (await conn.runAndReadAll(sql, params as DuckDBValue[])).getRows() as unknown[][],
          run: async (sql, params) => (await conn.run(sql, params as DuckDBValue[])).rowsChanged,
        }, quoteQualified([schema, name]), subject, options);
        await conn.run(options.dryRun ? 'ROLLBACK' : 'COMMIT');
        return erased;
      } catch (e) {
        await conn.run('ROLLBACK').catch(() => undefined);
        throw e;
      }
    } catch (e) {
      throw new RunError(`erasing from ${subject.table} in the DuckDB warehouse failed: ${errorMessage(e)}`, undefined, { cause: e });
    } finally {
      conn.closeSync();
    }
  }

  async close(): Promise<void> {
    await this.loads.abortAll();
    await this.queue.catch(() => undefined);
    this.control?.closeSync();
    this.instance?.closeSync();
    this.control = undefined;
    this.instance = undefined;
  }

  /**
   * Without a configured memory_limit the pool grows by DEFAULT_MEMORY_LIMIT for each load running at once, times its
   * width (loadUnits). Concurrent loads each pin blocks of their own (appenders, staging, merge joins); several merges
   * sharing one small pool ran out of memory.
   */
  private async sizePool(): Promise<void> {
    let units = 0;
    for (const w of this.widths) units += loadUnits(w.columns);
    if (units <= this.pooledFor) return;
    this.pooledFor = units;
    await this.setPool();
  }

  /**
   * A load reading a file with DuckDB's own reader needs READ_POOL_LOADS more (times its width) while others read
   * too (duckdb-load.ts): with them, the commits and merges after the read fit too.
   */
  private async poolForRead(columns: number): Promise<() => Promise<void>> {
    const units = READ_POOL_LOADS * loadUnits(columns);
    this.reading += units;
    await this.setPool();
    return async () => {
      this.reading -= units;
    };
  }

  /**
   * The pool is only ever raised. Lowered at run time (at a load's end, or once no load was open), DuckDB's heap was
   * corrupted later in the run (`malloc(): unsorted double linked list corrupted`, 3 runs in 14 of the resolve bench,
   * none in 29 without): what it costs is DuckDB keeping up to the largest pool's worth of blocks cached to the end
   * (at 1M records, four staging loads' 128 MB through the `resolve` stream after them).
   */
  private async setPool(): Promise<void> {
    const units = this.pooledFor + this.reading;
    if (this.config.memory_limit !== undefined || units <= this.poolUnits) return;
    const [amount, unit] = /^(\d+)(\D+)$/.exec(DEFAULT_MEMORY_LIMIT)!.slice(1);
    await this.serial((c) => c.run(`SET memory_limit = '${Number(amount) * units}${unit}'`));
    this.poolUnits = units;
  }

  private serial<T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
    const conn = this.control;
    if (!conn) return Promise.reject(new RunError('the DuckDB destination is not connected'));
    const next = this.queue.then(() => fn(conn));
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Plain views (DuckDB has no materialized ones), each created or replaced in order, names resolving in the schema. */
  async publishViews(views: ViewDefinition[]): Promise<void> {
    await this.serial(async (c) => {
      await c.run(`SET search_path = ${sqlString(this.schema)}`);
      try {
        for (const v of views) {
          try {
            await c.run(`CREATE OR REPLACE VIEW ${quoteQualified([this.schema, v.name])} AS ${v.sql}`);
          } catch (e) {
            throw new RunError(`view ${v.name}: ${errorMessage(e)}`, undefined, { cause: e });
          }
        }
      } finally {
        await c.run('RESET search_path').catch(() => undefined);
      }
    });
  }

  private requireInstance(): DuckDBInstance {
    if (!this.instance) throw new RunError('the DuckDB destination is not connected');
    return this.instance;
  }
}
