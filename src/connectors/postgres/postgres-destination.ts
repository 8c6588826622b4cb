// The PostgreSQL destination: a pool of connections, one per stream being loaded (streams load concurrently), and
// pooled one-off queries for state. Rows go by COPY; rows and state commit in one transaction (postgres-load.ts).
import type pg from 'pg';
import Cursor from 'pg-cursor';
import type {
  Destination, EraseOptions, ErasedRows, LoadTarget, RunContext, StreamLoad, SubjectRows, ViewDefinition,
} from '../../core/connector.js';
import { ConfigError, RunError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { silentLogger } from '../../core/logger.js';
import type { StreamState } from '../../core/types.js';
import { schemaAndName } from '../sql/qualified-name.js';
import { quoteIdent, quoteQualified, selectList } from '../sql/quote.js';
import { connectClient, createPool, pgError } from './postgres-connection.js';
import { PostgresStreamLoad } from './postgres-load.js';
import { publish, publishViews } from './postgres-publish.js';
import { fitIdent } from './postgres-ddl.js';
import { searchTable } from './postgres-search-query.js';
import type { SearchHits } from './postgres-search-query.js';
import { POSTGRES_CAPABILITIES } from './postgres-spec.js';
import type { PostgresDestinationConfig } from './postgres-spec.js';
import { claimState, createStateTable, deleteState, foldSlices, readState, sliceStates } from './postgres-state.js';
import { OpenLoads } from '../open-loads.js';
import { eraseSubjectRows } from '../sql/erase-subject.js';

export class PostgresDestination implements Destination {
  readonly type = 'postgres';
  readonly capabilities = POSTGRES_CAPABILITIES;
  private pool: pg.Pool | undefined;
  private logger: Logger = silentLogger();
  private readonly loads = new OpenLoads<PostgresStreamLoad>();

  constructor(private readonly config: Partial<PostgresDestinationConfig> = {}) {}

  get schema(): string {
    return this.config.schema ?? 'public';
  }

  async connect(ctx: RunContext): Promise<void> {
    if (this.pool) return;
    this.logger = ctx.logger;
    const pool = createPool(this.config, ctx.baseDir);
    const client = await connectClient(pool, this.config).catch(async (e: unknown) => {
      await pool.end().catch(() => undefined);
      throw e;
    });
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(this.schema)}`);
      await createStateTable(client, this.schema);
    } catch (e) {
      client.release();
      await pool.end().catch(() => undefined);
      throw pgError(e, `preparing schema ${quoteIdent(this.schema)}`);
    }
    client.release();
    this.pool = pool;
  }

  async readState(pipeline: string, stream: string): Promise<StreamState | undefined> {
    try {
      return await readState(this.requirePool(), this.schema, pipeline, stream);
    } catch (e) {
      throw pgError(e, `reading the state of stream ${stream}`, stream);
    }
  }

  async claimState(pipeline: string, stream: string, runId: string): Promise<void> {
    try {
      await claimState(this.requirePool(), this.schema, pipeline, stream, runId);
    } catch (e) {
      throw pgError(e, `claiming stream ${stream}`, stream);
    }
  }

  async sliceStates(pipeline: string, stream: string): Promise<Map<string, StreamState>> {
    try {
      return await sliceStates(this.requirePool(), this.schema, pipeline, stream);
    } catch (e) {
      throw pgError(e, `reading the slice states of stream ${stream}`, stream);
    }
  }

  async foldSlices(pipeline: string, stream: string, runId: string, state: StreamState, keys: string[]): Promise<void> {
    const client = await connectClient(this.requirePool(), this.config);
    let broken = false;
    try {
      await foldSlices(client, this.schema, pipeline, stream, runId, state, keys);
    } catch (e) {
      broken = true;
      throw pgError(e, `folding the slice states of stream ${stream}`, stream);
    } finally {
      client.release(broken);
    }
  }

  async resetState(pipeline: string, stream?: string): Promise<void> {
    try {
      await deleteState(this.requirePool(), this.schema, pipeline, stream);
    } catch (e) {
      throw pgError(e, 'resetting state', stream);
    }
  }

  async begin(target: LoadTarget): Promise<StreamLoad> {
    const client = await connectClient(this.requirePool(), this.config);
    return this.loads.begin((onDone) => new PostgresStreamLoad({
      client, schema: this.schema, target, logger: this.logger,
      publish: (c) => publish(c, this.schema, this.config, this.logger),
      partition: this.config.partitions?.[target.table],
      search: this.config.search?.[target.table],
      replaceStrategy: this.config.replace_strategy,
      onDone,
    }));
  }

  async publishViews(views: ViewDefinition[]): Promise<void> {
    const client = await connectClient(this.requirePool(), this.config);
    let broken = false;
    try {
      await publishViews(client, this.schema, views, this.logger);
    } catch (e) {
      broken = true;
      throw e;
    } finally {
      client.release(broken);
    }
  }

  /** A committed table's columns in batches, through a server-side cursor (`table` may be `schema.table`). */
  async *readTable(table: string, columns: string[], limit?: number): AsyncIterable<Record<string, unknown>[]> {
    const client = await connectClient(this.requirePool(), this.config);
    const [schema, name] = schemaAndName(table, this.schema);
    const exists = await client.query('SELECT to_regclass($1) IS NOT NULL AS found', [quoteQualified([schema, name])]).catch((e: unknown) => {
      client.release(true);
      throw pgError(e, `reading ${table} failed`);
    });
    if (!exists.rows[0].found) {
      client.release();
      return;
    }
    const cursor = client.query(new Cursor<Record<string, unknown>>(
      `SELECT ${selectList(columns, quoteIdent)} FROM ${quoteQualified([schema, name])}${limit === undefined ? '' : ' LIMIT $1'}`,
      limit === undefined ? [] : [limit]));
    let broken = false;
    try {
      while (true) {
        const rows = await cursor.read(5000);
        if (rows.length === 0) break;
        yield rows;
      }
    } catch (e) {
      broken = true;
      throw pgError(e, `reading ${table} failed`);
    } finally {
      await cursor.close().catch(() => { broken = true; });
      client.release(broken);
    }
  }

  async eraseSubject(subject: SubjectRows, options: EraseOptions): Promise<ErasedRows> {
    const client = await connectClient(this.requirePool(), this.config);
    const table = quoteQualified(schemaAndName(subject.table, this.schema));
    let broken = false;
    try {
      if (!(await client.query('SELECT to_regclass($1) IS NOT NULL AS found', [table])).rows[0].found) return { rows: 0, keys: [] };
      await client.query('BEGIN');
      const erased = await eraseSubjectRows({
        dialect: { quoteChar: '"', param: (n) => `$${n}` },
        column: (c) => quoteIdent(c),
        rows: async (sql, params) => (await client.query<unknown[]>({ text: sql, values: params, rowMode: 'array' })).rows,
        run: async (sql, params) => (await client.query(sql, params)).rowCount ?? 0,
      }, table, subject, options);
      await client.query(options.dryRun ? 'ROLLBACK' : 'COMMIT');
      return erased;
    } catch (e) {
      broken = true;
      throw pgError(e, `erasing from ${subject.table}`);
    } finally {
      // A failed transaction is never handed back: the connection is dropped, which rolls it back.
      client.release(broken);
    }
  }

  /** Rows of a table made searchable by the `search:` option that match `text`, best first (`sluice search`). */
  async search(table: string, text: string, limit: number): Promise<SearchHits> {
    const spec = this.config.search?.[table];
    if (!spec) throw new ConfigError(`table ${table} has no \`search:\` entry in the destination`);
    return searchTable((sql, params) => this.query(sql, params), { schema: this.schema, table: fitIdent(table) }, spec, text, limit);
  }

  /** Run SQL through the pool (tests, inspection): sees committed data only. */
  async query<R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<R[]> {
    try {
      return (await this.requirePool().query<R>(sql, params)).rows;
    } catch (e) {
      throw pgError(e, 'query failed');
    }
  }

  async close(): Promise<void> {
    await this.loads.abortAll();
    const pool = this.pool;
    this.pool = undefined;
    await pool?.end().catch(() => undefined);
  }

  private requirePool(): pg.Pool {
    if (!this.pool) throw new RunError('the postgres destination is not connected');
    return this.pool;
  }
}
