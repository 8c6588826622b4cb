// One system of a sync, read for comparison: a table's columns, and its rows streamed in key order — integers by
// value, text keys by their bytes (PostgreSQL's "C" collation, MySQL's utf8mb4_bin, SQLite's BINARY), so that both
// sides arrive in the same order and can be compared as they come, with bounded memory. Values come as the drivers
// give them, PostgreSQL's as its text output; ./values.ts makes them comparable.
import { resolve } from 'node:path';
import Cursor from 'pg-cursor';
import type { DestinationConfig } from '../config/types.js';
import { RunError } from '../core/errors.js';
import { createPool, pgError } from '../connectors/postgres/postgres-connection.js';
import { createMysqlPool, mysqlError } from '../connectors/mysql/mysql-connection.js';
import { openSqlite } from '../connectors/sqlite/sqlite-destination.js';
import { schemaAndName, splitQualified } from '../connectors/sql/qualified-name.js';
import { quoteIdent, quoteQualified } from '../connectors/sql/quote.js';
import { q } from '../connectors/mysql/mysql-tables.js';

export interface SideColumn {
  name: string;
  /** Compared as text in ORDER BY (a collation applies). */
  text: boolean;
  /** The declared type, lower case (`timestamp with time zone`, `tinyint(1)`, `INTEGER` → `integer`). */
  type: string;
}

export interface Side {
  readonly type: string;
  /** The table's columns in order; empty when it does not exist. */
  columns(table: string): Promise<SideColumn[]>;
  /** Rows of `columns` in the order of `key` (a subset of them), in pages. */
  scan(table: string, columns: SideColumn[], key: SideColumn[]): AsyncIterable<unknown[][]>;
  /** A transaction writing rows of `table` (values in the order of `columns`, key first): nothing shows before commit. */
  writer(table: string, columns: SideColumn[], key: SideColumn[]): Promise<SideWriter>;
  close(): Promise<void>;
}

export interface SideWriter {
  /** Updates the row with this key, or inserts it. */
  upsert(row: unknown[]): Promise<void>;
  remove(key: unknown[]): Promise<void>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

/** `UPDATE … SET … WHERE key`, then `INSERT` when no row had the key: no unique index needed. */
function upsertSql(table: string, columns: SideColumn[], key: SideColumn[], quote: (n: string) => string, param: (i: number) => string) {
  const rest = columns.slice(key.length);
  const where = key.map((k, i) => `${quote(k.name)} = ${param(rest.length + i + 1)}`).join(' AND ');
  return {
    // Parameters: the non-key values, then the key.
    update: rest.length ? `UPDATE ${table} SET ${rest.map((c, i) => `${quote(c.name)} = ${param(i + 1)}`).join(', ')} WHERE ${where}` : undefined,
    exists: `SELECT 1 FROM ${table} WHERE ${key.map((k, i) => `${quote(k.name)} = ${param(i + 1)}`).join(' AND ')}`,
    insert: `INSERT INTO ${table} (${columns.map((c) => quote(c.name)).join(', ')}) VALUES (${columns.map((_, i) => param(i + 1)).join(', ')})`,
    remove: `DELETE FROM ${table} WHERE ${key.map((k, i) => `${quote(k.name)} = ${param(i + 1)}`).join(' AND ')}`,
    updateParams: (row: unknown[]) => [...row.slice(key.length), ...row.slice(0, key.length)],
  };
}

const PAGE = 5000;
/** Every PostgreSQL value as its text output: one parser for all, no Date losing microseconds. */
const RAW_TEXT = { getTypeParser: () => (v: string) => v };
const TEXT_TYPES = /char|text|uuid|enum|set/i;

export function openSide(config: DestinationConfig, baseDir: string): Side {
  const c = config as DestinationConfig & Record<string, unknown>;
  if (config.type === 'postgres') return postgresSide(c, baseDir);
  if (config.type === 'mysql') return mysqlSide(c, baseDir);
  if (config.type === 'sqlite') return sqliteSide(resolve(baseDir, String(c.path)));
  throw new RunError(`a sync cannot read a ${config.type} system`);
}

function postgresSide(c: Record<string, unknown>, baseDir: string): Side {
  const pool = createPool(c, baseDir, RAW_TEXT);
  const schema = String(c.schema ?? 'public');
  const name = (table: string) => schemaAndName(table, schema).join('.');
  const quoted = (table: string) => quoteQualified(schemaAndName(table, schema));
  return {
    type: 'postgres',
    async columns(table) {
      try {
        const r = await pool.query<{ name: string; type: string }>(
          `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a
           WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`, [quoted(table)]);
        return r.rows.map((row) => ({ name: row.name, text: TEXT_TYPES.test(row.type), type: row.type.toLowerCase() }));
      } catch (e) {
        throw pgError(e, `reading the columns of ${name(table)}`);
      }
    },
    async *scan(table, columns, key) {
      const client = await pool.connect();
      try {
        const order = key.map((k) => `${quoteIdent(k.name)}${k.text ? ' COLLATE "C"' : ''}`).join(', ');
        const cursor = client.query(new Cursor(`SELECT ${columns.map((col) => quoteIdent(col.name)).join(', ')} FROM ${quoted(table)} ORDER BY ${order}`,
          [], { rowMode: 'array' }));
        while (true) {
          const rows = (await cursor.read(PAGE)) as unknown[][];
          if (rows.length === 0) break;
          yield rows;
        }
        await cursor.close();
      } catch (e) {
        throw pgError(e, `reading ${name(table)}`);
      } finally {
        client.release();
      }
    },
    async writer(table, columns, key) {
      const client = await pool.connect();
      const sql = upsertSql(quoted(table), columns, key, quoteIdent, (i) => `$${i}`);
      const run = async (text: string, values: unknown[]) => {
        try {
          return await client.query(text, values);
        } catch (e) {
          throw pgError(e, `writing ${name(table)}`);
        }
      };
      await run('BEGIN', []);
      let open = true;
      const end = async (how: 'COMMIT' | 'ROLLBACK') => {
        if (!open) return;
        open = false;
        try {
          await run(how, []);
        } finally {
          client.release();
        }
      };
      return {
        async upsert(row) {
          const updated = sql.update ? (await run(sql.update, sql.updateParams(row))).rowCount : (await run(sql.exists, row.slice(0, key.length))).rowCount;
          if (!updated) await run(sql.insert, row);
        },
        async remove(k) {
          await run(sql.remove, k);
        },
        commit: () => end('COMMIT'),
        rollback: () => end('ROLLBACK'),
      };
    },
    close: () => pool.end(),
  };
}

function mysqlSide(c: Record<string, unknown>, baseDir: string): Side {
  const pool = createMysqlPool(c, baseDir);
  const quoted = (table: string) => quoteQualified(splitQualified(table), '`');
  return {
    type: 'mysql',
    async columns(table) {
      try {
        const [rows] = await pool.query(`SHOW COLUMNS FROM ${quoted(table)}`);
        return (rows as { Field: string; Type: string }[]).map((r) => ({ name: r.Field, text: TEXT_TYPES.test(r.Type), type: r.Type.toLowerCase() }));
      } catch (e) {
        if ((e as { errno?: number }).errno === 1146) return [];
        throw mysqlError(e, `reading the columns of ${table}`);
      }
    },
    async *scan(table, columns, key) {
      const conn = await pool.getConnection();
      try {
        const order = key.map((k) => (k.text ? `CONVERT(${q(k.name)} USING utf8mb4) COLLATE utf8mb4_bin` : q(k.name))).join(', ');
        // The promise wrapper has no streaming query; its underlying callback connection does.
        const core = conn.connection as unknown as import('mysql2').Connection;
        const query = core.query({ sql: `SELECT ${columns.map((col) => q(col.name)).join(', ')} FROM ${quoted(table)} ORDER BY ${order}`, rowsAsArray: true });
        let page: unknown[][] = [];
        for await (const row of query.stream({ highWaterMark: PAGE }) as AsyncIterable<unknown[]>) {
          page.push(row);
          if (page.length >= PAGE) {
            yield page;
            page = [];
          }
        }
        if (page.length) yield page;
      } catch (e) {
        throw mysqlError(e, `reading ${table}`);
      } finally {
        conn.release();
      }
    },
    async writer(table, columns, key) {
      const conn = await pool.getConnection();
      const sql = upsertSql(quoted(table), columns, key, q, () => '?');
      const run = async (text: string, values: unknown[]) => {
        try {
          const [r] = await conn.query(text, values);
          return r as { affectedRows?: number; length?: number };
        } catch (e) {
          throw mysqlError(e, `writing ${table}`);
        }
      };
      await run('START TRANSACTION', []);
      let open = true;
      const end = async (how: 'COMMIT' | 'ROLLBACK') => {
        if (!open) return;
        open = false;
        try {
          await run(how, []);
        } finally {
          conn.release();
        }
      };
      return {
        async upsert(row) {
          // MySQL counts an UPDATE that changes nothing as no row: whether the key is there is asked, not inferred.
          const found = (await run(sql.exists, row.slice(0, key.length))).length;
          if (found) {
            if (sql.update) await run(sql.update, sql.updateParams(row));
          } else await run(sql.insert, row);
        },
        async remove(k) {
          await run(sql.remove, k);
        },
        commit: () => end('COMMIT'),
        rollback: () => end('ROLLBACK'),
      };
    },
    close: () => pool.end(),
  };
}

function sqliteSide(path: string): Side {
  const db = openSqlite(path, { readonly: true });
  let writing: ReturnType<typeof openSqlite> | undefined;
  return {
    type: 'sqlite',
    async columns(table) {
      const rows = db.prepare(`SELECT name, type FROM pragma_table_info(?)`).all(table) as { name: string; type: string }[];
      return rows.map((r) => ({ name: r.name, text: TEXT_TYPES.test(r.type), type: r.type.toLowerCase() }));
    },
    async *scan(table, columns, key) {
      const stmt = db.prepare(`SELECT ${columns.map((col) => quoteIdent(col.name)).join(', ')} FROM ${quoteIdent(table)}
        ORDER BY ${key.map((k) => `${quoteIdent(k.name)} COLLATE BINARY`).join(', ')}`).raw(true);
      let page: unknown[][] = [];
      for (const row of stmt.iterate() as Iterable<unknown[]>) {
        page.push(row);
        if (page.length >= PAGE) {
          yield page;
          page = [];
        }
      }
      if (page.length) yield page;
    },
    async writer(table, columns, key) {
      writing ??= openSqlite(path);
      const w = writing;
      const sql = upsertSql(quoteIdent(table), columns, key, quoteIdent, () => '?');
      const update = sql.update ? w.prepare(sql.update) : undefined;
      const exists = w.prepare(sql.exists);
      const insert = w.prepare(sql.insert);
      const remove = w.prepare(sql.remove);
      w.exec('BEGIN IMMEDIATE');
      let open = true;
      const end = async (how: 'COMMIT' | 'ROLLBACK') => {
        if (!open) return;
        open = false;
        w.exec(how);
      };
      return {
        async upsert(row) {
          const found = update ? update.run(...sql.updateParams(row)).changes : exists.raw(true).get(...row.slice(0, key.length)) ? 1 : 0;
          if (!found) insert.run(...row);
        },
        async remove(k) {
          remove.run(...k);
        },
        commit: () => end('COMMIT'),
        rollback: () => end('ROLLBACK'),
      };
    },
    async close() {
      db.close();
      writing?.close();
    },
  };
}
