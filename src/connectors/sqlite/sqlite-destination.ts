// SQLite destination: tables and `_sluice_state` in one database file, one synchronous connection shared by every
// stream load of the run (see sqlite-load.ts for why that is safe), WAL so readers never block the load.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type {
  Destination, EraseOptions, ErasedRows, LoadTarget, RunContext, StreamLoad, SubjectRows,
} from '../../core/connector.js';
import { RunError, errorMessage } from '../../core/errors.js';
import { openDatabase, type SqliteDatabase } from '../../core/sqlite-driver.js';
import type { Logger } from '../../core/logger.js';
import { silentLogger } from '../../core/logger.js';
import type { StreamState } from '../../core/types.js';
import { splitQualified } from '../sql/qualified-name.js';
import { quoteQualified, selectList } from '../sql/quote.js';
import { StateStatements, parseStateDocument } from '../sql/state-statements.js';
import { SQLITE_DIALECT, SQLITE_STATE_TYPES, q, registerSqliteFunctions } from './sqlite-dialect.js';
import { SqliteStreamLoad } from './sqlite-load.js';
import type { SqliteConfig } from './sqlite-spec.js';
import { normalizeRow } from './sqlite-types.js';
import { SQLITE_CAPABILITIES } from './sqlite-spec.js';
import { OpenLoads } from '../open-loads.js';
import { eraseSubjectRows } from '../sql/erase-subject.js';

/** Rows per batch readTable yields. */
const READ_BATCH = 5000;

/** Open a database file with the settings every Sluice connection uses. */
export function openSqlite(path: string, o: { readonly?: boolean; busyTimeoutMs?: number } = {}): SqliteDatabase {
  try {
    const db = openDatabase(path, { readonly: !!o.readonly, fileMustExist: !!o.readonly, timeout: o.busyTimeoutMs ?? 5000 });
    if (!o.readonly) {
      db.pragma('journal_mode = WAL');
      // In WAL mode NORMAL keeps every commit atomic; a power loss may only forget the last ones, rows and state
      // together, so exactly-once holds.
      db.pragma('synchronous = NORMAL');
    }
    return db;
  } catch (e) {
    throw new RunError(`cannot open the SQLite database ${path}: ${errorMessage(e)}`, undefined, { cause: e });
  }
}

export class SqliteDestination implements Destination {
  readonly type = 'sqlite';
  readonly capabilities = SQLITE_CAPABILITIES;
  private db: SqliteDatabase | undefined;
  /** The database file (or `:memory:`), resolved at connect. */
  private path = ':memory:';
  private logger: Logger = silentLogger();
  private readonly state = new StateStatements(SQLITE_DIALECT, SQLITE_STATE_TYPES);
  private readonly loads = new OpenLoads<SqliteStreamLoad>();
  private nextId = 1;

  constructor(private readonly config: Partial<SqliteConfig>) {}

  async connect(ctx: RunContext): Promise<void> {
    if (this.db) return;
    this.logger = ctx.logger;
    if (!this.config.path) throw new RunError('the SQLite destination needs a `path`');
    const path = this.config.path === ':memory:' ? ':memory:' : resolve(ctx.baseDir, this.config.path);
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const db = openSqlite(path, { busyTimeoutMs: this.config.busy_timeout_ms });
    try {
      registerSqliteFunctions(db);
      db.exec(this.state.create());
    } catch (e) {
      db.close();
      throw new RunError(`cannot create the state table in ${path}: ${errorMessage(e)}`, undefined, { cause: e });
    }
    this.db = db;
    this.path = path;
  }

  async readState(pipeline: string, stream: string): Promise<StreamState | undefined> {
    const st = this.state.latest(pipeline, stream);
    const row = this.requireDb().prepare(st.sql).get(...st.params) as { state: string } | undefined;
    return parseStateDocument(row?.state);
  }

  async resetState(pipeline: string, stream?: string): Promise<void> {
    const st = this.state.delete(pipeline, stream);
    this.requireDb().prepare(st.sql).run(...st.params);
  }

  async begin(target: LoadTarget): Promise<StreamLoad> {
    return this.loads.begin((onDone) => new SqliteStreamLoad({
      db: this.requireDb(), target, state: this.state, logger: this.logger, id: this.nextId++, onDone,
    }));
  }

  /**
   * A committed table's columns in batches (`table` may be `schema.table`). An open iterator keeps its connection
   * busy, and the loads share this destination's one connection: a file is read on a read-only connection of its own
   * (WAL gives it a snapshot and never blocks the writer). An in-memory database has no second connection; it is
   * read in one go, being in memory already.
   */
  async *readTable(table: string, columns: string[], limit?: number): AsyncIterable<Record<string, unknown>[]> {
    const db = this.requireDb();
    const sql = `SELECT ${selectList(columns, q)} FROM ${quoteQualified(splitQualified(table))}${limit === undefined ? '' : ` LIMIT ${Math.trunc(limit)}`}`;
    const reader = this.path === ':memory:' ? undefined : openSqlite(this.path, { readonly: true });
    try {
      const parts = splitQualified(table);
      const master = parts.length > 1 ? `${quoteQualified([parts[0]])}.sqlite_master` : 'sqlite_master';
      if (!(reader ?? db).prepare(`SELECT 1 FROM ${master} WHERE type IN ('table', 'view') AND name = ?`).get(parts[parts.length - 1])) return;
      const stmt = (reader ?? db).prepare(sql).safeIntegers(true);
      let batch: Record<string, unknown>[] = [];
      for (const row of reader ? stmt.iterate() : stmt.all()) {
        batch.push(normalizeRow(row as Record<string, unknown>));
        if (batch.length >= READ_BATCH) {
          yield batch;
          batch = [];
        }
      }
      if (batch.length > 0) yield batch;
    } catch (e) {
      throw new RunError(`reading ${table} from ${this.path} failed: ${errorMessage(e)}`, undefined, { cause: e });
    } finally {
      reader?.close();
    }
  }

  async eraseSubject(subject: SubjectRows, options: EraseOptions): Promise<ErasedRows> {
    const db = this.requireDb();
    const parts = splitQualified(subject.table);
    const master = parts.length > 1 ? `${quoteQualified([parts[0]])}.sqlite_master` : 'sqlite_master';
    if (!db.prepare(`SELECT 1 FROM ${master} WHERE type = 'table' AND name = ?`).get(parts[parts.length - 1])) return { rows: 0, keys: [] };
    db.exec('BEGIN IMMEDIATE');
    try {
      const erased = await eraseSubjectRows({
        dialect: SQLITE_DIALECT,
        column: q,
        rows: async (sql, params) => db.prepare(sql).raw(true).safeIntegers(true).all(...params) as unknown[][],
        run: async (sql, params) => db.prepare(sql).run(...params).changes,
      }, quoteQualified(parts), subject, options);
      db.exec(options.dryRun ? 'ROLLBACK' : 'COMMIT');
      return erased;
    } catch (e) {
      db.exec('ROLLBACK');
      throw new RunError(`erasing from ${subject.table} in ${this.path} failed: ${errorMessage(e)}`, undefined, { cause: e });
    }
  }

  /** Rows of a query on the destination's connection (tests, post-load inspection). */
  query(sql: string, params: unknown[] = []): Record<string, unknown>[] {
    const stmt = this.requireDb().prepare(sql);
    if (!stmt.reader) {
      stmt.run(...params);
      return [];
    }
    return stmt.all(...params) as Record<string, unknown>[];
  }

  async close(): Promise<void> {
    await this.loads.abortAll();
    this.db?.close();
    this.db = undefined;
  }

  private requireDb(): SqliteDatabase {
    if (!this.db) throw new RunError('the SQLite destination is not connected');
    return this.db;
  }
}
