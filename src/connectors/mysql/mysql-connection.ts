// Connection settings shared by the MySQL/MariaDB source and destination: a URL or fields, TLS, pool size and a
// statement timeout. Every connection runs in UTC with utf8mb4 (emoji need four bytes), and every error that leaves
// this folder goes through mysqlError(), which keeps the server's code and redacts the password.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import mysql from 'mysql2/promise';
import type { ConnectionOptions, Pool, PoolConnection, PoolOptions } from 'mysql2/promise';
import { RunError, TransientError, errorMessage } from '../../core/errors.js';
import { redact } from '../../core/redact.js';
import type { MysqlConnectionConfig } from './mysql-options.js';
import { parseConnectionUrl, registerPasswords } from '../sql/connection-url.js';

interface Resolved {
  host: string;
  port: number;
  user: string;
  password?: string;
  database?: string;
}

function resolveFields(c: Partial<MysqlConnectionConfig>): Resolved {
  const u = c.url ? parseConnectionUrl(c.url) : undefined;
  if (c.url && !u) throw new RunError(`invalid MySQL url ${redact(c.url)}: expected mysql://user:password@host:3306/database`);
  return {
    host: c.host ?? u?.host ?? 'localhost',
    port: c.port ?? u?.port ?? 3306,
    user: c.user ?? u?.user ?? 'root',
    password: c.password ?? u?.password,
    database: c.database ?? u?.database,
  };
}

/** `mysql://user@host:port/db` — how messages name the server; never has the password. */
export function describeMysql(c: Partial<MysqlConnectionConfig>): string {
  try {
    const r = resolveFields(c);
    return `mysql://${r.user}@${r.host}:${r.port}/${r.database ?? ''}`;
  } catch {
    return 'mysql://(invalid url)';
  }
}

const readPem = (value: string | undefined, baseDir: string): string | undefined =>
  value === undefined ? undefined : value.includes('-----BEGIN') ? value : readFileSync(resolve(baseDir, value), 'utf8');

/** The database the config names; the destination needs one (tables and state live there). */
export function databaseOf(c: Partial<MysqlConnectionConfig>): string | undefined {
  return resolveFields(c).database;
}

/**
 * A pool whose connections speak utf8mb4 in UTC and return values in lossless forms: DECIMAL and BIGINT as strings,
 * DATE/DATETIME/TIMESTAMP as text (never through a JS Date, which would cut microseconds and apply a zone), JSON as
 * its text (JSON.parse would round numbers beyond 2^53). canonicalRows (mysql-types.ts) finishes the job.
 */
/** The connection settings every connection of Sluice's uses, so values read any way (queries, the binlog) agree. */
export function mysqlOptions(c: Partial<MysqlConnectionConfig>, baseDir: string): ConnectionOptions {
  registerPasswords(c);
  const r = resolveFields(c);
  const options: ConnectionOptions = {
    host: r.host, port: r.port, user: r.user, password: r.password, database: r.database,
    connectTimeout: 30_000,
    charset: 'utf8mb4_unicode_ci',
    timezone: 'Z',
    supportBigNumbers: true,
    bigNumberStrings: true,
    decimalNumbers: false,
    dateStrings: true,
    jsonStrings: true,
    flags: ['+LOCAL_FILES'],
  };
  if (c.ssl === true) options.ssl = {};
  else if (c.ssl) {
    options.ssl = {
      ca: readPem(c.ssl.ca, baseDir), cert: readPem(c.ssl.cert, baseDir), key: readPem(c.ssl.key, baseDir),
      rejectUnauthorized: c.ssl.reject_unauthorized,
    };
  }
  return options;
}

export function createMysqlPool(c: Partial<MysqlConnectionConfig>, baseDir: string): Pool {
  const options: PoolOptions = { ...mysqlOptions(c, baseDir), connectionLimit: c.pool_size ?? 4, maxIdle: 0, idleTimeout: 10_000 };
  const pool = mysql.createPool(options);
  const timeout = c.statement_timeout_ms;
  pool.pool.on('connection', (conn) => {
    // Queued before anything the pool's user sends: a connection is handed out only after these, in order.
    conn.query("SET time_zone = '+00:00'");
    if (timeout !== undefined) {
      // The handshake told mysql2 which server this is; the two spell the setting differently.
      const mariadb = /mariadb/i.test(String((conn as unknown as { _handshakePacket?: { serverVersion?: string } })._handshakePacket?.serverVersion));
      conn.query(mariadb ? `SET SESSION max_statement_time = ${timeout / 1000}` : `SET SESSION max_execution_time = ${timeout}`);
    }
  });
  return pool;
}

interface MysqlDriverError extends Error {
  code?: string;
  errno?: number;
  sqlState?: string;
  sqlMessage?: string;
  fatal?: boolean;
}

/** Deadlock, lock wait timeout, lost connection, server gone, too many connections. */
const TRANSIENT_ERRNO = new Set([1205, 1213, 1040, 1053, 2006, 2013]);
const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'PROTOCOL_CONNECTION_LOST']);

/**
 * An error from mysql2 as a Sluice error: the server's code kept in the message, the password masked, the SQL text
 * left out (it may hold values). Deadlocks, lock timeouts and lost connections are transient; the rest stop the run.
 */
export function mysqlError(e: unknown, what: string, stream?: string): Error {
  if (e instanceof RunError || e instanceof TransientError) return e;
  const err = e as MysqlDriverError;
  const parts = [err.sqlMessage ?? errorMessage(e)];
  if (err.code) parts.push(`code ${err.code}${err.errno ? ` (${err.errno})` : ''}`);
  const message = redact(`${what}: ${parts.join('; ')}`);
  if ((err.errno && TRANSIENT_ERRNO.has(err.errno)) || (err.code && NETWORK.has(err.code))) {
    return new TransientError(message, undefined, { cause: e });
  }
  return new RunError(message, stream, { cause: e });
}

/**
 * The reason a server error refuses a row's value — SQLSTATE class 22 (out of range, too long, a bad date) or 23 (NOT
 * NULL, CHECK, duplicate key), 1265 or 1366 (data truncated, an incorrect value: strict mode's errors, filed under
 * 01000 and HY000) — or undefined otherwise, and for one already wrapped (the state row wraps its own errors).
 */
export function refusedValue(e: unknown): string | undefined {
  const err = e as MysqlDriverError | undefined;
  if (!err || !(/^2[23]/.test(err.sqlState ?? '') || err.errno === 1265 || err.errno === 1366)) return undefined;
  return redact(`${err.sqlMessage ?? errorMessage(err)} (${err.code ?? 'error'} ${err.errno ?? ''})`.replace(' )', ')'));
}

/** Check a connection out of the pool, with the server named (without password) if that fails. */
export async function mysqlConnect(pool: Pool, c: Partial<MysqlConnectionConfig>): Promise<PoolConnection> {
  try {
    return await pool.getConnection();
  } catch (e) {
    throw mysqlError(e, `cannot connect to ${describeMysql(c)}`);
  }
}
