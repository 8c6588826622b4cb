// `sluice diff` by key-range checksums (src/sync/range-checksum.ts): clustered changes read a small fraction of the
// rows and give exactly the keys the full read gives; equal values of tricky types, spelled differently by
// PostgreSQL, MariaDB and SQLite, hash alike (nothing is read past the checksums), and a change in each is found.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { openDatabase } from '../../src/core/sqlite-driver.js';
import { PG_URL, pgQuery, sluice, tempDir } from '../helpers.js';

interface DiffJson {
  tables: { table: string; rows: { a: number; b: number }; only_in_a: number; only_in_b: number; differs: number }[];
  differences: { table: string; key: Record<string, string>; kind: string; columns?: string[] }[];
  work: { table: string; method: string; ranges: number; rows_hashed: number; rows_fetched: number }[];
}

/** A PostgreSQL schema, a MariaDB database and a SQLite file of one name, dropped at the end. */
async function threeEngines(body: (x: { name: string; dir: string; maria: mysql.Connection; lite: ReturnType<typeof openDatabase>;
  file: (b: 'mysql' | 'sqlite', tables: string) => string; diff: (file: string, ...args: string[]) => Promise<{ code: number | null; out: DiffJson; stderr: string }> }) => Promise<void>) {
  const { dir, cleanup } = tempDir();
  const name = `dc_${randomBytes(4).toString('hex')}`;
  const maria = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', charset: 'utf8mb4' });
  const lite = openDatabase(join(dir, 'b.db'));
  const home = join(dir, '.sluice');
  try {
    await pgQuery(`CREATE SCHEMA ${name}`);
    await maria.query(`CREATE DATABASE ${name} CHARACTER SET utf8mb4`);
    await maria.query(`USE ${name}`);
    const file = (b: 'mysql' | 'sqlite', tables: string) => {
      const f = join(dir, `${randomBytes(3).toString('hex')}.yaml`);
      const side = b === 'mysql' ? `{ type: mysql, host: 127.0.0.1, user: root, database: ${name} }` : '{ type: sqlite, path: b.db }';
      writeFileSync(f, `sync: dc-test\nsystems:\n  a: { type: postgres, url: "${PG_URL}", schema: ${name} }\n  b: ${side}\ntables:\n${tables}`);
      return f;
    };
    const diff = async (f: string, ...args: string[]) => {
      const r = await sluice(['diff', f, '--json', ...args], { home });
      return { code: r.code, out: JSON.parse(r.stdout || '{}') as DiffJson, stderr: r.stderr };
    };
    await body({ name, dir, maria, lite, file, diff });
  } finally {
    lite.close();
    await pgQuery(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
    await maria.query(`DROP DATABASE IF EXISTS ${name}`);
    await maria.end();
    cleanup();
  }
}

const listed = (out: DiffJson) => out.differences.map((d) => [Object.values(d.key)[0], d.kind, d.columns]);

test('sluice diff: clustered changes in 50,000 rows read only the ranges around them (PostgreSQL ↔ MariaDB and SQLite), the same keys as a full read', async () => {
  await threeEngines(async ({ name, maria, lite, file, diff }) => {
    await pgQuery(`CREATE TABLE ${name}.events (id int PRIMARY KEY, kind text, amount numeric(10,2), at timestamptz, flag boolean);
      INSERT INTO ${name}.events SELECT i, 'kind ' || (i % 7), i * 0.25, timestamptz '2024-03-01 00:00:00.5Z' + i * interval '1 second', i % 3 = 0
      FROM generate_series(1, 50000) i`);
    await maria.query(`CREATE TABLE events (id int PRIMARY KEY, kind varchar(20), amount decimal(12,3), at datetime(6), flag tinyint(1))`);
    await maria.query(`INSERT INTO events SELECT seq, CONCAT('kind ', seq % 7), seq * 0.25, TIMESTAMP('2024-03-01 00:00:00.5') + INTERVAL seq SECOND, seq % 3 = 0
      FROM seq_1_to_50000`);
    lite.exec('CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT, amount REAL, at TEXT, flag INTEGER)');
    const insert = lite.prepare('INSERT INTO events VALUES (?, ?, ?, ?, ?)');
    lite.transaction(() => {
      for (let i = 1; i <= 50000; i++) {
        insert.run(i, `kind ${i % 7}`, i * 0.25, new Date(Date.UTC(2024, 2, 1, 0, 0, 0, 500) + i * 1000).toISOString(), i % 3 === 0 ? 1 : 0);
      }
    })();
    // 40 rows changed together, 10 deleted together, 5 added at the end.
    await maria.query('UPDATE events SET amount = amount + 1 WHERE id BETWEEN 20001 AND 20040');
    await maria.query('DELETE FROM events WHERE id BETWEEN 30001 AND 30010');
    await maria.query(`INSERT INTO events SELECT seq, 'new', 1, '2025-01-01', 0 FROM seq_50001_to_50005`);
    lite.exec(`UPDATE events SET amount = amount + 1 WHERE id BETWEEN 20001 AND 20040; DELETE FROM events WHERE id BETWEEN 30001 AND 30010;
      WITH RECURSIVE n(i) AS (SELECT 50001 UNION ALL SELECT i + 1 FROM n WHERE i < 50005) INSERT INTO events SELECT i, 'new', 1, '2025-01-01', 0 FROM n`);
    const expected = [
      ...Array.from({ length: 40 }, (_, i) => [String(20001 + i), 'differs', ['amount']]),
      ...Array.from({ length: 10 }, (_, i) => [String(30001 + i), 'only_in_a', undefined]),
      ...Array.from({ length: 5 }, (_, i) => [String(50001 + i), 'only_in_b', undefined]),
    ];
    for (const b of ['mysql', 'sqlite'] as const) {
      const f = file(b, '  - { name: events, primary_key: id, direction: a_to_b }\n');
      const r = await diff(f);
      assert.equal(r.code, 1, r.stderr);
      assert.deepEqual(listed(r.out), expected, b);
      assert.deepEqual(r.out.tables.map((t) => [t.rows, t.only_in_a, t.only_in_b, t.differs]), [[{ a: 50000, b: 49995 }, 10, 5, 40]], b);
      const [w] = r.out.work;
      assert.equal(w.method, 'checksum', b);
      // 100,000 rows in all: the changed ranges are read as (key, hash), a few hundred rows; only the 40 changed rows whole.
      assert.ok(w.rows_hashed < 2000, `${b}: ${w.rows_hashed} rows hashed`);
      assert.equal(w.rows_fetched, 80, b);
      assert.ok(w.ranges > 0, b);
      const full = await diff(f, '--full');
      assert.deepEqual({ ...full.out, work: undefined }, { ...r.out, work: undefined }, b);
      assert.equal(full.out.work[0].method, 'full');
    }
  });
});

test('sluice diff: equal values of tricky types hash alike across engines; one change in each is found (PostgreSQL ↔ MariaDB and SQLite)', async () => {
  await threeEngines(async ({ name, maria, lite, file, diff }) => {
    await pgQuery(`CREATE TABLE ${name}.tricky (id int PRIMARY KEY, amount numeric(10,2), part numeric, at timestamptz, local_at timestamp,
        flag boolean, data bytea, doc jsonb, note text);
      INSERT INTO ${name}.tricky SELECT i, i * 1.5, i::numeric / 8, timestamptz '2024-01-01 00:00:00.123456Z' + i * interval '1 minute',
        timestamp '2024-02-01 10:00:00' + i * interval '1 second', i % 2 = 0, decode(md5(i::text), 'hex'), jsonb_build_object('b', i, 'a', 'x'),
        CASE i % 4 WHEN 0 THEN NULL WHEN 1 THEN '' WHEN 2 THEN 'Émile ' || i || ' 😀' ELSE 'naïve ' || i END
      FROM generate_series(1, 3000) i`);
    const columns = 'id int PRIMARY KEY, amount decimal(12,4), part decimal(30,10), at datetime(6), local_at datetime, flag tinyint(1), data blob';
    const fill = `SELECT seq, seq * 1.5, seq / 8, TIMESTAMP('2024-01-01 00:00:00.123456') + INTERVAL seq MINUTE,
      TIMESTAMP('2024-02-01 10:00:00') + INTERVAL seq SECOND, seq % 2 = 0, UNHEX(MD5(seq))`;
    const note = `CASE seq % 4 WHEN 0 THEN NULL WHEN 1 THEN '' WHEN 2 THEN CONCAT('Émile ', seq, ' 😀') ELSE CONCAT('naïve ', seq) END`;
    // tricky with a JSON document (carried beside the hash: jsonb and MariaDB's JSON spell keys in other orders), plain without.
    await maria.query(`CREATE TABLE tricky (${columns}, doc json, note varchar(100))`);
    await maria.query(`INSERT INTO tricky ${fill}, JSON_OBJECT('a', 'x', 'b', seq), ${note} FROM seq_1_to_3000`);
    await maria.query(`CREATE TABLE plain (${columns}, note varchar(100))`);
    await maria.query(`INSERT INTO plain ${fill}, ${note} FROM seq_1_to_3000`);
    for (const t of ['tricky', 'plain']) {
      lite.exec(`CREATE TABLE ${t} (id INTEGER PRIMARY KEY, amount REAL, part TEXT, at TEXT, local_at TEXT, flag INTEGER, data BLOB${t === 'tricky' ? ', doc TEXT' : ''}, note TEXT)`);
      const insert = lite.prepare(`INSERT INTO ${t} VALUES (${Array.from({ length: t === 'tricky' ? 9 : 8 }, () => '?').join(', ')})`);
      lite.transaction(() => {
        for (let i = 1; i <= 3000; i++) {
          const at = new Date(Date.UTC(2024, 0, 1) + i * 60000).toISOString().replace('.000Z', '.123456Z');
          const local = new Date(Date.UTC(2024, 1, 1, 10) + i * 1000).toISOString().slice(0, 19).replace('T', ' ');
          const text = [null, '', `Émile ${i} 😀`, `naïve ${i}`][i % 4];
          const md5 = createHash('md5').update(String(i)).digest();
          const row = [i, i * 1.5, (i / 8).toFixed(3), at, local, i % 2 === 0 ? 1 : 0, md5, ...(t === 'tricky' ? [JSON.stringify({ a: 'x', b: i })] : []), text];
          insert.run(...row);
        }
      })();
    }
    const tables = '  - { name: tricky, primary_key: id, direction: a_to_b }\n  - { name: { a: tricky, b: plain }, primary_key: id, direction: a_to_b }\n';
    for (const b of ['mysql', 'sqlite'] as const) {
      const same = await diff(file(b, tables));
      assert.equal(same.code, 0, `${b}: ${JSON.stringify(same.out.differences.slice(0, 5))} ${same.stderr}`);
      assert.deepEqual(same.out.work.map((w) => w.method), ['hashes', 'checksum'], b);
      // Every value spelled alike on both engines: no row read whole, and without the JSON column no row read at all.
      assert.deepEqual(same.out.work.map((w) => w.rows_fetched), [0, 0], b);
      assert.equal(same.out.work[1].rows_hashed, 0, b);
    }
    const changes = (x: (sql: string) => unknown, blob: string, later: (col: string, by: string) => string) => {
      for (const t of ['tricky', 'plain']) {
        x(`UPDATE ${t} SET amount = 15.01 WHERE id = 10`);
        x(`UPDATE ${t} SET at = ${later('at', '0.001')} WHERE id = 20`);
        x(`UPDATE ${t} SET flag = 1 - flag WHERE id = 30`);
        x(`UPDATE ${t} SET data = ${blob} WHERE id = 40`);
        x(`UPDATE ${t} SET note = '' WHERE id = 60`);
        x(`UPDATE ${t} SET note = NULL WHERE id = 61`);
        x(`UPDATE ${t} SET note = 'Émile 62 😁' WHERE id = 62`);
        x(`UPDATE ${t} SET note = 'naive 63' WHERE id = 63`);
        x(`UPDATE ${t} SET local_at = ${later('local_at', '1')} WHERE id = 70`);
        x(`UPDATE ${t} SET part = 10.001 WHERE id = 80`);
      }
    };
    changes((s) => maria.query(s), `UNHEX('00ff')`, (c, by) => `${c} + INTERVAL ${Number(by) * 1e6} MICROSECOND`);
    await maria.query(`UPDATE tricky SET doc = JSON_OBJECT('a', 'y', 'b', 50) WHERE id = 50`);
    changes((s) => lite.exec(s), `x'00ff'`, (c) => (c === 'at' ? `'2024-01-01T00:20:00.124456Z'` : `'2024-02-01 10:01:11'`));
    lite.exec(`UPDATE tricky SET doc = '{"b":50,"a":"y"}' WHERE id = 50`);
    const expected = [[10, 'amount'], [20, 'at'], [30, 'flag'], [40, 'data'], [50, 'doc'], [60, 'note'], [61, 'note'], [62, 'note'], [63, 'note'], [70, 'local_at'], [80, 'part']]
      .map(([id, c]) => [String(id), 'differs', [c]]);
    for (const b of ['mysql', 'sqlite'] as const) {
      const f = file(b, tables);
      const r = await diff(f);
      assert.equal(r.code, 1, r.stderr);
      assert.deepEqual(listed(r.out).slice(0, 11), expected, b);
      assert.deepEqual(listed(r.out).slice(11), expected.filter(([id]) => id !== '50'), b);
      const full = await diff(f, '--full');
      assert.deepEqual({ ...full.out, work: undefined }, { ...r.out, work: undefined }, b);
    }
  });
});

test('sluice diff: text keys split by sampled keys in byte order on every engine (PostgreSQL ↔ MariaDB and SQLite)', async () => {
  await threeEngines(async ({ name, maria, lite, file, diff }) => {
    const special = ['Zeta', 'alpha', 'Émile', 'émile', '😀', '\uE000x', 'b', ' lead', 'k1000'];
    await pgQuery(`CREATE TABLE ${name}.words (w text PRIMARY KEY, n int);
      INSERT INTO ${name}.words SELECT 'k' || i, i FROM generate_series(1, 2000) i WHERE i <> 1000`);
    const rows = [...special.map((w, i) => [w, -i] as const)];
    for (const [w, n] of rows) await pgQuery(`INSERT INTO ${name}.words VALUES ('${w.replaceAll("'", "''")}', ${n})`);
    // MariaDB's key is case-insensitive (unicode_ci): ranges and order must still be by bytes. 'émile' would clash.
    await maria.query('CREATE TABLE words (w varchar(50) COLLATE utf8mb4_unicode_ci PRIMARY KEY, n int)');
    await maria.query(`INSERT INTO words SELECT CONCAT('k', seq), seq FROM seq_1_to_2000 WHERE seq <> 1000`);
    for (const [w, n] of rows) if (w !== 'émile') await maria.query('INSERT INTO words VALUES (?, ?)', [w, n]);
    lite.exec('CREATE TABLE words (w TEXT PRIMARY KEY, n INTEGER)');
    const insert = lite.prepare('INSERT INTO words VALUES (?, ?)');
    for (let i = 2000; i >= 1; i--) if (i !== 1000) insert.run(`k${i}`, i);
    for (const [w, n] of rows) if (w !== 'émile') insert.run(w, n);
    const f = (b: 'mysql' | 'sqlite') => file(b, '  - { name: words, primary_key: w, direction: a_to_b }\n');
    for (const b of ['mysql', 'sqlite'] as const) {
      const same = await diff(f(b));
      assert.deepEqual(listed(same.out), [['émile', 'only_in_a', undefined]], b);
      assert.equal(same.out.work[0].method, 'checksum');
      assert.ok(same.out.work[0].rows_hashed < 400, `${b}: ${same.out.work[0].rows_hashed}`);
    }
    await maria.query(`UPDATE words SET n = 99 WHERE w = 'k1500'`);
    await maria.query(`UPDATE words SET n = 98 WHERE w = '😀'`);
    await maria.query(`DELETE FROM words WHERE w = 'Zeta'`);
    await maria.query(`INSERT INTO words VALUES ('zz', 1)`);
    lite.exec(`UPDATE words SET n = 99 WHERE w = 'k1500'; UPDATE words SET n = 98 WHERE w = '😀'; DELETE FROM words WHERE w = 'Zeta'; INSERT INTO words VALUES ('zz', 1)`);
    for (const b of ['mysql', 'sqlite'] as const) {
      const r = await diff(f(b));
      // By bytes: space, upper case, lower case, then é (C3 A9), U+E000 (EE) and the emoji (F0).
      assert.deepEqual(listed(r.out), [['Zeta', 'only_in_a', undefined], ['k1500', 'differs', ['n']], ['zz', 'only_in_b', undefined],
        ['émile', 'only_in_a', undefined], ['😀', 'differs', ['n']]], b);
      const full = await diff(f(b), '--full');
      assert.deepEqual({ ...full.out, work: undefined }, { ...r.out, work: undefined }, b);
    }
  });
});

test('sluice diff: composite keys go by ranges of their first column, integer or text, and find what a full read finds (PostgreSQL ↔ MariaDB and SQLite)', async () => {
  await threeEngines(async ({ name, maria, lite, file, diff }) => {
    // stock: (region, code), 5,000 regions of 8 codes; labels: (code, n), a text column first. (No code is spelled like
    // a boolean: 'f' is reported as the 0 it compares as, values.ts.)
    const CODES = 'abcdeghj';
    await pgQuery(`CREATE TABLE ${name}.stock (region int, code text, qty int, PRIMARY KEY (region, code));
      INSERT INTO ${name}.stock SELECT r, c, r * 10 + ascii(c) FROM generate_series(1, 5000) r, unnest(ARRAY['a','b','c','d','e','g','h','j']) c;
      CREATE TABLE ${name}.labels (code text, n int, label text, PRIMARY KEY (code, n));
      INSERT INTO ${name}.labels SELECT 'k' || (i % 500), i, 'l' || i FROM generate_series(1, 4000) i`);
    await maria.query(`CREATE TABLE stock (region int, code varchar(4), qty int, PRIMARY KEY (region, code))`);
    await maria.query(`INSERT INTO stock SELECT r.seq, c.code, r.seq * 10 + ASCII(c.code) FROM seq_1_to_5000 r,
      (SELECT 'a' AS code UNION ALL SELECT 'b' UNION ALL SELECT 'c' UNION ALL SELECT 'd' UNION ALL SELECT 'e' UNION ALL SELECT 'g' UNION ALL SELECT 'h' UNION ALL SELECT 'j') c`);
    await maria.query(`CREATE TABLE labels (code varchar(10), n int, label varchar(10), PRIMARY KEY (code, n))`);
    await maria.query(`INSERT INTO labels SELECT CONCAT('k', seq % 500), seq, CONCAT('l', seq) FROM seq_1_to_4000`);
    lite.exec('CREATE TABLE stock (region INTEGER, code TEXT, qty INTEGER, PRIMARY KEY (region, code)); CREATE TABLE labels (code TEXT, n INTEGER, label TEXT, PRIMARY KEY (code, n))');
    const stock = lite.prepare('INSERT INTO stock VALUES (?, ?, ?)');
    const labels = lite.prepare('INSERT INTO labels VALUES (?, ?, ?)');
    lite.transaction(() => {
      for (let r = 1; r <= 5000; r++) for (const c of CODES) stock.run(r, c, r * 10 + c.charCodeAt(0));
      for (let i = 1; i <= 4000; i++) labels.run(`k${i % 500}`, i, `l${i}`);
    })();
    const change = `UPDATE stock SET qty = qty + 1 WHERE region BETWEEN 2001 AND 2003; DELETE FROM stock WHERE region = 3000 AND code = 'c';
      INSERT INTO stock VALUES (5001, 'a', 1); UPDATE labels SET label = 'x' WHERE code = 'k7' AND n = 1507; DELETE FROM labels WHERE code = 'k250' AND n = 250`;
    for (const sql of change.split(';')) await maria.query(sql);
    lite.exec(change);
    const expected = [
      ...[2001, 2002, 2003].flatMap((r) => [...CODES].map((c) => ['stock', `${r}`, c, 'differs', ['qty']])),
      ['stock', '3000', 'c', 'only_in_a', undefined],
      ['stock', '5001', 'a', 'only_in_b', undefined],
      ['labels', 'k250', '250', 'only_in_a', undefined],
      ['labels', 'k7', '1507', 'differs', ['label']],
    ];
    for (const b of ['mysql', 'sqlite'] as const) {
      const f = file(b, '  - { name: stock, primary_key: [region, code], direction: a_to_b }\n  - { name: labels, primary_key: [code, n], direction: a_to_b }\n');
      const r = await diff(f);
      assert.equal(r.code, 1, r.stderr);
      assert.deepEqual(r.out.differences.map((d) => [d.table, ...Object.values(d.key), d.kind, d.columns]), expected, b);
      assert.deepEqual(r.out.work.map((w) => w.method), ['checksum', 'checksum'], b);
      // 88,000 rows in all: a few buckets around the changes are read as (key, hash); whole only the rows that differ.
      assert.ok(r.out.work.every((w) => w.rows_hashed < 1500), `${b}: ${r.out.work.map((w) => w.rows_hashed).join(', ')} rows hashed`);
      assert.deepEqual(r.out.work.map((w) => w.rows_fetched), [48, 2], b);
      const full = await diff(f, '--full');
      assert.deepEqual({ ...full.out, work: undefined }, { ...r.out, work: undefined }, b);
      assert.deepEqual(full.out.work.map((w) => w.method), ['full', 'full']);
    }
  });
});

test('text keys spelled like numbers or booleans are themselves: diff and a two-way sync keep \'007\' and \'7\', \'9\' and \'10\', \'t\' apart (PostgreSQL ↔ MariaDB and SQLite)', async () => {
  await threeEngines(async ({ name, dir, maria, lite, file, diff }) => {
    await pgQuery(`CREATE TABLE ${name}.codes (code varchar(10) PRIMARY KEY, v int);
      INSERT INTO ${name}.codes VALUES ('007', 1), ('10', 1), ('9', 1), ('t', 1), ('1.50', 1)`);
    const rowsB = "('7', 2), ('9', 1), ('t', 2), ('1.5', 2)";
    await maria.query(`CREATE TABLE codes (code varchar(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin PRIMARY KEY, v int)`);
    await maria.query(`INSERT INTO codes VALUES ${rowsB}`);
    lite.exec(`CREATE TABLE codes (code TEXT PRIMARY KEY, v INTEGER); INSERT INTO codes VALUES ${rowsB}`);
    // Keys of an exact decimal type are ordered by value, as the engines order them: 9 < 10 < 100.
    await pgQuery(`CREATE TABLE ${name}.nums (id numeric(10,0) PRIMARY KEY, v int); INSERT INTO ${name}.nums VALUES (9, 1), (10, 1), (100, 1)`);
    await maria.query('CREATE TABLE nums (id decimal(10,0) PRIMARY KEY, v int)');
    await maria.query('INSERT INTO nums VALUES (10, 1), (100, 2), (1000, 1)');
    lite.exec('CREATE TABLE nums (id NUMERIC PRIMARY KEY, v INTEGER); INSERT INTO nums VALUES (10, 1), (100, 2), (1000, 1)');
    for (const b of ['mysql', 'sqlite'] as const) {
      const r = await diff(file(b, '  - { name: nums, primary_key: id, direction: a_to_b }\n'));
      assert.deepEqual(r.out.differences.map((d) => [d.key.id, d.kind]), [['9', 'only_in_a'], ['100', 'differs'], ['1000', 'only_in_b']], b);
    }
    // In byte order: '.' (2E) sorts before '0' (30), so '1.5' < '1.50' < '10'.
    const expected = [['007', 'only_in_a'], ['1.5', 'only_in_b'], ['1.50', 'only_in_a'], ['10', 'only_in_a'], ['7', 'only_in_b'], ['t', 'differs']];
    for (const b of ['mysql', 'sqlite'] as const) {
      const f = file(b, '  - { name: codes, primary_key: code, direction: two_way, conflict: { strategy: source-wins } }\n');
      for (const mode of [[], ['--full']]) {
        const r = await diff(f, ...mode);
        assert.deepEqual(r.out.differences.map((d) => [d.key.code, d.kind]), expected, `${b} ${mode.join('')}`);
      }
      // A two-way sync: every key on one side only goes to the other, none is taken for another or lost.
      const home = join(dir, `.sluice-${b}`);
      const synced = await sluice(['sync', f, '--once', '--json'], { home });
      assert.equal(synced.code, 0, synced.stderr);
      const after = await diff(f);
      assert.equal(after.code, 0, JSON.stringify(after.out.differences));
      const keys = (await pgQuery(`SELECT code FROM ${name}.codes ORDER BY code COLLATE "C"`)).map((r) => r.code);
      assert.deepEqual(keys, ['007', '1.5', '1.50', '10', '7', '9', 't'], b);
      // Again, with the base the first sync kept: nothing to do.
      const again = await sluice(['sync', f, '--once', '--json'], { home });
      const t = (JSON.parse(again.stdout) as { tables: { a_to_b: { inserted: number; updated: number; deleted: number }; b_to_a: { inserted: number; updated: number; deleted: number } }[] }).tables[0];
      assert.deepEqual([t.a_to_b, t.b_to_a], [{ inserted: 0, updated: 0, deleted: 0 }, { inserted: 0, updated: 0, deleted: 0 }], b);
      await pgQuery(`DELETE FROM ${name}.codes WHERE code NOT IN ('007', '10', '9', 't', '1.50'); UPDATE ${name}.codes SET v = 1`);
    }
  });
});

test('sluice diff, PostgreSQL ↔ PostgreSQL: values PostgreSQL calls equal but spells apart (-0, 1 day and 24 hours, char padding) differ as in a full read', async () => {
  const { dir, cleanup } = tempDir();
  const name = `dc_${randomBytes(4).toString('hex')}`;
  try {
    await pgQuery(`CREATE SCHEMA ${name}_a; CREATE SCHEMA ${name}_b;
      CREATE TABLE ${name}_a.t (id int PRIMARY KEY, f float8, iv interval, c character(4), n numeric(10,2), j jsonb, ts timestamptz, note text);
      CREATE TABLE ${name}_b.t (id int PRIMARY KEY, f float8, iv interval, c character(6), n numeric(12,4), j jsonb, ts timestamp(3) with time zone, note text);
      INSERT INTO ${name}_a.t SELECT i, i / 4.0, i * interval '1 hour', NULL, i * 0.5, jsonb_build_object('a', i), timestamptz '2024-01-01Z' + i * interval '1 s', 'n' || i
        FROM generate_series(1, 500) i;
      INSERT INTO ${name}_b.t SELECT * FROM ${name}_a.t;
      UPDATE ${name}_a.t SET f = 0 WHERE id = 100; UPDATE ${name}_b.t SET f = '-0' WHERE id = 100;
      UPDATE ${name}_a.t SET iv = '1 day' WHERE id = 200; UPDATE ${name}_b.t SET iv = '24 hours' WHERE id = 200;
      UPDATE ${name}_a.t SET j = '{"a": 1.0}' WHERE id = 300; UPDATE ${name}_b.t SET j = '{"a": 1}' WHERE id = 300;
      UPDATE ${name}_a.t SET ts = '2024-01-01 00:00:00.1234Z' WHERE id = 400; UPDATE ${name}_b.t SET ts = '2024-01-01 00:00:00.1234Z' WHERE id = 400;
      UPDATE ${name}_a.t SET c = 'ab' WHERE id = 350; UPDATE ${name}_b.t SET c = 'ab' WHERE id = 350;
      UPDATE ${name}_b.t SET note = 'changed' WHERE id = 450`);
    const f = join(dir, 's.yaml');
    writeFileSync(f, `sync: dc-pg\nsystems:\n  a: { type: postgres, url: "${PG_URL}", schema: ${name}_a }\n  b: { type: postgres, url: "${PG_URL}", schema: ${name}_b }\n`
      + 'tables:\n  - { name: t, primary_key: id, direction: a_to_b }\n');
    const home = join(dir, '.sluice');
    const r = await sluice(['diff', f, '--json'], { home });
    const full = await sluice(['diff', f, '--json', '--full'], { home });
    const out = JSON.parse(r.stdout) as DiffJson;
    assert.equal(out.work[0].method, 'checksum');
    assert.deepEqual({ ...out, work: undefined }, { ...(JSON.parse(full.stdout) as DiffJson), work: undefined });
    // -0 and 0, 1 day and 24 hours, 'ab' padded to 4 and to 6 are spelled apart; 1.0 and 1 in JSON, .1234 and .123 s not.
    assert.deepEqual(out.differences.map((d) => [d.key.id, d.kind, d.columns]),
      [['100', 'differs', ['f']], ['200', 'differs', ['iv']], ['350', 'differs', ['c']], ['450', 'differs', ['note']]]);
    assert.ok(out.work[0].rows_hashed < 400, `${out.work[0].rows_hashed} rows hashed`);
  } finally {
    await pgQuery(`DROP SCHEMA IF EXISTS ${name}_a CASCADE; DROP SCHEMA IF EXISTS ${name}_b CASCADE`);
    cleanup();
  }
});

test('sluice diff, MariaDB ↔ MariaDB: unsigned bigint keys past 2^63 split by exact integer bounds', async () => {
  const { dir, cleanup } = tempDir();
  const name = `dc_${randomBytes(4).toString('hex')}`;
  const maria = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', multipleStatements: true });
  try {
    for (const s of ['a', 'b']) {
      await maria.query(`CREATE DATABASE ${name}_${s}; USE ${name}_${s}; CREATE TABLE t (id bigint unsigned PRIMARY KEY, v varchar(20));
        INSERT INTO t SELECT 18446744073709550000 + seq, CONCAT('v', seq) FROM seq_1_to_1000`);
    }
    await maria.query(`UPDATE ${name}_b.t SET v = 'changed' WHERE id = 18446744073709550700; DELETE FROM ${name}_b.t WHERE id = 18446744073709551000`);
    const f = join(dir, 's.yaml');
    writeFileSync(f, `sync: dc-maria\nsystems:\n  a: { type: mysql, host: 127.0.0.1, user: root, database: ${name}_a }\n`
      + `  b: { type: mysql, host: 127.0.0.1, user: root, database: ${name}_b }\ntables:\n  - { name: t, primary_key: id, direction: a_to_b }\n`);
    const r = await sluice(['diff', f, '--json'], { home: join(dir, '.sluice') });
    const out = JSON.parse(r.stdout) as DiffJson;
    assert.deepEqual(listed(out), [['18446744073709550700', 'differs', ['v']], ['18446744073709551000', 'only_in_a', undefined]]);
    assert.equal(out.work[0].method, 'checksum');
    assert.ok(out.work[0].rows_hashed < 200, `${out.work[0].rows_hashed} rows hashed`);
  } finally {
    await maria.query(`DROP DATABASE IF EXISTS ${name}_a; DROP DATABASE IF EXISTS ${name}_b`);
    await maria.end();
    cleanup();
  }
});
