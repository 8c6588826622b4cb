// `sluice sync --once` (issue 16, hash mode): two real servers kept in step — inserts, updates and deletes found
// against the last agreed base, conflicts settled by their rule, an update kept against a delete — and `sluice diff`
// finding nothing afterwards. One way from SQLite into PostgreSQL, with a dry run. Settings not built yet are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { openDatabase } from '../../src/core/sqlite-driver.js';
import { PG_URL, pgQuery, sluice, tempDir } from '../helpers.js';

interface Applied { inserted: number; updated: number; deleted: number }
interface SyncJson { sync: string; tables: { table: string; rows: { a: number; b: number }; a_to_b: Applied; b_to_a: Applied; conflicts: number; update_delete: number; unchanged: number }[] }

const counts = (x: Applied) => [x.inserted, x.updated, x.deleted];

/**
 * Two schemas of the test database (`<name>_a`, `<name>_b`) as the sides of a sync file of `table` (a YAML list
 * entry); `setUp` makes their tables. Everything is dropped after.
 */
async function withPgPair(sync: string, table: string, setUp: (name: string) => string,
  body: (p: { name: string; file: string; opts: { home: string } }) => Promise<void>): Promise<void> {
  const { dir, cleanup } = tempDir();
  const name = `so_${randomBytes(4).toString('hex')}`;
  try {
    await pgQuery(`CREATE SCHEMA ${name}_a; CREATE SCHEMA ${name}_b; ${setUp(name)}`);
    const file = join(dir, 'sync.yaml');
    writeFileSync(file, `sync: ${sync}
systems:
  a: { type: postgres, url: "${PG_URL}", schema: ${name}_a }
  b: { type: postgres, url: "${PG_URL}", schema: ${name}_b }
tables:
  - ${table}
`);
    await body({ name, file, opts: { home: join(dir, '.sluice') } });
  } finally {
    await pgQuery(`DROP SCHEMA IF EXISTS ${name}_a CASCADE; DROP SCHEMA IF EXISTS ${name}_b CASCADE`);
    cleanup();
  }
}

test('sluice sync --once: PostgreSQL ↔ MariaDB both ways, last-write-wins, an update kept against a delete, then nothing left to diff', async () => {
  const { dir, cleanup } = tempDir();
  const name = `so_${randomBytes(4).toString('hex')}`;
  const maria = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root' });
  const opts = { home: join(dir, '.sluice') };
  try {
    await pgQuery(`CREATE SCHEMA ${name};
      CREATE TABLE ${name}.customers (id int PRIMARY KEY, email text, balance numeric(10,2), updated_at timestamptz, active boolean, doc jsonb, photo bytea);
      INSERT INTO ${name}.customers SELECT i, 'c' || i || '@example.com', i * 1.5, timestamptz '2024-01-01 00:00:00.123456Z' + i * interval '1 minute',
        i % 2 = 0, jsonb_build_object('b', i, 'a', 'x'), decode(lpad(to_hex(i), 4, '0'), 'hex') FROM generate_series(1, 100) i;`);
    await maria.query(`CREATE DATABASE ${name}`);
    await maria.query(`USE ${name}`);
    await maria.query(`CREATE TABLE ${name}.customers (id int PRIMARY KEY, email varchar(100), balance decimal(12,3), updated_at datetime(6), active tinyint(1), doc json, photo blob)`);
    // 50–100 as in PostgreSQL (their own spellings), 101–150 only here; 60 differs: changed here later.
    await maria.query(`INSERT INTO ${name}.customers SELECT seq, CONCAT('c', seq, '@example.com'), seq * 1.5,
      TIMESTAMP('2024-01-01 00:00:00.123456') + INTERVAL seq MINUTE, seq % 2 = 0, JSON_OBJECT('a', 'x', 'b', seq), UNHEX(LPAD(HEX(seq), 4, '0')) FROM seq_50_to_150`);
    await maria.query(`UPDATE ${name}.customers SET email = 'maria60@example.com', updated_at = '2025-06-01 00:00:00' WHERE id = 60`);
    const file = join(dir, 'sync.yaml');
    writeFileSync(file, `sync: crm-shop
systems:
  a: { type: postgres, url: "${PG_URL}", schema: ${name} }
  b: { type: mysql, host: 127.0.0.1, user: root, database: ${name} }
tables:
  - name: customers
    primary_key: id
    direction: two_way
    conflict: { strategy: last-write-wins, column: updated_at }
`);
    const once = async () => {
      const r = await sluice(['sync', file, '--once', '--json'], opts);
      assert.equal(r.code, 0, r.stderr);
      return (JSON.parse(r.stdout) as SyncJson).tables[0];
    };
    const same = async () => {
      const d = await sluice(['diff', file], opts);
      assert.equal(d.code, 0, `diff after sync: ${d.stdout}${d.stderr}`);
    };

    // First sync: no base, so each side's own rows go to the other; 60, present on both and different, is a conflict.
    const first = await once();
    assert.deepEqual(first.rows, { a: 100, b: 101 });
    assert.deepEqual(counts(first.a_to_b), [49, 0, 0]);
    assert.deepEqual(counts(first.b_to_a), [50, 1, 0]);
    assert.equal(first.conflicts, 1);
    await same();
    assert.deepEqual(await pgQuery(`SELECT email, encode(photo, 'hex') AS photo, active FROM ${name}.customers WHERE id IN (60, 150) ORDER BY id`),
      [{ email: 'maria60@example.com', photo: '003c', active: true }, { email: 'c150@example.com', photo: '0096', active: true }]);
    const [[one]] = await maria.query(`SELECT email, HEX(photo) AS photo, active, CAST(updated_at AS char) AS at FROM ${name}.customers WHERE id = 1`) as unknown as [{ email: string; photo: string; active: number; at: string }[]];
    assert.deepEqual(one, { email: 'c1@example.com', photo: '0001', active: 0, at: '2024-01-01 00:01:00.123456' });

    // Changes on each side since then, and two conflicts.
    await pgQuery(`UPDATE ${name}.customers SET email = 'pg5@example.com' WHERE id = 5;
      DELETE FROM ${name}.customers WHERE id = 6;
      UPDATE ${name}.customers SET email = 'pg70@example.com', updated_at = '2025-01-01Z' WHERE id = 70;
      DELETE FROM ${name}.customers WHERE id = 80;`);
    await maria.query(`UPDATE ${name}.customers SET balance = 999.5 WHERE id = 120`);
    await maria.query(`DELETE FROM ${name}.customers WHERE id = 130`);
    await maria.query(`UPDATE ${name}.customers SET email = 'maria70@example.com', updated_at = '2025-02-01' WHERE id = 70`);
    await maria.query(`UPDATE ${name}.customers SET email = 'maria80@example.com' WHERE id = 80`);
    const second = await once();
    assert.deepEqual(counts(second.a_to_b), [0, 1, 1], 'a → b: 5 updated, 6 deleted');
    assert.deepEqual(counts(second.b_to_a), [1, 2, 1], 'b → a: 80 back, 120 and 70 updated, 130 deleted');
    assert.equal(second.conflicts, 2);
    assert.equal(second.update_delete, 1);
    await same();
    assert.deepEqual(await pgQuery(`SELECT id, email, balance::text AS balance FROM ${name}.customers WHERE id IN (5, 6, 70, 80, 120, 130) ORDER BY id`), [
      { id: 5, email: 'pg5@example.com', balance: '7.50' },
      { id: 70, email: 'maria70@example.com', balance: '105.00' },
      { id: 80, email: 'maria80@example.com', balance: '120.00' },
      { id: 120, email: 'c120@example.com', balance: '999.50' },
    ]);

    // Nothing changed since: nothing to do.
    const third = await once();
    assert.deepEqual([counts(third.a_to_b), counts(third.b_to_a), third.conflicts], [[0, 0, 0], [0, 0, 0], 0]);
    assert.equal(third.unchanged, 148, '1–150 but 6 and 130');

    // The change log: the first sync's 150 keys (where each came from), then the second's six changes; none since.
    const log = async (...args: string[]) => {
      const r = await sluice(['changes', 'list', file, '--json', '--limit', '1000', ...args], opts);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as { seq: number; key: string[]; op: string; origin: string; applied: string; row?: Record<string, unknown> }[];
    };
    const events = await log();
    const tally = (from: number, to: number) => events.slice(from, to).reduce<Record<string, number>>((t, e) => ({ ...t, [`${e.op} ${e.origin}→${e.applied}`]: (t[`${e.op} ${e.origin}→${e.applied}`] ?? 0) + 1 }), {});
    assert.deepEqual(tally(0, 150), { 'insert a→b': 49, 'insert b→a': 51, 'insert both→none': 50 });
    assert.deepEqual(tally(150, 160), { 'update a→b': 1, 'delete a→b': 1, 'update b→a': 3, 'delete b→a': 1 });
    assert.deepEqual((await log('--table', 'customers', '--key', 'id=70')).map((e) => [e.op, e.origin, e.row?.email]),
      [['insert', 'both', 'c70@example.com'], ['update', 'b', 'maria70@example.com']]);

    // Replayed into empty copies: on MariaDB the whole log gives the table as it is; on PostgreSQL, up to the first
    // sync's last change, the table as the first sync left it.
    await maria.query(`CREATE TABLE ${name}.rebuilt LIKE ${name}.customers`);
    const replay = await sluice(['changes', 'replay', file, '--table', 'customers', '--to', 'b', '--into', 'rebuilt'], opts);
    assert.equal(replay.code, 0, replay.stderr);
    assert.match(replay.stdout, /^148 rows of customers written into rebuilt on side b/);
    const copies = join(dir, 'copies.yaml');
    writeFileSync(copies, `sync: copies\nsystems:\n  a: { type: mysql, host: 127.0.0.1, user: root, database: ${name} }\n  b: { type: mysql, host: 127.0.0.1, user: root, database: ${name} }\n`
      + 'tables:\n  - { name: { a: customers, b: rebuilt }, primary_key: id, direction: a_to_b }\n');
    const d = await sluice(['diff', copies], opts);
    assert.equal(d.code, 0, `the rebuilt table is the table: ${d.stdout}${d.stderr}`);
    await pgQuery(`CREATE TABLE ${name}.first (LIKE ${name}.customers INCLUDING ALL)`);
    assert.equal((await sluice(['changes', 'replay', file, '--table', 'customers', '--to', 'a', '--into', 'first', '--until', String(events[149].seq)], opts)).code, 0);
    assert.deepEqual(await pgQuery(`SELECT count(*)::int AS n, min(id) AS lo, max(id) AS hi FROM ${name}.first`), [{ n: 150, lo: 1, hi: 150 }]);
    assert.deepEqual(await pgQuery(`SELECT id, email, encode(photo, 'hex') AS photo FROM ${name}.first WHERE id IN (5, 60) ORDER BY id`),
      [{ id: 5, email: 'c5@example.com', photo: '0005' }, { id: 60, email: 'maria60@example.com', photo: '003c' }]);
    const refused = await sluice(['changes', 'replay', file, '--table', 'customers', '--to', 'a'], opts);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /customers on side a holds rows/);
  } finally {
    await pgQuery(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
    await maria.query(`DROP DATABASE IF EXISTS ${name}`);
    await maria.end();
    cleanup();
  }
});

test('sluice sync --once one way, SQLite into PostgreSQL: the target follows the source, its own edits overwritten; a dry run writes nothing', async () => {
  const { dir, cleanup } = tempDir();
  const name = `so_${randomBytes(4).toString('hex')}`;
  const opts = { home: join(dir, '.sluice') };
  try {
    const lite = openDatabase(join(dir, 'src.db'));
    lite.exec(`CREATE TABLE tags (tag TEXT PRIMARY KEY, n INTEGER, seen TIMESTAMP);
      INSERT INTO tags VALUES ('alpha', 1, '2024-05-01 10:00:00'), ('Zeta', 2, NULL), ('émile', 3, '2024-05-02 11:30:00.5');`);
    await pgQuery(`CREATE SCHEMA ${name}; CREATE TABLE ${name}.tags (tag text PRIMARY KEY, n int, seen timestamptz);
      INSERT INTO ${name}.tags VALUES ('old', 9, NULL);`);
    const file = join(dir, 'sync.yaml');
    writeFileSync(file, `sync: tags-out
systems:
  a: { type: sqlite, path: src.db }
  b: { type: postgres, url: "${PG_URL}", schema: ${name} }
tables:
  - { name: tags, primary_key: tag, direction: a_to_b }
`);
    const dry = await sluice(['sync', file, '--once', '--dry-run'], opts);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /tags: 3 rows in a, 1 in b; a → b: 3 inserted, 0 updated, 1 deleted; b → a: 0 inserted, 0 updated, 0 deleted; 0 conflicts \(dry run: nothing written\)/);
    assert.deepEqual(await pgQuery(`SELECT tag FROM ${name}.tags`), [{ tag: 'old' }]);

    const r = await sluice(['sync', file, '--once'], opts);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await pgQuery(`SELECT tag, n, seen::text AS seen FROM ${name}.tags ORDER BY tag COLLATE "C"`), [
      { tag: 'Zeta', n: 2, seen: null }, { tag: 'alpha', n: 1, seen: '2024-05-01 10:00:00+00' }, { tag: 'émile', n: 3, seen: '2024-05-02 11:30:00.5+00' },
    ]);
    // An edit on the target is overwritten by the next sync; a row deleted at the source goes.
    await pgQuery(`UPDATE ${name}.tags SET n = 100 WHERE tag = 'alpha'`);
    lite.exec(`DELETE FROM tags WHERE tag = 'Zeta'`);
    lite.close();
    const again = await sluice(['sync', file, '--once', '--json'], opts);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(counts((JSON.parse(again.stdout) as SyncJson).tables[0].a_to_b), [0, 1, 1]);
    assert.deepEqual(await pgQuery(`SELECT tag, n FROM ${name}.tags ORDER BY tag COLLATE "C"`), [{ tag: 'alpha', n: 1 }, { tag: 'émile', n: 3 }]);
    assert.equal((await sluice(['diff', file], opts)).code, 0);
  } finally {
    await pgQuery(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
    cleanup();
  }
});

test('sluice sync refuses, before any work, what it cannot run: a hash sync without --once, cdc from SQLite, soft deletes without their column', async () => {
  const { dir, cleanup } = tempDir();
  const opts = { home: join(dir, '.sluice') };
  try {
    const write = (extra: string, table = '{ name: t, primary_key: id, direction: a_to_b }') => {
      const f = join(dir, `${randomBytes(3).toString('hex')}.yaml`);
      writeFileSync(f, `sync: later\n${extra}systems:\n  a: { type: sqlite, path: a.db }\n  b: { type: sqlite, path: b.db }\ntables:\n  - ${table}\n`);
      return f;
    };
    const cases: [string[], RegExp][] = [
      [['sync', write('')], /a hash sync runs once: run `sluice sync <file> --once`.*or set mode: cdc/],
      [['sync', write('mode: cdc\n'), '--once'], /systems\.a\.type mode: cdc reads PostgreSQL's write-ahead log or MariaDB's binary log; reading side a \(sqlite\) is not built/],
      [['sync', write('', '{ name: t, primary_key: id, direction: a_to_b, deletes: soft }'), '--once'], /tables\[0\]\.deletes soft deletes need `deleted_column`, the column that marks a row deleted/],
    ];
    for (const [args, message] of cases) {
      const r = await sluice(args, opts);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
  } finally {
    cleanup();
  }
});

test('deletes: soft, PostgreSQL ↔ SQLite both ways: a delete marks the other side\'s row, a marked row counts as deleted and is not carried back, and one unmarked comes back', async () => {
  const { dir, cleanup } = tempDir();
  const name = `so_${randomBytes(4).toString('hex')}`;
  const opts = { home: join(dir, '.sluice') };
  try {
    const lite = openDatabase(join(dir, 'b.db'));
    lite.exec(`CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT, deleted_at TIMESTAMP);
      INSERT INTO people VALUES (1, 'ann', NULL), (2, 'bob', NULL), (3, 'cy', NULL), (4, 'di', '2024-01-01 00:00:00');`);
    await pgQuery(`CREATE SCHEMA ${name}; CREATE TABLE ${name}.people (id int PRIMARY KEY, name text, deleted_at timestamptz);
      INSERT INTO ${name}.people VALUES (1, 'ann', NULL), (2, 'bob', NULL), (3, 'cy', NULL);`);
    const file = join(dir, 'sync.yaml');
    writeFileSync(file, `sync: soft-people
systems:
  a: { type: postgres, url: "${PG_URL}", schema: ${name} }
  b: { type: sqlite, path: b.db }
tables:
  - { name: people, primary_key: id, direction: two_way, conflict: { strategy: source-wins }, deletes: soft, deleted_column: deleted_at }
`);
    const once = async () => {
      const r = await sluice(['sync', file, '--once', '--json'], opts);
      assert.equal(r.code, 0, r.stderr);
      const t = (JSON.parse(r.stdout) as SyncJson).tables[0];
      return [counts(t.a_to_b), counts(t.b_to_a)];
    };
    const people = () => lite.prepare('SELECT id, name, deleted_at IS NOT NULL AS gone FROM people ORDER BY id').all();
    assert.deepEqual(await once(), [[0, 0, 0], [0, 0, 0]], '4, marked on b only, is deleted there: nothing to carry');

    await pgQuery(`DELETE FROM ${name}.people WHERE id = 2`);
    assert.deepEqual(await once(), [[0, 0, 1], [0, 0, 0]], 'a hard delete on a: b\'s row marked');
    assert.deepEqual(people(), [{ id: 1, name: 'ann', gone: 0 }, { id: 2, name: 'bob', gone: 1 }, { id: 3, name: 'cy', gone: 0 }, { id: 4, name: 'di', gone: 1 }]);
    assert.deepEqual(await once(), [[0, 0, 0], [0, 0, 0]], 'the mark is not carried back as a change');
    const d = await sluice(['diff', file], opts);
    assert.equal(d.code, 0, `a row marked on b and gone on a are the same to diff: ${d.stdout}`);

    lite.exec(`UPDATE people SET deleted_at = '2025-06-01 12:00:00' WHERE id = 3`);
    assert.deepEqual(await once(), [[0, 0, 0], [0, 0, 1]], 'marked on b: a\'s row marked too');
    assert.deepEqual(await pgQuery(`SELECT id, name, deleted_at IS NOT NULL AS gone FROM ${name}.people ORDER BY id`),
      [{ id: 1, name: 'ann', gone: false }, { id: 3, name: 'cy', gone: true }]);

    lite.exec(`UPDATE people SET deleted_at = NULL, name = 'cy again' WHERE id = 3`);
    assert.deepEqual(await once(), [[0, 0, 0], [1, 0, 0]], 'unmarked on b: back on a');
    assert.deepEqual(await pgQuery(`SELECT name, deleted_at FROM ${name}.people WHERE id = 3`), [{ name: 'cy again', deleted_at: null }]);
    assert.deepEqual(await once(), [[0, 0, 0], [0, 0, 0]]);
    lite.close();
  } finally {
    await pgQuery(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
    cleanup();
  }
});

test('a sync that fails writing one side keeps the last base: the next one applies what is missing, nothing twice', async () => {
  await withPgPair('pg-pair', '{ name: t, primary_key: id, direction: two_way, conflict: { strategy: source-wins } }', (name) => `
      CREATE TABLE ${name}_a.t (id int PRIMARY KEY, v text); INSERT INTO ${name}_a.t SELECT i, 'v' || i FROM generate_series(1, 10) i;
      CREATE TABLE ${name}_b.t (id int PRIMARY KEY, v text CONSTRAINT no_poison CHECK (v <> 'poison'));
      INSERT INTO ${name}_b.t SELECT i, 'v' || i FROM generate_series(6, 15) i;`, async ({ name, file, opts }) => {
    assert.equal((await sluice(['sync', file, '--once'], opts)).code, 0);
    await pgQuery(`UPDATE ${name}_a.t SET v = 'poison' WHERE id = 1; UPDATE ${name}_b.t SET v = 'b12' WHERE id = 12;`);
    for (let attempt = 0; attempt < 2; attempt++) {
      const failed = await sluice(['sync', file, '--once'], opts);
      assert.equal(failed.code, 1, failed.stdout);
      assert.match(failed.stderr, /no_poison/);
      // Side a committed its change (12) before side b refused 1; b is untouched.
      assert.deepEqual(await pgQuery(`SELECT v FROM ${name}_a.t WHERE id = 12`), [{ v: 'b12' }]);
      assert.deepEqual(await pgQuery(`SELECT v FROM ${name}_b.t WHERE id = 1`), [{ v: 'v1' }]);
    }
    await pgQuery(`ALTER TABLE ${name}_b.t DROP CONSTRAINT no_poison`);
    const r = await sluice(['sync', file, '--once', '--json'], opts);
    assert.equal(r.code, 0, r.stderr);
    const t = (JSON.parse(r.stdout) as SyncJson).tables[0];
    // 12 is the same on both sides now: only 1 is left to write, and no conflict is seen.
    assert.deepEqual([counts(t.a_to_b), counts(t.b_to_a), t.conflicts], [[0, 1, 0], [0, 0, 0], 0]);
    assert.equal((await sluice(['diff', file], opts)).code, 0);
    assert.deepEqual(await pgQuery(`SELECT count(*)::int AS n FROM ${name}_a.t`), [{ n: 15 }]);
  });
});

test('a row changed after the sync read it is not overwritten: the write is guarded, and the next sync carries the newer change the other way', async () => {
  await withPgPair('guarded', '{ name: t, primary_key: id, direction: two_way, conflict: { strategy: source-wins } }', (name) => `
      CREATE TABLE ${name}_a.t (id int PRIMARY KEY, v text); CREATE TABLE ${name}_b.t (id int PRIMARY KEY, v text);
      INSERT INTO ${name}_a.t VALUES (1, 'x'), (2, 'y'); INSERT INTO ${name}_b.t VALUES (1, 'x'), (2, 'y');`, async ({ name, file, opts }) => {
    assert.equal((await sluice(['sync', file, '--once'], opts)).code, 0);
    // A user's write to b's row 1 lands while the sync writes side a (a trigger there makes it), after b was read.
    await pgQuery(`CREATE FUNCTION ${name}_a.late() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN UPDATE ${name}_b.t SET v = 'late' WHERE id = 1; RETURN NEW; END $$;
      CREATE TRIGGER late AFTER UPDATE ON ${name}_a.t FOR EACH ROW WHEN (NEW.id = 2) EXECUTE FUNCTION ${name}_a.late();
      UPDATE ${name}_a.t SET v = 'a1' WHERE id = 1; UPDATE ${name}_b.t SET v = 'b2' WHERE id = 2;`);
    const r = await sluice(['sync', file, '--once', '--json'], opts);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { tables: { changed_meanwhile: number }[] }).tables[0].changed_meanwhile, 1);
    assert.deepEqual(await pgQuery(`SELECT v FROM ${name}_b.t WHERE id = 1`), [{ v: 'late' }], 'the later write is kept');
    await pgQuery(`DROP TRIGGER late ON ${name}_a.t`);
    assert.equal((await sluice(['sync', file, '--once'], opts)).code, 0);
    assert.equal((await sluice(['diff', file], opts)).code, 0);
    assert.deepEqual(await pgQuery(`SELECT v FROM ${name}_a.t ORDER BY id`), [{ v: 'late' }, { v: 'b2' }]);
  });
});

test('last-write-wins with a clock skew: writes closer together than it are settled by the fallback, farther apart by the later one', async () => {
  const table = '{ name: t, primary_key: id, direction: two_way, conflict: { strategy: last-write-wins, column: at, clock_skew: 5s, fallback: target-wins } }';
  await withPgPair('skewed', table, (name) => ['a', 'b'].map((s) => `CREATE TABLE ${name}_${s}.t (id int PRIMARY KEY, v text, at timestamptz);
      INSERT INTO ${name}_${s}.t VALUES (1, 'x', '2024-01-01Z'), (2, 'y', '2024-01-01Z');`).join('\n'), async ({ name, file, opts }) => {
    assert.equal((await sluice(['sync', file, '--once'], opts)).code, 0);
    await pgQuery(`UPDATE ${name}_a.t SET v = 'a1', at = '2025-01-01 00:00:03Z' WHERE id = 1; UPDATE ${name}_a.t SET v = 'a2', at = '2025-01-01 00:00:30Z' WHERE id = 2;
      UPDATE ${name}_b.t SET v = 'b1', at = '2025-01-01 00:00:00Z' WHERE id = 1; UPDATE ${name}_b.t SET v = 'b2', at = '2025-01-01 00:00:00Z' WHERE id = 2;`);
    const r = await sluice(['sync', file, '--once', '--json'], opts);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await sluice(['diff', file], opts)).code, 0);
    assert.deepEqual(await pgQuery(`SELECT id, v FROM ${name}_a.t ORDER BY id`), [{ id: 1, v: 'b1' }, { id: 2, v: 'a2' }],
      '3 s apart: the fallback (side b); 30 s apart: the later write');
    writeFileSync(file, readFileSync(file, 'utf8').replace('column: at, ', ''));
    const bad = await sluice(['sync', file, '--once'], opts);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /clock_skew is for last-write-wins on a timestamp column/);
  });
});

test('manual-review, SQLite ↔ PostgreSQL: a key changed on both sides is held with both versions until a person takes a side', async () => {
  const { dir, cleanup } = tempDir();
  const name = `so_${randomBytes(4).toString('hex')}`;
  const opts = { home: join(dir, '.sluice') };
  try {
    await pgQuery(`CREATE SCHEMA ${name}; CREATE TABLE ${name}.t (id int PRIMARY KEY, name text, n int);
      INSERT INTO ${name}.t SELECT i, 'name ' || i, i FROM generate_series(1, 5) i;`);
    const lite = openDatabase(join(dir, 'b.db'));
    lite.exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, n INTEGER);
      WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 5) INSERT INTO t SELECT i, 'name ' || i, i FROM s;`);
    const file = join(dir, 'sync.yaml');
    writeFileSync(file, `sync: reviewed
systems:
  a: { type: postgres, url: "${PG_URL}", schema: ${name} }
  b: { type: sqlite, path: b.db }
tables:
  - { name: t, primary_key: id, conflict: { strategy: manual-review } }
`);
    const sync = async (code: number) => {
      const r = await sluice(['sync', file, '--once', '--json'], opts);
      assert.equal(r.code, code, r.stderr);
      return (JSON.parse(r.stdout) as SyncJson).tables[0] as SyncJson['tables'][0] & { held: number };
    };
    const list = async (...more: string[]) => {
      const r = await sluice(['conflicts', 'list', file, '--json', ...more], opts);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as { id: number; key: Record<string, string>; a: Record<string, string>; b: Record<string, string>; take: string | null; applied_at: string | null }[];
    };
    const first = await sync(0);
    assert.equal(first.unchanged, 5, 'the same rows on both sides agree at once');

    await pgQuery(`UPDATE ${name}.t SET name = 'A2' WHERE id = 2; UPDATE ${name}.t SET n = 30 WHERE id = 3; UPDATE ${name}.t SET name = 'A4' WHERE id = 4`);
    lite.exec(`UPDATE t SET name = 'B2' WHERE id = 2; UPDATE t SET name = 'B4' WHERE id = 4`);
    const held = await sync(3);
    assert.deepEqual([counts(held.a_to_b), counts(held.b_to_a), held.conflicts, held.held], [[0, 1, 0], [0, 0, 0], 2, 2]);
    assert.deepEqual(lite.prepare('SELECT name, n FROM t WHERE id IN (2, 3) ORDER BY id').all(), [{ name: 'B2', n: 2 }, { name: 'name 3', n: 30 }]);
    let open = await list();
    assert.deepEqual(open.map((c) => [c.key.id, c.a.name, c.b.name, c.take]), [['2', 'A2', 'B2', null], ['4', 'A4', 'B4', null]]);
    const shown = await sluice(['conflicts', 'show', file, String(open[0].id)], opts);
    assert.match(shown.stdout, /name\s+a: A2 {3}≠ {3}b: B2/);
    // Held again, not recorded twice.
    await sync(3);
    assert.equal((await list()).length, 2);

    assert.equal((await sluice(['conflicts', 'resolve', file, String(open[0].id), '--take', 'b'], opts)).code, 0);
    assert.equal((await sluice(['conflicts', 'resolve', file, String(open[1].id), '--take', 'a'], opts)).code, 0);
    // Side a of 4 changes again after the decision: a new conflict, shown again.
    await pgQuery(`UPDATE ${name}.t SET name = 'A4 again' WHERE id = 4`);
    const resolved = await sync(3);
    assert.deepEqual([counts(resolved.b_to_a), resolved.held], [[0, 1, 0], 1]);
    assert.deepEqual(await pgQuery(`SELECT name FROM ${name}.t WHERE id = 2`), [{ name: 'B2' }]);
    open = await list();
    assert.deepEqual(open.map((c) => [c.key.id, c.a.name, c.take]), [['4', 'A4 again', null]]);
    assert.equal((await list('--all')).filter((c) => c.applied_at).length, 1);

    assert.equal((await sluice(['conflicts', 'resolve', file, String(open[0].id), '--take', 'a'], opts)).code, 0);
    await sync(0);
    assert.deepEqual(lite.prepare('SELECT name FROM t WHERE id = 4').all(), [{ name: 'A4 again' }]);
    assert.deepEqual(await list(), []);
    assert.equal((await sluice(['diff', file], opts)).code, 0);
    const bad = await sluice(['conflicts', 'resolve', file, '999', '--take', 'a'], opts);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /no open conflict #999/);
    lite.close();
  } finally {
    await pgQuery(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
    cleanup();
  }
});

test('two syncs of one file never work from the same base: the second says another is running', async () => {
  const { dir, cleanup } = tempDir();
  const opts = { home: join(dir, '.sluice') };
  try {
    for (const side of ['a', 'b']) {
      const db = openDatabase(join(dir, `${side}.db`));
      db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'x');");
      db.close();
    }
    const file = join(dir, 'sync.yaml');
    writeFileSync(file, 'sync: locked-pair\nsystems:\n  a: { type: sqlite, path: a.db }\n  b: { type: sqlite, path: b.db }\ntables:\n  - { name: t, primary_key: id, direction: a_to_b }\n');
    assert.equal((await sluice(['sync', file, '--once'], opts)).code, 0);
    // A sync in progress holds its base's write lock for its whole run; this test holds it instead.
    const holder = openDatabase(join(dir, '.sluice', 'sync', 'locked-pair.db'));
    holder.exec('BEGIN IMMEDIATE');
    try {
      const second = await sluice(['sync', file, '--once'], opts);
      assert.equal(second.code, 1, second.stdout);
      assert.match(second.stderr, /another sync of "locked-pair" is running/);
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
    assert.equal((await sluice(['sync', file, '--once'], opts)).code, 0);
  } finally {
    cleanup();
  }
});

test('merge, PostgreSQL ↔ MariaDB: a key changed on both sides is merged field by field against the last agreed version', async () => {
  const { dir, cleanup } = tempDir();
  const name = `so_${randomBytes(4).toString('hex')}`;
  const maria = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root' });
  const opts = { home: join(dir, '.sluice') };
  try {
    await pgQuery(`CREATE SCHEMA ${name}; CREATE TABLE ${name}.people (id int PRIMARY KEY, name text, email text, n numeric(8,2), updated_at timestamptz);
      INSERT INTO ${name}.people SELECT i, 'name ' || i, 'p' || i || '@example.com', i, timestamptz '2024-01-01Z' FROM generate_series(1, 3) i;`);
    await maria.query(`CREATE DATABASE ${name}`);
    await maria.query(`CREATE TABLE ${name}.people (id int PRIMARY KEY, name varchar(50), email varchar(50), n decimal(10,3), updated_at datetime(6))`);
    await maria.query(`INSERT INTO ${name}.people VALUES (1, 'name 1', 'p1@example.com', 1, '2024-01-01'), (2, 'name 2', 'p2@example.com', 2, '2024-01-01'), (3, 'name 3', 'p3@example.com', 3, '2024-01-01')`);
    const file = join(dir, 'sync.yaml');
    writeFileSync(file, `sync: merged
systems:
  a: { type: postgres, url: "${PG_URL}", schema: ${name} }
  b: { type: mysql, host: 127.0.0.1, user: root, database: ${name} }
tables:
  - { name: people, primary_key: id, conflict: { strategy: merge, column: updated_at } }
`);
    const sync = async () => {
      const r = await sluice(['sync', file, '--once', '--json'], opts);
      assert.equal(r.code, 0, r.stderr);
      return (JSON.parse(r.stdout) as SyncJson).tables[0] as SyncJson['tables'][0] & { merged: number };
    };
    assert.equal((await sync()).unchanged, 3, 'the same rows (each engine\'s spelling) agree at once');
    // 1: a name here, an email there — no field changed on both sides. 2: the name on both sides (b later), n on b.
    // 3: only a changed: no conflict.
    await pgQuery(`UPDATE ${name}.people SET name = 'A1' WHERE id = 1; UPDATE ${name}.people SET name = 'A2', updated_at = '2024-02-01Z' WHERE id = 2;
      UPDATE ${name}.people SET n = 30 WHERE id = 3;`);
    await maria.query(`UPDATE ${name}.people SET email = 'b1@example.com' WHERE id = 1`);
    await maria.query(`UPDATE ${name}.people SET name = 'B2', n = 20.5, updated_at = '2024-03-01' WHERE id = 2`);
    const merged = await sync();
    assert.deepEqual([merged.conflicts, merged.merged, counts(merged.a_to_b), counts(merged.b_to_a)], [2, 2, [0, 2, 0], [0, 2, 0]]);
    const expected = [
      { id: 1, name: 'A1', email: 'b1@example.com', n: '1.00' },
      { id: 2, name: 'B2', email: 'p2@example.com', n: '20.50' },
      { id: 3, name: 'name 3', email: 'p3@example.com', n: '30.00' },
    ];
    assert.deepEqual(await pgQuery(`SELECT id, name, email, n::text AS n FROM ${name}.people ORDER BY id`), expected);
    assert.equal((await sluice(['diff', file], opts)).code, 0);
    const again = await sync();
    assert.deepEqual([again.conflicts, counts(again.a_to_b), counts(again.b_to_a), again.unchanged], [0, [0, 0, 0], [0, 0, 0], 3]);
  } finally {
    await pgQuery(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
    await maria.query(`DROP DATABASE IF EXISTS ${name}`);
    await maria.end();
    cleanup();
  }
});
