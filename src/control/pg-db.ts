// The PostgreSQL control store's connection: a small pool opened on first use (the store is constructed synchronously,
// as openControlStore is), the schema's tables created or migrated then, once, whatever the number of processes
// starting together (an advisory transaction lock serialises them; a version table says what has been applied).
// `pg` is imported on first use too, so a process on the SQLite store never loads it.
import type pg from 'pg';
import { ConfigError } from '../core/errors.js';
import { redact, registerSecret } from '../core/redact.js';

/** The control store's tables, each as a quoted, schema-qualified name. */
export const TABLES = [
  'runs', 'phases', 'streams', 'schema_changes', 'dlq', 'locks', 'quality',
  'scheduled_runs', 'leases', 'audit', 'audit_head', 'alerts', 'outbox', 'backfills', 'run_logs', 'paused',
  'transformer_runs', 'suppressions',
] as const;
export type Tables = Record<(typeof TABLES)[number], string>;

/** One migration: SQL statements over the qualified table names (`t`) and the quoted schema (`s`). */
export type PgMigration = (t: Tables, s: string) => string;

/** A query on the pool or inside a transaction; pg's errors come out redacted and naming the store. */
export type PgQuery = <R extends object = Record<string, unknown>>(sql: string, params?: unknown[]) => Promise<pg.QueryResult<R>>;

export const quoteIdent = (name: string): string => `"${name.split('"').join('""')}"`;

/** PostgreSQL text holds no NUL character: free text (reasons, errors) keeps the rest, NUL shown as U+FFFD. */
export const pgText = <T extends string | null | undefined>(v: T): T => (typeof v === 'string' ? v.split('\0').join('\uFFFD') : v) as T;

export class PgDb {
  /** The schema the tables live in: the URL's `?schema=`, else `sluice`. */
  readonly schema: string;
  readonly t: Tables;
  /** The URL with its password masked, for messages. */
  readonly shown: string;
  private readonly connectionString: string;
  private pool: Promise<pg.Pool> | undefined;
  private closed = false;

  constructor(url: string, private readonly migrations: readonly PgMigration[]) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new ConfigError('SLUICE_CONTROL_URL is not a valid URL; expected postgres://user@host:5432/database[?schema=name]', {
        expected: 'postgres://user@host:5432/database[?schema=name]',
      });
    }
    if (u.password) registerSecret(decodeURIComponent(u.password));
    this.schema = u.searchParams.get('schema') || 'sluice';
    u.searchParams.delete('schema');
    const rest = u.searchParams.toString();
    u.search = rest ? `?${rest}` : '';
    this.connectionString = u.toString();
    this.shown = redact(this.connectionString);
    const s = quoteIdent(this.schema);
    this.t = Object.fromEntries(TABLES.map((name) => [name, `${s}.${quoteIdent(name)}`])) as Tables;
  }

  /** A key for pg_advisory_xact_lock, unique to this store's schema and `what`. */
  lockKey(what: string): string {
    return `sluice:${this.schema}:${what}`;
  }

  readonly query: PgQuery = async (sql, params) => {
    const pool = await this.ready();
    return await pool.query(sql, params).catch((e: unknown) => this.fail(e));
  };

  /** Runs `fn` in one transaction on one connection; committed when it resolves, rolled back when it throws. */
  async tx<T>(fn: (q: PgQuery) => Promise<T>): Promise<T> {
    const pool = await this.ready();
    const client = await pool.connect().catch((e: unknown) => this.fail(e));
    const q: PgQuery = async (sql, params) => await client.query(sql, params).catch((e: unknown) => this.fail(e));
    try {
      await q('BEGIN');
      const out = await fn(q);
      await q('COMMIT');
      client.release();
      return out;
    } catch (e) {
      // A connection that cannot roll back is broken: it leaves the pool.
      await client.query('ROLLBACK').then(() => client.release(), (err: Error) => client.release(err));
      throw e;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const pool = this.pool;
    this.pool = undefined;
    if (pool) await pool.then((p) => p.end(), () => undefined);
  }

  private ready(): Promise<pg.Pool> {
    if (this.closed) return Promise.reject(new Error(`control store ${this.shown} is closed`));
    if (!this.pool) {
      this.pool = this.open();
      // A failed start (server down) is not remembered: the next call tries again.
      this.pool.catch(() => (this.pool = undefined));
    }
    return this.pool;
  }

  private async open(): Promise<pg.Pool> {
    const { default: pgModule } = await import('pg');
    const builtin = pgModule.types;
    const pool = new pgModule.Pool({
      connectionString: this.connectionString,
      max: 4,
      idleTimeoutMillis: 10_000,
      allowExitOnIdle: true,
      application_name: 'sluice-control',
      // Counts, ids and averages as numbers, as the SQLite store gives them (int8 and numeric are text by default).
      types: {
        getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
          oid === builtin.builtins.INT8 || oid === builtin.builtins.NUMERIC ? Number : builtin.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
      },
    });
    // An idle connection the server drops must not crash the process; the next query opens another.
    pool.on('error', () => undefined);
    try {
      await this.migrate(pool);
    } catch (e) {
      await pool.end().catch(() => undefined);
      throw e;
    }
    return pool;
  }

  private async migrate(pool: pg.Pool): Promise<void> {
    const client = await pool.connect().catch((e: unknown) => this.fail(e));
    const q = (sql: string, params?: unknown[]) => client.query(sql, params).catch((e: unknown) => this.fail(e));
    const s = quoteIdent(this.schema);
    const versions = `${s}.${quoteIdent('schema_version')}`;
    try {
      await q('BEGIN');
      await q('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [this.lockKey('migrate')]);
      // Only when missing: CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege even when the schema exists.
      if ((await q('SELECT 1 FROM pg_namespace WHERE nspname = $1', [this.schema])).rowCount === 0) await q(`CREATE SCHEMA ${s}`);
      await q(`CREATE TABLE IF NOT EXISTS ${versions} (version INTEGER NOT NULL)`);
      const row = (await q(`SELECT version FROM ${versions}`)).rows[0] as { version: number } | undefined;
      if (!row) await q(`INSERT INTO ${versions} (version) VALUES (0)`);
      const from = row?.version ?? 0;
      for (let v = from; v < this.migrations.length; v++) await q(this.migrations[v](this.t, s));
      if (from < this.migrations.length) await q(`UPDATE ${versions} SET version = $1`, [this.migrations.length]);
      await q('COMMIT');
      client.release();
    } catch (e) {
      await client.query('ROLLBACK').then(() => client.release(), (err: Error) => client.release(err));
      throw e;
    }
  }

  /** pg's error, redacted and naming the store (never its password); the SQLSTATE code is kept. */
  private fail(e: unknown): never {
    const err = e as Error & { code?: string };
    const wrapped = new Error(`control store ${this.shown}: ${redact(err?.message ?? String(e))}`) as Error & { code?: string };
    if (err?.code) wrapped.code = err.code;
    throw wrapped;
  }
}
