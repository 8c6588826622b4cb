// `npm run bench -- diff [rows]`: `sluice diff` on a table of `rows` rows (default 1M) with 1% of them changed,
// PostgreSQL against PostgreSQL and PostgreSQL against MariaDB, beside the time psql takes only to read both tables
// in key order (`\copy (SELECT … ORDER BY id) TO /dev/null`, twice): the floor of a diff that reads every row.
import { writeFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { measure, measureSluice, printTable } from './measure.js';

export const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';

/**
 * Two PostgreSQL tables (bench_diff_a.t, bench_diff_b.t) and a MariaDB one (bench_diff.t) of `rows` rows, typed as
 * each engine would (numeric and decimal of other scales, timestamptz and datetime(6), jsonb and json), with 1% of
 * the rows changed in each copy but the first.
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
      INSERT INTO ${s}.t ${fill}; ANALYZE ${s}.t`);
  }
  await client.query(`UPDATE bench_diff_b.t SET name = name || '!' WHERE id % 100 = 0`);
  await maria.query(`DROP DATABASE IF EXISTS bench_diff; CREATE DATABASE bench_diff; USE bench_diff;
    CREATE TABLE t (id int PRIMARY KEY, name varchar(100), amount decimal(14,3), at datetime(6), doc json);
    INSERT INTO t SELECT seq, CONCAT('name ', seq), seq * 1.25, TIMESTAMP('2024-01-01') + INTERVAL seq SECOND,
      JSON_OBJECT('tag', 'x', 'i', seq) FROM seq_1_to_${rows};
    UPDATE t SET name = CONCAT(name, '!') WHERE id % 100 = 0`);
  await maria.end();
  await client.end();
}

/** A sync file over bench_diff_a.t and `b`, in `dir`. */
export function benchSyncFile(dir: string, b: string, table: string): string {
  const f = join(dir, `sync-${b.includes('mysql') ? 'mysql' : 'pg'}.yaml`);
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
  const file = (b: string) => benchSyncFile(dir, b, '{ name: t, primary_key: id, direction: a_to_b }');
  const home = { SLUICE_HOME: join(dir, 'home') };
  const read = await measure('bash', ['-c', ['a', 'b'].map((s) => `psql -q -d "${PG_URL}" -c "\\copy (SELECT * FROM bench_diff_${s}.t ORDER BY id) TO '/dev/null'"`).join(' && ')]);
  const pgpg = await measureSluice(['diff', file(PG_B), '--json', '--limit', '0'], home);
  const pgmy = await measureSluice(['diff', file(MARIA_B), '--json', '--limit', '0'], home);
  for (const [name, m] of [['PostgreSQL ↔ PostgreSQL', pgpg], ['PostgreSQL ↔ MariaDB', pgmy]] as const) {
    if (m.code !== 1) throw new Error(`sluice diff (${name}) exited ${m.code}: ${m.stderr}`);
    const t = (JSON.parse(m.stdout) as { tables: { differs: number }[] }).tables[0];
    console.log(`${name}: ${t.differs.toLocaleString('en-US')} rows differ`);
  }
  printTable([
    { name: 'psql \\copy both tables in key order', rows: rows * 2, m: read, limit: 1 },
    { name: 'sluice diff PostgreSQL ↔ PostgreSQL', rows: rows * 2, m: pgpg },
    { name: 'sluice diff PostgreSQL ↔ MariaDB', rows: rows * 2, m: pgmy },
  ]);
}
