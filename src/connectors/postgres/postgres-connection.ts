// Connection settings shared by the PostgreSQL source and destination: a URL or separate fields, TLS, pool size and
// statement timeout. Passwords are registered as secrets the moment a config is turned into a pool, and every
// error that leaves this folder goes through pgError(), which keeps the server's fields and redacts.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import pg from 'pg';
import { RunError, TransientError, errorMessage } from '../../core/errors.js';
import { redact, registerSecret } from '../../core/redact.js';
import type { ConnectionConfig } from './postgres-options.js';


/** Maps a URL's password and the password field to secrets, so they are masked wherever they would appear. */
export function registerPasswords(c: Partial<ConnectionConfig>): void {
  registerSecret(c.password);
  if (c.url) {
    try {
      const u = new URL(c.url);
      if (u.password) registerSecret(decodeURIComponent(u.password));
    } catch {
      // Not a parseable URL: pg will say so; redact() still masks `scheme://user:pw@` by pattern.
    }
  }
}

/** `postgres://user@host:port/db` — what error messages name the server by; never has a password. */
export function describeTarget(c: Partial<ConnectionConfig>): string {
  let host = c.host;
  let port = c.port;
  let user = c.user;
  let db = c.database;
  if (c.url) {
    try {
      const u = new URL(c.url);
      host ??= u.hostname;
      port ??= u.port ? Number(u.port) : undefined;
      user ??= decodeURIComponent(u.username);
      db ??= decodeURIComponent(u.pathname.replace(/^\//, ''));
    } catch {
      return redact(c.url);
    }
  }
  return `postgres://${user ? `${user}@` : ''}${host ?? 'localhost'}:${port ?? 5432}/${db ?? ''}`;
}

const readPem = (value: string | undefined, baseDir: string): string | undefined =>
  value === undefined ? undefined : value.includes('-----BEGIN') ? value : readFileSync(resolve(baseDir, value), 'utf8');

/** pg's pool config. `types` lets a source install its own per-connection value parsers. */
export function poolConfig(c: Partial<ConnectionConfig>, baseDir: string, types?: pg.CustomTypesConfig): pg.PoolConfig {
  registerPasswords(c);
  const config: pg.PoolConfig = {
    max: c.pool_size ?? 4,
    // Idle connections closed soon: a run is short and a server's connection slots are precious.
    idleTimeoutMillis: 10_000,
    connectionTimeoutMillis: 30_000,
    application_name: 'sluice',
    // Every session in UTC: timestamptz text comes out as UTC on the way out, and date→timestamptz widening means
    // midnight UTC, as the engine's canonical forms do. A startup option, so no statement races the first query.
    options: '-c TimeZone=UTC',
  };
  if (c.url) config.connectionString = c.url;
  if (c.host !== undefined) config.host = c.host;
  if (c.port !== undefined) config.port = c.port;
  if (c.user !== undefined) config.user = c.user;
  if (c.password !== undefined) config.password = c.password;
  if (c.database !== undefined) config.database = c.database;
  if (c.statement_timeout_ms !== undefined) config.statement_timeout = c.statement_timeout_ms;
  if (c.ssl === true) config.ssl = true;
  else if (c.ssl) {
    config.ssl = {
      ca: readPem(c.ssl.ca, baseDir), cert: readPem(c.ssl.cert, baseDir), key: readPem(c.ssl.key, baseDir),
      rejectUnauthorized: c.ssl.reject_unauthorized, servername: c.ssl.servername,
    };
  }
  if (types) config.types = types;
  return config;
}

export function createPool(c: Partial<ConnectionConfig>, baseDir: string, types?: pg.CustomTypesConfig): pg.Pool {
  const pool = new pg.Pool(poolConfig(c, baseDir, types));
  // An idle client losing its connection emits here; without a listener it would crash the process.
  pool.on('error', () => undefined);
  return pool;
}

/** Fields of pg's DatabaseError worth showing: they say which row, column or constraint failed and why. */
const FIELDS = ['detail', 'hint', 'schema', 'table', 'column', 'constraint', 'where'] as const;

const TRANSIENT = /^(08|53|57P0[1-3]|40001|40P01)/;
const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * An error from pg as a Sluice error: the server's SQLSTATE and fields kept in the message, the password masked.
 * Connection losses, serialization failures and deadlocks are transient (worth a retry), the rest stop the run.
 */
export function pgError(e: unknown, what: string, stream?: string): Error {
  if (e instanceof RunError || e instanceof TransientError) return e;
  const err = e as Error & Partial<Record<(typeof FIELDS)[number] | 'code', string>>;
  const parts = [errorMessage(e)];
  if (err.code) parts.push(`code ${err.code}`);
  for (const f of FIELDS) {
    const v = err[f];
    if (v && f !== 'where') parts.push(`${f}: ${v}`);
  }
  // 57P01: the session was ended from outside — by a worker that took this load's task over (claimState), or by hand.
  if (err.code === '57P01') parts.push('the session was ended by another process: a worker that took this task over, or an administrator');
  const message = redact(`${what}: ${parts.join('; ')}`);
  if ((err.code && TRANSIENT.test(err.code)) || (err.code && NETWORK.has(err.code))) {
    return new TransientError(message, undefined, { cause: e });
  }
  return new RunError(message, stream, { cause: e });
}

/**
 * The reason a server error refuses a row's value — a data exception (class 22: out of range, invalid input, too
 * long) or an integrity violation (class 23: NOT NULL, CHECK, UNIQUE, FOREIGN KEY) — or undefined for any other error,
 * and for one already wrapped (a step that is not about rows, such as the state row, wraps its own errors).
 * The message names the column or constraint; the DETAIL, which repeats the row's values, is left out.
 */
export function refusedValue(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string' || !/^2[23]/.test(code)) return undefined;
  return redact(`${errorMessage(e)} (SQLSTATE ${code})`);
}

/** Check a connection out of the pool, with the server named (without password) if that fails. */
export async function connectClient(pool: pg.Pool, c: Partial<ConnectionConfig>): Promise<pg.PoolClient> {
  try {
    const client = await pool.connect();
    // A checked-out client whose session ends between queries (a server restart, pg_terminate_backend by a worker taking
    // the task over) emits 'error'; unheard, that ends the process. The query in flight or the next one fails with
    // the reason, which is where it is handled. Once per client: the pool hands the same ones out again.
    if (!(client as { sluiceListens?: boolean }).sluiceListens) {
      client.on('error', () => undefined);
      (client as { sluiceListens?: boolean }).sluiceListens = true;
    }
    return client;
  } catch (e) {
    throw pgError(e, `cannot connect to ${describeTarget(c)}`);
  }
}
