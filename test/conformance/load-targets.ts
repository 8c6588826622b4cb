// The SQL destinations the load-level conformance suite (sql-loads.test.ts) drives through their load API, not the
// CLI: each gets a fresh, uniquely named database, schema or file on the real local server (or in a temp dir), a
// reader of its own to look at what the loads committed, and a cleanup. The sibling of targets.ts, which serves the
// CLI-level suite.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { openDatabase } from '../../src/core/sqlite-driver.js';
import mysql from 'mysql2/promise';
import pg from 'pg';
import type { Destination } from '../../src/core/connector.js';
import { DuckDBDestination } from '../../src/connectors/duckdb/duckdb-destination.js';
import { MysqlDestination } from '../../src/connectors/mysql/mysql-destination.js';
import { PostgresDestination } from '../../src/connectors/postgres/postgres-destination.js';
import { SqliteDestination } from '../../src/connectors/sqlite/sqlite-destination.js';
import { runContext, tempDir } from '../helpers.js';

export interface Column {
  name: string;
  /** The type as the database reports it. */
  type: string;
}

export interface LoadDb {
  /** A new destination connected to this database; called again, it reopens the same one. */
  open(): Promise<Destination>;
  /**
   * Rows of a query from outside the loads, so only committed data (DDL included). Unqualified table names resolve
   * in this database; values come as the kind's driver reads them.
   */
  query(sql: string): Promise<Record<string, unknown>[]>;
  /** A table name quoted and qualified as the destination spells it itself (`abort`'s `kept`, for one). */
  table(name: string): string;
  /** The table's columns, in order. */
  columns(table: string): Promise<Column[]>;
  /** Every table of this database (schema, file), loads' staging included. */
  tables(): Promise<string[]>;
  /** The table's indexes besides its primary key, each as `index(column, …)`. */
  indexes(table: string): Promise<string[]>;
  cleanup(): Promise<void>;
}

export interface LoadKind {
  name: string;
  /** How columns() reports the type a `text` column is created with. */
  textType: string;
  /** indexes() of an append that replaces groups of text column `g` in table `c`. */
  groupIndexes: string[];
  /** The failure of a merge into an existing table without the primary key; undefined when merge needs none. */
  mergeNeedsKey?: RegExp;
  /**
   * A load aborted before its first commit leaves no table. MySQL commits DDL at once, and the SQLite destination
   * keeps the empty table it created, so there it may remain.
   */
  ddlRollsBack: boolean;
  /** Rows per batch readTable yields (the last batch may be shorter). */
  readBatch: number;
  /** How readTable gives back a boolean and a timestamp (ISO UTC text) that were loaded. */
  readsBack: { boolean(v: boolean): unknown; timestamp(iso: string): unknown };
  create(): Promise<LoadDb>;
}

const unique = (prefix: string) => `${prefix}_${randomBytes(4).toString('hex')}`;
const dq = (name: string) => `"${name.replace(/"/g, '""')}"`;
const bq = (name: string) => `\`${name.replace(/`/g, '``')}\``;
const asIs = <T>(v: T): T => v;

/**
 * Destinations a test opened, closed at cleanup whatever state it left them in: a close aborts open loads, so a
 * failed assertion leaves no connection holding a lock the cleanup would wait on.
 */
function opened<D extends Destination>() {
  const all: D[] = [];
  return {
    add(d: D): D {
      all.push(d);
      return d;
    },
    /** The destination opened last (some kinds read through it). */
    get last(): D | undefined {
      return all[all.length - 1];
    },
    async closeAll(): Promise<void> {
      for (const d of all) await d.close();
    },
  };
}

const duckdb: LoadKind = {
  name: 'duckdb',
  ddlRollsBack: true,
  textType: 'VARCHAR',
  // Deliberately no index on the group column: DuckDB deletes by a hash join over a scan of that one column, and an
  // ART index would slow every insert down more than it speeds the delete (duckdb-load.ts).
  groupIndexes: [],
  // duckdb-load.ts resolves the group column only when a commit replaces groups.
  // A DuckDB merge deletes the staged keys and inserts their last rows: the target needs no key constraint.
  mergeNeedsKey: undefined,
  // DuckDB streams results in vectors of 2048 rows.
  readBatch: 2048,
  readsBack: { boolean: asIs, timestamp: (iso) => new Date(iso) },
  async create() {
    const { dir, cleanup } = tempDir('sluice-loads-');
    const dests = opened<DuckDBDestination>();
    // One process cannot open the file a second time while a destination holds it: read through the destination
    // opened last, whose control connection sees committed data only.
    const query = async (sql: string) => {
      const dest = dests.last;
      if (!dest) throw new Error('open a destination before querying DuckDB');
      return dest.query(sql);
    };
    return {
      async open() {
        const dest = dests.add(new DuckDBDestination({ path: join(dir, 'warehouse.duckdb') }));
        await dest.connect(runContext(dir));
        return dest;
      },
      query,
      table: (name) => `"warehouse"."main".${dq(name)}`,
      async columns(table) {
        return await query(`SELECT column_name AS name, data_type AS type FROM information_schema.columns
          WHERE table_schema = 'main' AND table_name = '${table}' ORDER BY ordinal_position`) as unknown as Column[];
      },
      async tables() {
        return (await query("SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'main'")).map((r) => String(r.t));
      },
      async indexes(table) {
        return (await query(`SELECT index_name AS i, expressions AS e FROM duckdb_indexes() WHERE table_name = '${table}'`))
          // expressions is a list literal, `[g]`.
          .map((r) => `${r.i}(${String(r.e).replace(/^\[|\]$/g, '')})`);
      },
      async cleanup() {
        await dests.closeAll();
        cleanup();
      },
    };
  },
};

const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';

const postgres: LoadKind = {
  name: 'postgres',
  ddlRollsBack: true,
  textType: 'text',
  groupIndexes: ['c_sluice_group_idx(g)'],
  mergeNeedsKey: /write: merge needs a primary key or unique index on \(id\)/,
  readBatch: 5000,
  // pg reads timestamptz as a Date (to the millisecond).
  readsBack: { boolean: asIs, timestamp: (iso) => new Date(iso) },
  async create() {
    const schema = unique('sluice_loads');
    const { dir, cleanup } = tempDir('sluice-loads-');
    const dests = opened<PostgresDestination>();
    const outside = new pg.Client({ connectionString: PG_URL });
    await outside.connect();
    await outside.query(`SET search_path TO ${dq(schema)}`);
    const query = async (sql: string) => (await outside.query(sql)).rows as Record<string, unknown>[];
    return {
      async open() {
        const dest = dests.add(new PostgresDestination({ url: PG_URL, schema }));
        await dest.connect(runContext(dir));
        return dest;
      },
      query,
      table: (name) => `${dq(schema)}.${dq(name)}`,
      async columns(table) {
        return (await outside.query(`SELECT column_name AS name, udt_name AS type FROM information_schema.columns
          WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`, [schema, table])).rows as Column[];
      },
      async tables() {
        return (await outside.query('SELECT table_name AS t FROM information_schema.tables WHERE table_schema = $1', [schema])).rows.map((r) => String(r.t));
      },
      async indexes(table) {
        const { rows } = await outside.query(`SELECT c.relname AS i, string_agg(a.attname, ', ' ORDER BY k.n) AS cols
          FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
          CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, n)
          JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
          WHERE x.indrelid = $1::regclass AND NOT x.indisprimary GROUP BY c.relname ORDER BY c.relname`, [`${dq(schema)}.${dq(table)}`]);
        return rows.map((r) => `${r.i}(${r.cols})`);
      },
      async cleanup() {
        try {
          await dests.closeAll();
          await outside.query(`DROP SCHEMA IF EXISTS ${dq(schema)} CASCADE`);
        } finally {
          await outside.end();
          cleanup();
        }
      },
    };
  },
};

const MYSQL = { host: '127.0.0.1', port: 3306, user: 'root' };

const mysqlKind: LoadKind = {
  name: 'mysql',
  ddlRollsBack: false,
  textType: 'longtext',
  // MySQL indexes a prefix of a text column: 191 characters fit its index key limit in utf8mb4.
  groupIndexes: ['sluice_group(g(191))'],
  mergeNeedsKey: /PRIMARY KEY \(id\).*none/,
  readBatch: 5000,
  readsBack: { boolean: asIs, timestamp: asIs },
  async create() {
    const db = unique('sluice_loads');
    const { dir, cleanup } = tempDir('sluice-loads-');
    const dests = opened<MysqlDestination>();
    const admin = await mysql.createConnection({ ...MYSQL, supportBigNumbers: true, bigNumberStrings: true, dateStrings: true, charset: 'utf8mb4_unicode_ci' });
    await admin.query(`CREATE DATABASE ${bq(db)} CHARACTER SET utf8mb4`);
    await admin.query(`USE ${bq(db)}`);
    const query = async (sql: string) => (await admin.query(sql))[0] as Record<string, unknown>[];
    return {
      async open() {
        const dest = dests.add(new MysqlDestination({ ...MYSQL, database: db }));
        await dest.connect(runContext(dir));
        return dest;
      },
      query,
      table: bq,
      async columns(table) {
        return (await query(`SHOW COLUMNS FROM ${bq(table)}`)).map((c) => ({ name: String(c.Field), type: String(c.Type) }));
      },
      async tables() {
        return (await query('SHOW TABLES')).map((r) => String(Object.values(r)[0]));
      },
      async indexes(table) {
        const parts = new Map<string, string[]>();
        for (const r of await query(`SHOW INDEX FROM ${bq(table)} WHERE Key_name <> 'PRIMARY'`)) {
          const column = r.Sub_part === null ? String(r.Column_name) : `${r.Column_name}(${r.Sub_part})`;
          parts.set(String(r.Key_name), [...parts.get(String(r.Key_name)) ?? [], column]);
        }
        return [...parts].map(([name, cols]) => `${name}(${cols.join(', ')})`);
      },
      async cleanup() {
        try {
          await dests.closeAll();
          // A connection still inside the database would make DROP DATABASE wait for it forever.
          const left = await query(`SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = '${db}' AND ID <> CONNECTION_ID()`);
          for (const { id } of left) await admin.query(`KILL ${Number(id)}`).catch(() => undefined);
          await admin.query(`DROP DATABASE IF EXISTS ${bq(db)}`);
        } finally {
          await admin.end();
          cleanup();
        }
      },
    };
  },
};

const sqlite: LoadKind = {
  name: 'sqlite',
  ddlRollsBack: false,
  textType: 'TEXT',
  groupIndexes: ['c__sluice_group(g)'],
  mergeNeedsKey: /PRIMARY KEY \(id\).*none/,
  readBatch: 5000,
  // SQLite has no boolean: it stores 1 and 0.
  readsBack: { boolean: (b) => (b ? 1 : 0), timestamp: asIs },
  async create() {
    const { dir, cleanup } = tempDir('sluice-loads-');
    const dests = opened<SqliteDestination>();
    // A relative path: the destination resolves it against baseDir, where the reader below looks.
    const path = 'db/warehouse.sqlite';
    const query = async (sql: string) => {
      // A connection per query, like another process: WAL lets it read beside the destination's connection.
      const reader = openDatabase(join(dir, path));
      try {
        const stmt = reader.prepare(sql);
        if (stmt.reader) return stmt.all() as Record<string, unknown>[];
        stmt.run();
        return [];
      } finally {
        reader.close();
      }
    };
    return {
      async open() {
        const dest = dests.add(new SqliteDestination({ path }));
        await dest.connect(runContext(dir));
        return dest;
      },
      query,
      table: (name) => `"main".${dq(name)}`,
      async columns(table) {
        return await query(`SELECT name, type FROM pragma_table_info('${table}')`) as unknown as Column[];
      },
      async tables() {
        return (await query("SELECT name FROM sqlite_master WHERE type = 'table'")).map((r) => String(r.name));
      },
      async indexes(table) {
        return (await query(`SELECT il.name AS i, group_concat(ii.name, ', ') AS cols FROM pragma_index_list('${table}') AS il,
          pragma_index_info(il.name) AS ii WHERE il.origin <> 'pk' GROUP BY il.name ORDER BY il.name`)).map((r) => `${r.i}(${r.cols})`);
      },
      async cleanup() {
        await dests.closeAll();
        cleanup();
      },
    };
  },
};

export const LOAD_KINDS: LoadKind[] = [duckdb, postgres, mysqlKind, sqlite];
