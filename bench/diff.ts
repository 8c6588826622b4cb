// `npm run bench -- diff [rows]`: `sluice diff` on a table of `rows` rows (default 1M) with 1% of them changed —
// spread (every 100th row, table t) and clustered (one run of keys, table c), and spread in a table of a two-column
// key (table k: (region, id), four rows a region) — PostgreSQL against PostgreSQL and
// PostgreSQL against MariaDB, by key-range checksums and with `--full` (every row read, the method before them),
// beside the time psql takes only to read both tables in key order (`\copy (SELECT … ORDER BY id) TO /dev/null`,
// twice): the floor of a diff that reads every row.
import { writeFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { type Measurement, measure, measureSluice, printTable } from './measure.js';

export const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';

/**
 * Two PostgreSQL tables (bench_diff_a.t, bench_diff_b.t) and a MariaDB one (bench_diff.t) of `rows` rows, typed as
 * each engine would (numeric and decimal of other scales, timestamptz and datetime(6), jsonb and json), with 1% of
 * the rows changed in each copy but the first: every 100th. Beside each, table c: the same rows with 1% changed in
 * one run of keys (from the middle); and table k, keyed by (region, id), four ids a region, changed as t.
 */
export async function buildDiffTables(rows: number): Promise<void> {
  const client = new pg.Client(PG_URL);
  await client.connect();
  const maria = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', multipleStatements: true });
  const fill = `SELECT i, 'name ' || i, (i * 1.25)::numeric(12,2), timestamptz '2024-01-01 00:00:00Z' + i * interval '1 second',
    jsonb_build_object('i', i, 'tag', 'x') FROM generate_series(1, ${rows}) i`;
  console.log(`building two PostgreSQL tables and a MariaDB one of ${rows.toLocaleString('en-US')} rows, 1% changed in each copy`);
  for (const s of ['bench_diff_a', 'bench_diff_b']) {
    await client.query(`DROP SCHEMA IF EXISTS ${s} CASCADE; CREATE SCHEMA ${s};
      CREATE TABLE ${s}.t (id int PRIMARY KEY, name text, amount numeric(12,2), at timestamptz, doc jsonb);
      INSERT INTO ${s}.t ${fill}; ANALYZE ${s}.t;
      CREATE TABLE ${s}.c (LIKE ${s}.t INCLUDING ALL); INSERT INTO ${s}.c SELECT * FROM ${s}.t; ANALYZE ${s}.c;
      CREATE TABLE ${s}.k (region int, id int, name text, amount numeric(12,2), PRIMARY KEY (region, id));
      INSERT INTO ${s}.k SELECT id / 4, id, name, amount FROM ${s}.t; ANALYZE ${s}.k`);
  }
  await client.query(`UPDATE bench_diff_b.t SET name = name || '!' WHERE id % 100 = 0`);
  await client.query(`UPDATE bench_diff_b.k SET name = name || '!' WHERE id % 100 = 0`);
  await client.query(`UPDATE bench_diff_b.c SET name = name || '!' WHERE id > ${Math.floor(rows / 2)} AND id <= ${Math.floor(rows / 2) + Math.floor(rows / 100)}`);
  await maria.query(`DROP DATABASE IF EXISTS bench_diff; CREATE DATABASE bench_diff; USE bench_diff;
    CREATE TABLE t (id int PRIMARY KEY, name varchar(100), amount decimal(14,3), at datetime(6), doc json);
    INSERT INTO t SELECT seq, CONCAT('name ', seq), seq * 1.25, TIMESTAMP('2024-01-01') + INTERVAL seq SECOND,
      JSON_OBJECT('tag', 'x', 'i', seq) FROM seq_1_to_${rows};
    CREATE TABLE c LIKE t; INSERT INTO c SELECT * FROM t;
    CREATE TABLE k (region int, id int, name varchar(100), amount decimal(14,3), PRIMARY KEY (region, id));
    INSERT INTO k SELECT id DIV 4, id, name, amount FROM t;
    UPDATE k SET name = CONCAT(name, '!') WHERE id % 100 = 0;
    UPDATE t SET name = CONCAT(name, '!') WHERE id % 100 = 0;
    UPDATE c SET name = CONCAT(name, '!') WHERE id > ${Math.floor(rows / 2)} AND id <= ${Math.floor(rows / 2) + Math.floor(rows / 100)}`);
  await maria.end();
  await client.end();
}

/** A sync file over bench_diff_a's `table` and `b`, in `dir` (`tag` tells files of other tables apart). */
export function benchSyncFile(dir: string, b: string, table: string, tag = ''): string {
  const f = join(dir, `sync-${b.includes('mysql') ? 'mysql' : 'pg'}${tag && `-${tag}`}.yaml`);
  writeFileSync(f, `sync: bench-${b.includes('mysql') ? 'mysql' : 'pg'}\nsystems:\n  a: { type: postgres, url: "${PG_URL}", schema: bench_diff_a }\n  b: ${b}\n`
    + `tables:\n  - ${table}\n`);
  return f;
}

export const PG_B = `{ type: postgres, url: "${PG_URL}", schema: bench_diff_b }`;
export const MARIA_B = '{ type: mysql, host: 127.0.0.1, user: root, database: bench_diff }';

export async function benchDiff(rows: number): Promise<void> {
  const dir = resolve(import.meta.dirname, '..', '..', 'bench', '.data', 'diff');
  mkdirSync(dir, { recursive: true });
  await buildDiffTables(rows);
  const file = (b: string, t: string) => benchSyncFile(dir, b, `{ name: ${t}, primary_key: ${t === 'k' ? '[region, id]' : 'id'}, direction: a_to_b }`, t);
  const home = { SLUICE_HOME: join(dir, 'home') };
  const read = await measure('bash', ['-c', ['a', 'b'].map((s) => `psql -q -d "${PG_URL}" -c "\\copy (SELECT * FROM bench_diff_${s}.t ORDER BY id) TO '/dev/null'"`).join(' && ')]);
  const runs: { name: string; rows: number; m: Measurement }[] = [];
  for (const [t, changes] of [['t', 'spread'], ['c', 'clustered'], ['k', 'spread, (region, id) key']] as const) {
    for (const [pair, b] of [['PostgreSQL ↔ PostgreSQL', PG_B], ['PostgreSQL ↔ MariaDB', MARIA_B]] as const) {
      for (const full of [false, true]) {
        const m = await measureSluice(['diff', file(b, t), '--json', '--limit', '0', ...(full ? ['--full'] : [])], home);
        if (m.code !== 1) throw new Error(`sluice diff (${pair}, ${t}) exited ${m.code}: ${m.stderr}`);
        const out = JSON.parse(m.stdout) as { tables: { differs: number }[]; work: { method: string; ranges: number; rows_hashed: number; rows_fetched: number }[] };
        const w = out.work[0];
        console.log(`${pair}, ${changes}${full ? ', --full' : ''}: ${out.tables[0].differs.toLocaleString('en-US')} rows differ; ${w.method}, `
          + `${w.ranges.toLocaleString('en-US')} ranges, ${w.rows_hashed.toLocaleString('en-US')} rows hashed, ${w.rows_fetched.toLocaleString('en-US')} read whole`);
        runs.push({ name: `sluice diff ${pair.replace('PostgreSQL', 'PG').replace('PostgreSQL', 'PG')} ${changes}${full ? ' --full' : ''}`, rows: rows * 2, m });
      }
    }
  }
  printTable([{ name: 'psql \\copy both tables in key order', rows: rows * 2, m: read, limit: 1 }, ...runs]);
}
