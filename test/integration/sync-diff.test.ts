// `sluice diff`: a table compared across two engines, row by row in key order, with each engine's spelling of the
// same value (1.50 and 1.500, t and 1, microseconds, JSON key order) not taken for a change (issue 16, first slice).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { openDatabase } from '../../src/core/sqlite-driver.js';
import { PG_URL, pgQuery, sluice, tempDir } from '../helpers.js';

interface DiffJson {
  tables: { table: string; rows: { a: number; b: number }; only_in_a: number; only_in_b: number; differs: number }[];
  differences: { table: string; key: Record<string, string>; kind: string; columns?: string[] }[];
}

test('sluice diff: PostgreSQL against MariaDB and SQLite, the same values however each engine spells them, and the keys that differ', async () => {
  const { dir, cleanup } = tempDir();
  const name = `sd_${randomBytes(4).toString('hex')}`;
  const maria = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root' });
  const opts = { home: join(dir, '.sluice') };
  try {
    await pgQuery(`CREATE SCHEMA ${name};
      CREATE TABLE ${name}.customers (id int PRIMARY KEY, email text, balance numeric(10,2), updated_at timestamptz, active boolean, doc jsonb);
      INSERT INTO ${name}.customers SELECT i, 'c' || i || '@example.com', i * 1.5, timestamptz '2024-01-01 00:00:00.123456Z' + i * interval '1 minute',
        i % 2 = 0, jsonb_build_object('b', i, 'a', 'x') FROM generate_series(1, 1000) i;
      CREATE TABLE ${name}.tags (tag text PRIMARY KEY, n int);
      INSERT INTO ${name}.tags VALUES ('Zeta', 1), ('alpha', 2), ('Émile', 3), ('émile', 4), ('😀', 5), ('\uE000x', 6), ('b', 7);`);
    await maria.query(`CREATE DATABASE ${name}`);
    await maria.query(`USE ${name}`);
    await maria.query(`CREATE TABLE ${name}.customers (id int PRIMARY KEY, email varchar(100), balance decimal(12,3), updated_at datetime(6), active tinyint(1), doc json)`);
    await maria.query(`INSERT INTO ${name}.customers SELECT seq, CONCAT('c', seq, '@example.com'), seq * 1.5,
      TIMESTAMP('2024-01-01 00:00:00.123456') + INTERVAL seq MINUTE, seq % 2 = 0, JSON_OBJECT('a', 'x', 'b', seq) FROM seq_1_to_1001`);
    // Three differences: a changed email, a row only in a (deleted from b), a row only in b (1001).
    await maria.query(`UPDATE ${name}.customers SET email = 'changed@example.com' WHERE id = 7`);
    await maria.query(`DELETE FROM ${name}.customers WHERE id = 500`);
    const lite = openDatabase(join(dir, 'tags.db'));
    lite.exec('CREATE TABLE tags (tag TEXT PRIMARY KEY, n INTEGER)');
    const insert = lite.prepare('INSERT INTO tags VALUES (?, ?)');
    for (const [tag, n] of [['b', 7], ['😀', 5], ['alpha', 2], ['Zeta', 1], ['émile', 4], ['Émile', 3], ['\uE000x', 6]] as const) insert.run(tag, n);
    lite.close();
    const file = (b: string, tables: string) => {
      const f = join(dir, `${randomBytes(3).toString('hex')}.yaml`);
      writeFileSync(f, `sync: crm-shop\nsystems:\n  a: { type: postgres, url: "${PG_URL}", schema: ${name} }\n  b: ${b}\ntables:\n${tables}`);
      return f;
    };
    const shop = file(`{ type: mysql, host: 127.0.0.1, user: root, database: ${name} }`,
      '  - { name: customers, primary_key: id, direction: a_to_b }\n');
    const r = await sluice(['diff', shop, '--json'], opts);
    assert.equal(r.code, 1, r.stderr);
    const out = JSON.parse(r.stdout) as DiffJson;
    assert.deepEqual(out.tables.map((t) => ({ ...t, columns_only_in: undefined })), [
      { table: 'customers', rows: { a: 1000, b: 1000 }, only_in_a: 1, only_in_b: 1, differs: 1, columns_only_in: undefined },
    ]);
    assert.deepEqual(out.differences.map((d) => [d.key.id, d.kind, d.columns]),
      [['7', 'differs', ['email']], ['500', 'only_in_a', undefined], ['1001', 'only_in_b', undefined]]);
    const text = await sluice(['diff', shop], opts);
    assert.match(text.stdout, /customers {2}id=7 {2}differs {2}\(email\)/);
    assert.match(text.stdout, /customers: 1000 rows in a, 1000 in b; 1 only in a, 1 only in b, 1 differ/);

    await maria.query(`UPDATE ${name}.customers SET email = 'c7@example.com' WHERE id = 7`);
    await maria.query(`INSERT INTO ${name}.customers SELECT 500, 'c500@example.com', 750.000, '2024-01-01 08:20:00.123456', 1, JSON_OBJECT('b', 500, 'a', 'x')`);
    await pgQuery(`INSERT INTO ${name}.customers VALUES (1001, 'c1001@example.com', 1501.5, '2024-01-01 16:41:00.123456Z', false, '{"a": "x", "b": 1001}')`);
    const same = await sluice(['diff', shop, '--json'], opts);
    assert.equal(same.code, 0, same.stdout + same.stderr);
    assert.deepEqual((JSON.parse(same.stdout) as DiffJson).differences, []);

    // Text keys in both engines' byte order (not their collations): upper before lower, accents and emoji after.
    const tags = file('{ type: sqlite, path: tags.db }', '  - { name: tags, primary_key: [tag] }\n    \n');
    const t = await sluice(['diff', tags, '--json', '--table', 'tags'], opts);
    assert.equal(t.code, 2, t.stderr);
    assert.match(t.stderr, /tables\[0\]\.direction a two-way table needs `conflict:`/);
    const tagsOk = file('{ type: sqlite, path: tags.db }', '  - { name: tags, primary_key: [tag], direction: a_to_b }\n');
    const ok = await sluice(['diff', tagsOk, '--json'], opts);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.equal((JSON.parse(ok.stdout) as DiffJson).tables[0].rows.b, 7);
  } finally {
    await pgQuery(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
    await maria.query(`DROP DATABASE IF EXISTS ${name}`);
    await maria.end();
    cleanup();
  }
});

test('a sync file is validated before any work: file, line, key and what is expected', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const f = join(dir, 's.yaml');
    writeFileSync(f, 'sync: Bad_Name\nsystems:\n  a: { type: postgres }\n  b: { type: duckdb, path: x.duckdb }\ntables:\n  - { name: t, primary_key: id, direction: sideways }\n');
    const r = await sluice(['diff', f], { home: join(dir, '.sluice') });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /s\.yaml:1:\d+ sync expected a kebab-case sync name, got `Bad_Name`/);
    assert.match(r.stderr, /s\.yaml:4:\d+ systems\.b\.type unknown destination type `duckdb` \(known destination types: `postgres`, `mysql`, `sqlite`\)/);
    assert.match(r.stderr, /s\.yaml:6:\d+ tables\[0\]\.direction expected one of `a_to_b`/);
  } finally {
    cleanup();
  }
});
