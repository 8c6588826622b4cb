// The SQL destinations the conformance suite runs against: each gets a fresh, uniquely named database or schema on
// the real local server (or a temp file), a way to read rows back, and a cleanup. A new SQL connector is done when
// it is listed here and the suite passes.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { openDatabase } from '../../src/core/sqlite-driver.js';
import mysql from 'mysql2/promise';
import { mysqlName } from '../../src/connectors/mysql/mysql-tables.js';
import { duckQuery, PG_URL, pgQuery, tempDir } from '../helpers.js';

export interface Target {
  /** The `destination:` block of a pipeline file (YAML, indented two spaces). */
  destination: string;
  /** Rows of a query against the target, after the sluice process has exited. */
  query(sql: string): Promise<Record<string, unknown>[]>;
  /** Run DDL against the target before a run (a table the user made); the schema or file is created first. */
  exec(sql: string): Promise<void>;
  /** A table name as the query must spell it (schema-qualified and quoted). */
  table(name: string): string;
  /** An expression reading a column as text, for comparisons that do not depend on the driver's types. */
  text(column: string): string;
  /** An expression reading an array column as JSON text (destinations without arrays store JSON arrays). */
  json(column: string): string;
  /** The destination's type of a column, as its catalog spells it. */
  columnType(table: string, column: string): Promise<string>;
  /** The name the destination stores for a source column name (some cannot store every character). */
  ident?(name: string): string;
  cleanup(): Promise<void>;
}

export interface TargetKind {
  name: string;
  create(): Promise<Target>;
}

const unique = (prefix: string) => `${prefix}_${randomBytes(4).toString('hex')}`;
const dq = (name: string) => `"${name.replace(/"/g, '""')}"`;

const duckdb: TargetKind = {
  name: 'duckdb',
  async create() {
    const { dir, cleanup } = tempDir('sluice-conf-');
    const file = join(dir, 'warehouse.duckdb');
    return {
      destination: `destination:\n  type: duckdb\n  path: ${file}\n`,
      query: (sql) => duckQuery(file, sql),
      exec: async (sql) => void await duckQuery(file, sql),
      table: dq,
      text: (c) => `CAST(${dq(c)} AS VARCHAR)`,
      json: (c) => `CAST(to_json(${dq(c)}) AS VARCHAR)`,
      columnType: async (table, column) => String((await duckQuery(file, `SELECT data_type FROM duckdb_columns() WHERE table_name = '${table}' AND column_name = '${column}'`))[0]?.data_type),
      cleanup: async () => cleanup(),
    };
  },
};


const postgres: TargetKind = {
  name: 'postgres',
  async create() {
    const schema = unique('sluice_conf');
    return {
      destination: `destination:\n  type: postgres\n  url: ${PG_URL}\n  schema: ${schema}\n`,
      query: (sql) => pgQuery(sql),
      exec: async (sql) => void await pgQuery(`CREATE SCHEMA IF NOT EXISTS ${dq(schema)}; ${sql}`),
      table: (name) => `${dq(schema)}.${dq(name)}`,
      text: (c) => `${dq(c)}::text`,
      json: (c) => `to_jsonb(${dq(c)})::text`,
      async columnType(table, column) {
        const [r] = await pgQuery(`SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = '${dq(schema)}.${dq(table)}'::regclass AND attname = '${column}'`);
        return String(r?.t);
      },
      async cleanup() {
        await pgQuery(`DROP SCHEMA IF EXISTS ${dq(schema)} CASCADE`);
      },
    };
  },
};

const MYSQL = { host: '127.0.0.1', port: 3306, user: 'root' };
const bq = (name: string) => `\`${name.replace(/`/g, '``')}\``;

const mysqlTarget: TargetKind = {
  name: 'mysql',
  async create() {
    const db = unique('sluice_conf');
    const admin = await mysql.createConnection(MYSQL);
    await admin.query(`CREATE DATABASE ${bq(db)} CHARACTER SET utf8mb4`);
    await admin.end();
    const withConnection = async <T>(work: (c: mysql.Connection) => Promise<T>): Promise<T> => {
      const c = await mysql.createConnection({ ...MYSQL, database: db, supportBigNumbers: true, bigNumberStrings: true });
      try {
        return await work(c);
      } finally {
        await c.end();
      }
    };
    return {
      destination: `destination:\n  type: mysql\n  url: mysql://root@127.0.0.1:3306/${db}\n`,
      query: (sql) => withConnection(async (c) => (await c.query(sql))[0] as Record<string, unknown>[]),
      exec: (sql) => withConnection(async (c) => void await c.query(sql)),
      table: (name) => `${bq(db)}.${bq(mysqlName(name))}`,
      text: (c) => `CAST(${bq(mysqlName(c))} AS CHAR)`,
      json: (c) => `CAST(${bq(mysqlName(c))} AS CHAR)`,
      columnType: (table, column) => withConnection(async (c) => {
        const [rows] = await c.query('SELECT COLUMN_TYPE AS t FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = ?', [db, mysqlName(table), mysqlName(column)]);
        return String((rows as { t: unknown }[])[0]?.t);
      }),
      ident: mysqlName,
      cleanup: () => withConnection(async (c) => { await c.query(`DROP DATABASE IF EXISTS ${bq(db)}`); }),
    };
  },
};

const sqlite: TargetKind = {
  name: 'sqlite',
  async create() {
    const { dir, cleanup } = tempDir('sluice-conf-');
    const file = join(dir, 'target.sqlite');
    const query = async (sql: string): Promise<Record<string, unknown>[]> => {
      const db = openDatabase(file, { readonly: true });
      try {
        return db.prepare(sql).all() as Record<string, unknown>[];
      } finally {
        db.close();
      }
    };
    return {
      destination: `destination:\n  type: sqlite\n  path: ${file}\n`,
      query,
      async exec(sql) {
        const db = openDatabase(file);
        try {
          db.exec(sql);
        } finally {
          db.close();
        }
      },
      table: dq,
      text: (c) => `CAST(${dq(c)} AS TEXT)`,
      json: (c) => `CAST(${dq(c)} AS TEXT)`,
      async columnType(table, column) {
        const rows = await query(`SELECT type FROM pragma_table_info('${table}') WHERE name = '${column}'`);
        return String(rows[0]?.type);
      },
      cleanup: async () => cleanup(),
    };
  },
};

export const TARGETS: TargetKind[] = [duckdb, postgres, mysqlTarget, sqlite];
