// Staged loads (what dataset gates stand on) and reading a target back, on every destination that offers them:
// a staged load leaves the target untouched until finish, a blocked one can keep its staging for inspection.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import type { Destination, LoadTarget, StreamLoad } from '../../src/core/connector.js';
import type { Schema, WriteDisposition } from '../../src/core/types.js';
import { DuckDBDestination } from '../../src/connectors/duckdb/duckdb-destination.js';
import { PostgresDestination } from '../../src/connectors/postgres/postgres-destination.js';
import { MysqlDestination } from '../../src/connectors/mysql/mysql-destination.js';
import { SqliteDestination } from '../../src/connectors/sqlite/sqlite-destination.js';
import { runContext, tempDir } from '../helpers.js';

const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
const MYSQL = { host: '127.0.0.1', port: 3306, user: 'root' };
const schema: Schema = { columns: [{ name: 'id', type: 'integer', nullable: false }, { name: 'v', type: 'text', nullable: true }] };

interface Kind {
  name: string;
  open(): Promise<{ dest: Destination; count(table: string): Promise<number | null>; cleanup(): Promise<void> }>;
}

const KINDS: Kind[] = [
  {
    name: 'duckdb',
    async open() {
      const { dir, cleanup } = tempDir('sluice-staged-');
      const dest = new DuckDBDestination({ path: join(dir, 'w.duckdb') });
      await dest.connect(runContext(dir));
      return {
        dest,
        async count(table) {
          const [r] = await dest.query(`SELECT count(*)::INTEGER AS n FROM information_schema.tables WHERE table_name = '${table}'`);
          if (Number(r.n) === 0) return null;
          const [c] = await dest.query(`SELECT count(*)::INTEGER AS n FROM "${table}"`);
          return Number(c.n);
        },
        async cleanup() {
          await dest.close();
          cleanup();
        },
      };
    },
  },
  {
    name: 'postgres',
    async open() {
      const s = `sluice_staged_${randomBytes(4).toString('hex')}`;
      const { dir, cleanup } = tempDir('sluice-staged-');
      const dest = new PostgresDestination({ url: PG_URL, schema: s });
      await dest.connect(runContext(dir));
      return {
        dest,
        async count(table) {
          const [r] = await dest.query<{ n: string }>('SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2', [s, table]);
          if (Number(r.n) === 0) return null;
          const [c] = await dest.query<{ n: string }>(`SELECT count(*) AS n FROM "${s}"."${table}"`);
          return Number(c.n);
        },
        async cleanup() {
          await dest.close();
          const c = new pg.Client({ connectionString: PG_URL });
          await c.connect();
          await c.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
          await c.end();
          cleanup();
        },
      };
    },
  },
  {
    name: 'mariadb',
    async open() {
      const db = `sluice_staged_${randomBytes(4).toString('hex')}`;
      const admin = await mysql.createConnection(MYSQL);
      await admin.query(`CREATE DATABASE \`${db}\` CHARACTER SET utf8mb4`);
      const { dir, cleanup } = tempDir('sluice-staged-');
      const dest = new MysqlDestination({ ...MYSQL, database: db });
      await dest.connect(runContext(dir));
      return {
        dest,
        async count(table) {
          const [r] = await dest.query('SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = ? AND table_name = ?', [db, table]);
          if (Number(r.n) === 0) return null;
          const [c] = await dest.query(`SELECT count(*) AS n FROM \`${table}\``);
          return Number(c.n);
        },
        async cleanup() {
          await dest.close();
          await admin.query(`DROP DATABASE IF EXISTS \`${db}\``);
          await admin.end();
          cleanup();
        },
      };
    },
  },
  {
    name: 'sqlite',
    async open() {
      const { dir, cleanup } = tempDir('sluice-staged-');
      const dest = new SqliteDestination({ path: join(dir, 't.sqlite') });
      await dest.connect(runContext(dir));
      return {
        dest,
        async count(table) {
          const [r] = dest.query("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ?", [table]);
          if (Number(r.n) === 0) return null;
          const [c] = dest.query(`SELECT count(*) AS n FROM "${table}"`);
          return Number(c.n);
        },
        async cleanup() {
          await dest.close();
          cleanup();
        },
      };
    },
  },
];

const target = (table: string, disposition: WriteDisposition, staged: boolean): LoadTarget => ({
  pipeline: 'p', stream: table, table, disposition, primaryKey: disposition === 'append' ? [] : ['id'], runId: 'run-1', fullRefresh: false, staged,
});

async function load(dest: Destination, t: LoadTarget, rows: unknown[][]): Promise<StreamLoad> {
  const l = await dest.begin(t);
  await l.evolve(schema);
  await l.write(rows);
  return l;
}

for (const kind of KINDS) {
  describe(`staged loads: ${kind.name}`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    after(async () => {
      for (const c of cleanups) await c();
    });

    for (const write of ['append', 'merge', 'scd2'] as const) {
      test(`${write}: nothing reaches the target before finish; a blocked load keeps its staging`, async () => {
        const db = await kind.open();
        cleanups.push(db.cleanup);
        const table = `t_${write}`;
        // An earlier, unstaged load the blocked one must not disturb.
        const first = await load(db.dest, target(table, write, false), [[1, 'one']]);
        await first.finish({ version: 1 });

        const blocked = await load(db.dest, target(table, write, true), [[2, 'two'], [3, 'three']]);
        assert.equal(await db.count(table), 1, 'staged rows are not visible in the target');
        const kept = await blocked.abort({ keepStaging: true });
        assert.ok(kept && kept.kept && kept.kept.includes(`${table}__sluice_staged`), `staging named: ${JSON.stringify(kept)}`);
        assert.equal(await db.count(`${table}__sluice_staged`), 2, 'the blocked rows are kept for inspection');
        assert.equal(await db.count(table), 1, 'the target is unchanged');
        assert.equal((await db.dest.readState('p', table))?.cursor, undefined);

        const passed = await load(db.dest, target(table, write, true), [[2, 'two'], [4, 'four']]);
        const counts = await passed.finish({ version: 1, cursor: { column: 'id', value: 4 } });
        assert.equal(counts.inserted, 2);
        assert.equal(await db.count(table), 3, 'a passing staged load lands at finish');
        assert.equal(await db.count(`${table}__sluice_staged`), null, 'and drops its staging (the kept one was replaced at begin)');
        assert.deepEqual((await db.dest.readState('p', table))?.cursor, { column: 'id', value: 4 });
      });
    }

    test('readTable streams a committed table back', async () => {
      const db = await kind.open();
      cleanups.push(db.cleanup);
      const rows = Array.from({ length: 12_345 }, (_, i) => [i, `v${i}`]);
      await (await load(db.dest, target('dim', 'merge', false), rows)).finish({ version: 1 });
      let n = 0;
      let sum = 0;
      for await (const batch of db.dest.readTable!('dim', ['id'])) {
        n += batch.length;
        for (const r of batch) sum += Number(r.id);
        assert.deepEqual(Object.keys(batch[0]), ['id']);
      }
      assert.equal(n, rows.length);
      assert.equal(sum, (rows.length * (rows.length - 1)) / 2);
    });
  });
}
