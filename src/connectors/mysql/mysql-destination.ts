// MySQL/MariaDB destination: tables and the `_sluice_state` table in one database, one pooled connection per stream
// load (streams load concurrently) and the pool itself for state reads.
import type { Pool } from 'mysql2/promise';
import type {
  Destination, EraseOptions, ErasedRows, LoadTarget, RunContext, StreamLoad, SubjectRows,
} from '../../core/connector.js';
import { RunError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { silentLogger } from '../../core/logger.js';
import type { StreamState } from '../../core/types.js';
import { splitQualified } from '../sql/qualified-name.js';
import { quoteQualified, selectList } from '../sql/quote.js';
import { StateStatements, parseStateDocument } from '../sql/state-statements.js';
import { createMysqlPool, databaseOf, describeMysql, mysqlConnect, mysqlError } from './mysql-connection.js';
import type { MysqlConnectionConfig } from './mysql-options.js';
import { MYSQL_DIALECT, MYSQL_STATE_TYPES } from './mysql-dialect.js';
import { MysqlStreamLoad } from './mysql-load.js';
import { mysqlName } from './mysql-tables.js';
import { canonicalRows } from './mysql-types.js';
import { MYSQL_CAPABILITIES } from './mysql-spec.js';
import { OpenLoads } from '../open-loads.js';
import { eraseSubjectRows } from '../sql/erase-subject.js';

/** Rows per batch readTable yields. */
const READ_BATCH = 5000;

export class MysqlDestination implements Destination {
  readonly type = 'mysql';
  readonly capabilities = MYSQL_CAPABILITIES;
  private pool: Pool | undefined;
  private logger: Logger = silentLogger();
  private readonly state = new StateStatements(MYSQL_DIALECT, MYSQL_STATE_TYPES);
  private readonly loads = new OpenLoads<MysqlStreamLoad>();

  constructor(private readonly config: Partial<MysqlConnectionConfig>) {}

  async connect(ctx: RunContext): Promise<void> {
    if (this.pool) return;
    this.logger = ctx.logger;
    if (!databaseOf(this.config)) {
      throw new RunError(`the MySQL destination ${describeMysql(this.config)} names no database: set destination.database or put it in the url`);
    }
    const pool = createMysqlPool(this.config, ctx.baseDir);
    const conn = await mysqlConnect(pool, this.config).catch(async (e: unknown) => {
      await pool.end().catch(() => undefined);
      throw e;
    });
    try {
      await conn.query(this.state.create());
    } catch (e) {
      await pool.end().catch(() => undefined);
      throw mysqlError(e, `cannot create the state table in ${describeMysql(this.config)}`);
    } finally {
      conn.release();
    }
    this.pool = pool;
  }

  async readState(pipeline: string, stream: string): Promise<StreamState | undefined> {
    const st = this.state.latest(pipeline, stream);
    try {
      const [rows] = await this.requirePool().query(st.sql, st.params);
      return parseStateDocument((rows as { state: unknown }[])[0]?.state);
    } catch (e) {
      throw mysqlError(e, `cannot read the state of ${pipeline}/${stream}`, stream);
    }
  }

  async claimState(pipeline: string, stream: string, runId: string): Promise<void> {
    const st = this.state.claim(pipeline, stream, runId);
    try {
      await this.requirePool().query(st.sql, st.params);
    } catch (e) {
      throw mysqlError(e, `cannot claim stream ${pipeline}/${stream}`, stream);
    }
  }

  async sliceStates(pipeline: string, stream: string): Promise<Map<string, StreamState>> {
    const st = this.state.slices(pipeline, stream);
    try {
      const [rows] = await this.requirePool().query(st.sql, st.params);
      const out = new Map<string, StreamState>();
      for (const r of rows as { stream: string; state: unknown }[]) {
        const state = parseStateDocument(r.state)!;
        if (!state.folded) out.set(r.stream, state);
      }
      return out;
    } catch (e) {
      throw mysqlError(e, `cannot read the slice states of ${pipeline}/${stream}`, stream);
    }
  }

  async foldSlices(pipeline: string, stream: string, runId: string, state: StreamState, keys: string[]): Promise<void> {
    const conn = await mysqlConnect(this.requirePool(), this.config);
    try {
      await conn.query('START TRANSACTION');
      const next = async (key: string): Promise<number> => {
        const max = this.state.maxVersion(pipeline, key);
        const [rows] = await conn.query(max.sql, max.params);
        return Number((rows as { version: unknown }[])[0]?.version ?? 0) + 1;
      };
      const statements = this.state.insert(pipeline, stream, await next(stream), runId, state);
      for (const key of keys) statements.push(...this.state.foldSlice(pipeline, key, await next(key), runId));
      for (const st of statements) await conn.query(st.sql, st.params);
      await conn.query('COMMIT');
    } catch (e) {
      await conn.query('ROLLBACK').catch(() => undefined);
      throw mysqlError(e, `cannot fold the slice states of ${pipeline}/${stream}`, stream);
    } finally {
      conn.release();
    }
  }

  async resetState(pipeline: string, stream?: string): Promise<void> {
    const st = this.state.delete(pipeline, stream);
    try {
      await this.requirePool().query(st.sql, st.params);
    } catch (e) {
      throw mysqlError(e, `cannot reset the state of ${pipeline}`, stream);
    }
  }

  async begin(target: LoadTarget): Promise<StreamLoad> {
    const conn = await mysqlConnect(this.requirePool(), this.config);
    return this.loads.begin((onDone) => new MysqlStreamLoad({ conn, target, state: this.state, logger: this.logger, onDone }));
  }

  /**
   * A committed table's columns in batches, streamed with backpressure on a connection of its own (`table` may be
   * `database.table`; names are spelled as the loads store them). Values come back as the MySQL source reads them.
   */
  async *readTable(table: string, wanted: string[], limit?: number): AsyncIterable<Record<string, unknown>[]> {
    const conn = await mysqlConnect(this.requirePool(), this.config);
    const parts = splitQualified(table);
    const from = quoteQualified([...parts.slice(0, -1), mysqlName(parts[parts.length - 1])], '`');
    const sql = `SELECT ${selectList(wanted, (c) => quoteQualified([mysqlName(c)], '`'))} FROM ${from}${limit === undefined ? '' : ` LIMIT ${Math.trunc(limit)}`}`;
    let columns = wanted;
    // The promise wrapper has no streaming query; its underlying callback connection does.
    const core = conn.connection as unknown as import('mysql2').Connection;
    let complete = false;
    try {
      const query = core.query({ sql, rowsAsArray: true });
      let canonical = canonicalRows([]);
      query.on('fields', (fields: import('mysql2').FieldPacket[]) => {
        canonical = canonicalRows(fields);
        if (wanted.length === 0) columns = fields.map((f) => f.name);
      });
      const rows = query.stream({ highWaterMark: READ_BATCH });
      let batch: Record<string, unknown>[] = [];
      for await (const values of rows) {
        canonical([values as unknown[]]);
        // Keys as the caller named the columns, whatever name MySQL had to store.
        batch.push(Object.fromEntries(columns.map((c, i) => [c, (values as unknown[])[i]])));
        if (batch.length >= READ_BATCH) {
          yield batch;
          batch = [];
        }
      }
      complete = true;
      if (batch.length > 0) yield batch;
    } catch (e) {
      // A table not created yet has no rows (the result never started, so the connection is clean).
      if ((e as { errno?: number }).errno === 1146) {
        complete = true;
        return;
      }
      throw mysqlError(e, `reading ${table} failed`);
    } finally {
      // A result read only in part is still arriving on the connection: it cannot go back to the pool.
      if (complete) conn.release();
      else conn.destroy();
    }
  }

  async eraseSubject(subject: SubjectRows, options: EraseOptions): Promise<ErasedRows> {
    const conn = await mysqlConnect(this.requirePool(), this.config);
    const parts = splitQualified(subject.table);
    const table = quoteQualified([...parts.slice(0, -1), mysqlName(parts[parts.length - 1])], '`');
    let broken = false;
    try {
      await conn.beginTransaction();
      const erased = await eraseSubjectRows({
        dialect: MYSQL_DIALECT,
        column: (c) => quoteQualified([mysqlName(c)], '`'),
        rows: async (sql, params) => (await conn.query({ sql, rowsAsArray: true }, params))[0] as unknown[][],
        run: async (sql, params) => ((await conn.query(sql, params))[0] as { affectedRows: number }).affectedRows,
      }, table, subject, options);
      await (options.dryRun ? conn.rollback() : conn.commit());
      return erased;
    } catch (e) {
      if ((e as { errno?: number }).errno === 1146) {
        await conn.rollback().catch(() => { broken = true; });
        return { rows: 0, keys: [] };
      }
      broken = true;
      throw mysqlError(e, `erasing from ${subject.table}`);
    } finally {
      if (broken) conn.destroy();
      else conn.release();
    }
  }

  /** Rows of a query on a pooled connection (tests, post-load inspection); values as the pool returns them. */
  async query(sql: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
    const [rows] = await this.requirePool().query(sql, params);
    return rows as Record<string, unknown>[];
  }

  async close(): Promise<void> {
    await this.loads.abortAll();
    const pool = this.pool;
    this.pool = undefined;
    await pool?.end().catch(() => undefined);
  }

  private requirePool(): Pool {
    if (!this.pool) throw new RunError('the MySQL destination is not connected');
    return this.pool;
  }
}
