// Personal data in syncs (issue 23), through the real binary, PostgreSQL ↔ SQLite two way:
// - with SLUICE_ENCRYPTION_KEY set, the change log's row images and the conflicts' versions are sealed: no value of a
//   synced row (the key aside) is found in plain text in the sync's file or its WAL; without the key, `changes list`
//   and `conflicts list` say undecryptable and `changes replay` refuses (exit 2), naming the variable;
// - `sluice erase <sync.yaml> --key email=…`: a dry run counts and changes nothing; the erasure removes the subject
//   from both sides, the base, every change-log event of its keys (one found only through the log: its email changed)
//   and its conflicts; the audit trail has counts, never the value; a replay of the log leaves it out; the next sync
//   is a no-op; a side that gets the subject again (its old key, or a new key with its value) is not carried while
//   suppressed, and is once lifted;
// - mode: cdc, PostgreSQL ↔ PostgreSQL two way: the erasure's deletes are passed by as the sync's own (no delete
//   events logged after the log was erased), and a row of the subject put back on a side is not streamed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase } from '../../src/core/sqlite-driver.js';
import { PG_URL, pgQuery, sluice, tempDir } from '../helpers.js';
import { pgToPg, withSync } from '../support/pg-sync.js';

const ADA = 'ada@example.com';
const ADA_NEW = 'ada@new.example';
const KEY = randomBytes(32).toString('hex');

interface Applied { inserted: number; updated: number; deleted: number }
interface TableJson { table: string; a_to_b: Applied; b_to_a: Applied; held: number; suppressed?: number }
interface EraseJson { sync: string; dry_run: boolean; suppressed: boolean; unreadable: number; tables: { table: string; keys: number; a: number; b: number; base: number; changes: number; conflicts: number }[] }

/** A query's rows from a SQLite file, on a connection of its own. */
function rowsOf<T>(path: string, sql: string): T[] {
  const db = openDatabase(path);
  try {
    return db.prepare(sql).all() as T[];
  } finally {
    db.close();
  }
}

test('sluice erase <sync.yaml>: the subject gone from both sides, base, change log and conflicts, kept out while suppressed; the log sealed at rest', async () => {
  const { dir, cleanup } = tempDir('sluice-erase-sync-');
  const schema = `es_${randomBytes(4).toString('hex')}`;
  const sync = schema.replaceAll('_', '-');
  const home = join(dir, '.sluice');
  const withKey = { home, env: { SLUICE_ENCRYPTION_KEY: KEY } };
  const noKey = { home, env: { SLUICE_ENCRYPTION_KEY: '' } };
  const lite = join(dir, 'b.db');
  try {
    await pgQuery(`CREATE SCHEMA ${schema};
      CREATE TABLE ${schema}.customers (id int PRIMARY KEY, email text, name text);
      INSERT INTO ${schema}.customers VALUES (1, '${ADA}', 'Ada Lovelace'), (2, 'bob@example.com', 'Bob Stone'),
        (3, 'cy@example.com', 'Cy Twombly'), (4, '${ADA}', 'Ada King');`);
    const b = openDatabase(lite);
    b.exec('CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, name TEXT); CREATE TABLE rebuilt (id INTEGER PRIMARY KEY, email TEXT, name TEXT)');
    b.close();
    const file = join(dir, 'sync.yaml');
    writeFileSync(file, `sync: ${sync}
systems:
  a: { type: postgres, url: "${PG_URL}", schema: ${schema} }
  b: { type: sqlite, path: b.db }
tables:
  - name: customers
    primary_key: id
    direction: two_way
    conflict: { strategy: manual-review }
`);
    const once = async (expect = 0) => {
      const r = await sluice(['sync', file, '--once', '--json'], withKey);
      assert.equal(r.code, expect, r.stdout + r.stderr);
      return (JSON.parse(r.stdout) as { tables: TableJson[] }).tables[0];
    };
    const syncDb = join(home, 'sync', `${sync}.db`);
    const sideB = <T>(sql: string): T[] => rowsOf<T>(lite, sql);
    const fileRows = <T>(sql: string): T[] => rowsOf<T>(syncDb, sql);

    await once();
    // Ada's first record changes its email (only the log's first image still has the one she is erased by); her second
    // is changed on both sides: held for review.
    await pgQuery(`UPDATE ${schema}.customers SET email = '${ADA_NEW}' WHERE id = 1; UPDATE ${schema}.customers SET name = 'Ada K.' WHERE id = 4`);
    const db = openDatabase(lite);
    db.exec("UPDATE customers SET name = 'A. King' WHERE id = 4");
    db.close();
    const second = await once(3);
    assert.equal(second.held, 1);
    assert.deepEqual(sideB<{ id: number; email: string }>('SELECT id, email FROM customers ORDER BY id').map((r) => r.email), [ADA_NEW, 'bob@example.com', 'cy@example.com', ADA]);

    // At rest: no value of a synced row in plain text, in the file or its WAL (the sync process has exited; the WAL may remain).
    for (const f of [syncDb, `${syncDb}-wal`].filter((x) => existsSync(x))) {
      const bytes = readFileSync(f).toString('latin1');
      for (const v of [ADA, ADA_NEW, 'Ada Lovelace', 'bob@example.com', 'Bob Stone', 'Cy Twombly', 'A. King', 'Ada K.']) {
        assert.ok(!bytes.includes(v), `${v} in plain text in ${f}`);
      }
    }
    // With the key: the images are read; without: undecryptable, and replay refuses, naming the variable.
    const listed = JSON.parse((await sluice(['changes', 'list', file, '--json'], withKey)).stdout) as { key: string[]; row?: Record<string, unknown>; undecryptable?: boolean }[];
    assert.equal(listed.find((c) => c.key[0] === '2')?.row?.email, 'bob@example.com');
    const blind = await sluice(['changes', 'list', file, '--json'], noKey);
    assert.equal(blind.code, 0, blind.stderr);
    assert.ok((JSON.parse(blind.stdout) as { undecryptable?: boolean; row?: unknown }[]).every((c) => c.undecryptable && c.row === undefined), blind.stdout);
    const conflictsBlind = await sluice(['conflicts', 'list', file], noKey);
    assert.match(conflictsBlind.stdout, /undecryptable/);
    const conflictsSeen = await sluice(['conflicts', 'show', file, '1'], withKey);
    assert.match(conflictsSeen.stdout, /A\. King/);
    const refused = await sluice(['changes', 'replay', file, '--table', 'customers', '--to', 'b', '--into', 'rebuilt'], noKey);
    assert.equal(refused.code, 2, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /SLUICE_ENCRYPTION_KEY/);
    assert.equal(sideB('SELECT * FROM rebuilt').length, 0, 'a refused replay writes nothing');

    // A dry run counts and changes nothing.
    const logBefore = fileRows('SELECT seq FROM change_log').length;
    const dry = await sluice(['erase', file, '--key', `email=${ADA}`, '--dry-run', '--json'], withKey);
    assert.equal(dry.code, 0, dry.stderr);
    const dryReport = JSON.parse(dry.stdout) as EraseJson;
    assert.equal(dryReport.dry_run, true);
    assert.deepEqual(dryReport.tables.map((t) => [t.keys, t.a, t.b, t.base, t.conflicts]), [[2, 2, 2, 2, 1]]);
    assert.equal(fileRows('SELECT seq FROM change_log').length, logBefore);
    assert.equal(sideB('SELECT * FROM customers').length, 4);

    const erased = await sluice(['erase', file, '--key', `email=${ADA}`, '--json'], withKey);
    assert.equal(erased.code, 0, erased.stderr);
    const report = JSON.parse(erased.stdout) as EraseJson;
    assert.deepEqual(report.tables.map((t) => [t.keys, t.a, t.b, t.base, t.conflicts]), [[2, 2, 2, 2, 1]]);
    // Keys 1 and 4 inserted, key 1 updated; 4's change held, so not logged.
    assert.equal(report.tables[0].changes, 3, erased.stdout);
    assert.equal(report.suppressed, true);
    // Gone from both sides, the base, the log and the conflicts.
    assert.deepEqual((await pgQuery(`SELECT id FROM ${schema}.customers ORDER BY id`)).map((r) => Number(r.id)), [2, 3]);
    assert.deepEqual(sideB<{ id: number }>('SELECT id FROM customers ORDER BY id').map((r) => r.id), [2, 3]);
    assert.deepEqual(fileRows<{ k0: number }>('SELECT k0 FROM "base:customers" ORDER BY k0').map((r) => r.k0), [2, 3]);
    assert.deepEqual(fileRows<{ key: string }>('SELECT DISTINCT key FROM change_log ORDER BY key').map((r) => r.key), ['["2"]', '["3"]']);
    assert.equal(fileRows('SELECT id FROM conflicts').length, 0);
    // The audit trail: counts, never the value.
    const audit = (await sluice(['audit', 'list', '--json', '--pipeline', sync], withKey)).stdout;
    const entries = audit.trim().split('\n').map((l) => JSON.parse(l) as { action: string; detail: Record<string, unknown> });
    assert.ok(entries.some((e) => e.action === 'erase' && (e.detail.tables as { a: number }[])[0].a === 2), audit);
    assert.ok(entries.some((e) => e.action === 'erase.dry_run'), audit);
    assert.ok(!audit.includes('ada@') && !audit.includes('Ada'), 'no value in the audit trail');
    assert.ok(!erased.stdout.includes('ada@'), 'nor in the report');

    // A replay of the log does not bring the subject back.
    const replay = await sluice(['changes', 'replay', file, '--table', 'customers', '--to', 'b', '--into', 'rebuilt', '--json'], withKey);
    assert.equal(replay.code, 0, replay.stderr);
    assert.deepEqual(sideB<{ id: number }>('SELECT id FROM rebuilt ORDER BY id').map((r) => r.id), [2, 3]);

    // The next sync is a no-op, and logs nothing.
    const logAfter = fileRows('SELECT seq FROM change_log').length;
    const next = await once();
    assert.deepEqual([next.a_to_b, next.b_to_a], [{ inserted: 0, updated: 0, deleted: 0 }, { inserted: 0, updated: 0, deleted: 0 }]);
    assert.equal(fileRows('SELECT seq FROM change_log').length, logAfter);

    // A side that gets the subject again — its old key, or a new key with its value — is not carried while suppressed.
    await pgQuery(`INSERT INTO ${schema}.customers VALUES (1, 'someone@else.example', 'Ada Lovelace'), (9, '${ADA}', 'Ada Again')`);
    const kept = await once();
    assert.equal(kept.suppressed, 2);
    assert.deepEqual(kept.a_to_b, { inserted: 0, updated: 0, deleted: 0 });
    assert.deepEqual(sideB<{ id: number }>('SELECT id FROM customers ORDER BY id').map((r) => r.id), [2, 3]);
    assert.equal(fileRows('SELECT seq FROM change_log').length, logAfter);

    // Lifted: carried again.
    const lift = await sluice(['erase', file, '--key', `email=${ADA}`, '--lift', '--json'], withKey);
    assert.equal(lift.code, 0, lift.stderr);
    assert.equal((JSON.parse(lift.stdout) as { lifted: boolean }).lifted, true);
    const carried = await once();
    assert.equal(carried.a_to_b.inserted, 2);
    assert.deepEqual(sideB<{ id: number }>('SELECT id FROM customers ORDER BY id').map((r) => r.id), [1, 2, 3, 9]);
  } finally {
    await pgQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    cleanup();
  }
});

test('sluice erase <sync.yaml>, mode: cdc two way: the deletes are not streamed back, a subject put back is not streamed', async () => {
  await withSync(async ({ name, file, home, write }) => {
    await pgQuery(`CREATE TABLE ${name}_a.items (id int PRIMARY KEY, email text, name text);
      CREATE TABLE ${name}_b.items (id int PRIMARY KEY, email text, name text);
      ALTER TABLE ${name}_a.items REPLICA IDENTITY FULL; ALTER TABLE ${name}_b.items REPLICA IDENTITY FULL;
      INSERT INTO ${name}_a.items VALUES (1, '${ADA}', 'Ada'), (2, 'bob@example.com', 'Bob');`);
    write(pgToPg(name, 'items', '    conflict: { strategy: source-wins }\n', 'two_way'));
    const opts = { home, env: { SLUICE_ENCRYPTION_KEY: KEY } };
    const once = async () => {
      const r = await sluice(['sync', file, '--once', '--json'], opts);
      assert.equal(r.code, 0, r.stdout + r.stderr);
    };
    const ids = async (side: 'a' | 'b') => (await pgQuery(`SELECT id FROM ${name}_${side}.items ORDER BY id`)).map((r) => Number(r.id));
    const syncDb = join(home, 'sync', `${name.replaceAll('_', '-')}.db`);
    const events = () => rowsOf<{ key: string; op: string }>(syncDb, 'SELECT key, op FROM change_log ORDER BY seq');
    await once();
    await pgQuery(`UPDATE ${name}_a.items SET name = 'Ada L.' WHERE id = 1`);
    await once();
    assert.deepEqual(await ids('b'), [1, 2]);
    assert.ok(events().some((e) => e.key === '["1"]'));

    const erased = await sluice(['erase', file, '--key', `email=${ADA}`, '--json'], opts);
    assert.equal(erased.code, 0, erased.stderr);
    const report = JSON.parse(erased.stdout) as EraseJson;
    assert.deepEqual(report.tables.map((t) => [t.keys, t.a, t.b]), [[1, 1, 1]]);
    assert.deepEqual([await ids('a'), await ids('b')], [[2], [2]]);
    assert.ok(!events().some((e) => e.key === '["1"]'));
    const logged = events().length;

    // Both streams read past the deletes (marked as the sync's own): nothing logged. The subject put back on a (a new
    // key with its value) is not streamed to b; a change of another row is.
    await pgQuery(`INSERT INTO ${name}_a.items VALUES (7, '${ADA}', 'Ada again'); UPDATE ${name}_a.items SET name = 'Bob S.' WHERE id = 2`);
    await once();
    assert.deepEqual(await ids('b'), [2]);
    assert.equal((await pgQuery(`SELECT name FROM ${name}_b.items WHERE id = 2`))[0].name, 'Bob S.');
    assert.deepEqual(events().slice(logged).map((e) => [e.key, e.op]), [['["2"]', 'update']]);
  }, 'esc');
});

test('mode: cdc two way with a text key spelled like a boolean or a number: the log, the erasure and its suppression know the key as it is', async () => {
  await withSync(async ({ name, file, home, write }) => {
    await pgQuery(`CREATE TABLE ${name}_a.codes (id text PRIMARY KEY, email text, v int);
      CREATE TABLE ${name}_b.codes (id text PRIMARY KEY, email text, v int);
      ALTER TABLE ${name}_a.codes REPLICA IDENTITY FULL; ALTER TABLE ${name}_b.codes REPLICA IDENTITY FULL;
      INSERT INTO ${name}_a.codes VALUES ('t', '${ADA}', 1), ('1.50', 'bob@example.com', 1), ('007', 'cy@example.com', 1), ('7', 'di@example.com', 1)`);
    write(pgToPg(name, 'codes', '    conflict: { strategy: source-wins }\n', 'two_way'));
    const once = async () => {
      const r = await sluice(['sync', file, '--once', '--json'], { home });
      assert.equal(r.code, 0, r.stdout + r.stderr);
    };
    const keys = async (side: 'a' | 'b') => (await pgQuery(`SELECT id FROM ${name}_${side}.codes ORDER BY id COLLATE "C"`)).map((r) => String(r.id));
    const syncDb = join(home, 'sync', `${name.replaceAll('_', '-')}.db`);
    const events = () => rowsOf<{ key: string; op: string }>(syncDb, 'SELECT key, op FROM change_log ORDER BY seq');
    await once();
    assert.deepEqual(await keys('b'), ['007', '1.50', '7', 't']);
    await pgQuery(`UPDATE ${name}_a.codes SET v = 2 WHERE id IN ('t', '1.50')`);
    await once();
    const logged = events().map((e) => `${e.key} ${e.op}`);
    // Streamed changes are logged under the key as it is ('t', not the 1 that true is spelled as as a value).
    assert.ok(logged.includes('["t"] update') && logged.includes('["1.50"] update'), logged.join('\n'));
    assert.ok(!logged.some((e) => e.startsWith('["1"]') || e.startsWith('["1.5"]')), logged.join('\n'));

    const erased = await sluice(['erase', file, '--key', `email=${ADA}`, '--json'], { home });
    assert.equal(erased.code, 0, erased.stderr);
    assert.deepEqual([await keys('a'), await keys('b')], [['007', '1.50', '7'], ['007', '1.50', '7']]);
    assert.ok(!events().some((e) => e.key === '["t"]'), 'the subject\'s events are gone from the log');
    // Its key comes back on a under another email: suppressed by the key the erasure listed, not streamed.
    await pgQuery(`INSERT INTO ${name}_a.codes VALUES ('t', 'someone@example.com', 3); UPDATE ${name}_a.codes SET v = 5 WHERE id = '007'`);
    await once();
    assert.deepEqual(await keys('b'), ['007', '1.50', '7']);
    assert.equal((await pgQuery(`SELECT v FROM ${name}_b.codes WHERE id = '007'`))[0].v, 5, '007 is not 7');
    assert.equal((await pgQuery(`SELECT v FROM ${name}_b.codes WHERE id = '7'`))[0].v, 1);
  }, 'esk');
});
