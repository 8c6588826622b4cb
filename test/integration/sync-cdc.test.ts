// `sluice sync` in mode: cdc (issue 16): PostgreSQL's changes read from its log through a slot of the sync's own and
// applied to the other side, the position committed with the rows. A new stream starts from a snapshot; a SIGKILL
// mid-stream loses nothing and applies nothing twice (a trigger on the target keeps every version it is written, and a
// unique key there would fail a second write of one); an idle database's slot keeps moving; a dropped slot is refused
// with the way back; tables the log cannot carry are refused before any work.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { PG_URL, pgQuery, repoRoot, sluice, sluiceBin } from '../helpers.js';
import { exited, pgToPg, until, withSync } from '../support/pg-sync.js';

interface StreamJson {
  from: string; to: string; transactions: number; upserted: number; removed: number; position: string;
  conflicts: number; update_delete: number; merged: number; snapshot?: { a_to_b: { inserted: number } }[];
}

/** `sluice sync <file> --once --json` exits 0: its streams. */
async function syncOnce(file: string, home: string, ...extra: string[]): Promise<StreamJson[]> {
  const r = await sluice(['sync', file, '--once', '--json', ...extra], { home });
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { streams: StreamJson[] }).streams;
}

/** `sluice changes list --json`: the whole change log. */
interface LoggedJson { op: string; origin: string; applied: string; stream?: string; position?: string; row?: Record<string, unknown> }
async function changeLog(file: string, home: string): Promise<LoggedJson[]> {
  const r = await sluice(['changes', 'list', file, '--json', '--limit', '100000'], { home });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as LoggedJson[];
}

/** `sluice diff` finds both sides the same. */
async function assertSame(file: string, home: string, why = 'sluice diff'): Promise<void> {
  const d = await sluice(['diff', file], { home });
  assert.equal(d.code, 0, `${why}: ${d.stdout}${d.stderr}`);
}

/** `sluice sync` streaming in the background until killed. */
function streaming(file: string, home: string): ChildProcess {
  return spawn(process.execPath, [sluiceBin, 'sync', file], { cwd: repoRoot, env: { ...process.env, SLUICE_HOME: home }, stdio: 'ignore' });
}

test('mode: cdc, PostgreSQL → PostgreSQL: a snapshot, then inserts, updates and deletes streamed; the position kept with the rows; --once when nothing changed applies nothing', async () => {
  await withSync(async ({ name, file, home, write }) => {
    await pgQuery(`CREATE TABLE ${name}_a.items (id int PRIMARY KEY, name text, price numeric(10,2), at timestamptz, doc jsonb, tags text[]);
      CREATE TABLE ${name}_b.items (id int PRIMARY KEY, name text, price numeric(10,2), at timestamptz, doc jsonb, tags text[]);
      INSERT INTO ${name}_a.items SELECT i, 'n' || i, i * 1.5, timestamptz '2024-01-01Z' + i * interval '1 second', jsonb_build_object('i', i), ARRAY['x', 'y''s']
        FROM generate_series(1, 500) i;`);
    write(pgToPg(name));
    const once = async () => (await syncOnce(file, home))[0];
    const first = await once();
    assert.equal(first.snapshot?.[0].a_to_b.inserted, 500, 'the snapshot copies the table');
    assert.equal(first.transactions, 0);

    // Four transactions (one query's statements are one transaction).
    await pgQuery(`INSERT INTO ${name}_a.items VALUES (501, 'new', 9.99, now(), '{"é": "ü"}', '{}')`);
    await pgQuery(`UPDATE ${name}_a.items SET name = 'changed', doc = NULL WHERE id <= 10`);
    await pgQuery(`DELETE FROM ${name}_a.items WHERE id BETWEEN 11 AND 20`);
    await pgQuery(`BEGIN; UPDATE ${name}_a.items SET price = price + 1 WHERE id > 400; DELETE FROM ${name}_a.items WHERE id = 401; INSERT INTO ${name}_a.items VALUES (401, 'back', 0, NULL, NULL, NULL); COMMIT;`);
    const second = await once();
    assert.equal(second.snapshot, undefined, 'the stream goes on from its position');
    assert.equal(second.transactions, 4);
    assert.equal(second.removed, 11);
    assert.equal(second.upserted, 1 + 10 + 101 + 1, '501, 1–10, 401–501 (401 deleted and written again)');
    const [kept] = await pgQuery(`SELECT position FROM ${name}_b.sluice_sync_position WHERE stream = 'a'`);
    assert.equal(kept.position, second.position, 'the position is on the target, committed with the rows');
    await assertSame(file, home);
    assert.deepEqual(await pgQuery(`SELECT name, doc, tags FROM ${name}_b.items WHERE id IN (5, 401, 501) ORDER BY id`), [
      { name: 'changed', doc: null, tags: ['x', "y's"] }, { name: 'back', doc: null, tags: null }, { name: 'new', doc: { é: 'ü' }, tags: [] }]);

    // The change log: the snapshot's 500 rows, then each change streamed, once; replayed, it is the target table.
    const events = await changeLog(file, home);
    assert.equal(events.length, 500 + 124);
    assert.deepEqual(events.slice(500).reduce<Record<string, number>>((t, e) => ({ ...t, [e.op]: (t[e.op] ?? 0) + 1 }), {}), { insert: 2, update: 111, delete: 11 });
    assert.ok(events.slice(500).every((e) => e.stream === 'a' && e.origin === 'a' && e.applied === 'b'));
    await pgQuery(`CREATE TABLE ${name}_b.rebuilt (LIKE ${name}_b.items)`);
    const replay = await sluice(['changes', 'replay', file, '--table', 'items', '--to', 'b', '--into', 'rebuilt'], { home });
    assert.equal(replay.code, 0, replay.stderr);
    assert.deepEqual(await pgQuery(`SELECT count(*)::int AS n FROM ((TABLE ${name}_b.items EXCEPT TABLE ${name}_b.rebuilt) UNION ALL (TABLE ${name}_b.rebuilt EXCEPT TABLE ${name}_b.items)) d`), [{ n: 0 }]);

    const third = await once();
    assert.deepEqual([third.transactions, third.upserted, third.removed], [0, 0, 0], 'nothing new: nothing applied');
    assert.equal((await changeLog(file, home)).length, 624, 'nothing new logged');

    // A source transaction larger than the applier holds in memory (10,000 entries): written to the log as it is read,
    // under its commit's position in the end, and still replayed to the same table.
    await pgQuery(`BEGIN; INSERT INTO ${name}_a.items SELECT i, 'bulk' FROM generate_series(1001, 13000) i; DELETE FROM ${name}_a.items WHERE id = 1001; COMMIT`);
    assert.equal((await once()).transactions, 1);
    const bulk = (await changeLog(file, home)).slice(624);
    assert.equal(bulk.length, 12_001);
    assert.equal(new Set(bulk.map((e) => e.position)).size, 1, 'one source commit, its position on every entry');
    await pgQuery(`CREATE TABLE ${name}_b.rebuilt_again (LIKE ${name}_b.items)`);
    assert.equal((await sluice(['changes', 'replay', file, '--table', 'items', '--to', 'b', '--into', 'rebuilt_again'], { home })).code, 0);
    assert.deepEqual(await pgQuery(`SELECT count(*)::int AS n FROM ((TABLE ${name}_b.items EXCEPT TABLE ${name}_b.rebuilt_again) UNION ALL (TABLE ${name}_b.rebuilt_again EXCEPT TABLE ${name}_b.items)) d`), [{ n: 0 }]);
  });
});

test('mode: cdc: SIGKILL mid-stream, then a restart — every change once (a second write of a version fails the target\'s unique key)', async () => {
  await withSync(async ({ name, file, home, write }) => {
    await pgQuery(`CREATE TABLE ${name}_a.counters (id int PRIMARY KEY, n int NOT NULL);
      CREATE TABLE ${name}_b.counters (id int PRIMARY KEY, n int NOT NULL);
      INSERT INTO ${name}_a.counters SELECT i, 0 FROM generate_series(1, 50) i;
      CREATE TABLE ${name}_b.versions (id int, n int, UNIQUE (id, n));
      CREATE FUNCTION ${name}_b.keep() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO ${name}_b.versions VALUES (NEW.id, NEW.n); RETURN NEW; END $$;
      CREATE TRIGGER keep AFTER INSERT OR UPDATE ON ${name}_b.counters FOR EACH ROW EXECUTE FUNCTION ${name}_b.keep();`);
    write(pgToPg(name, 'counters'));
    let child = streaming(file, home);
    // 1,500 transactions of one counter each, while the sync is killed twice and started again.
    const writer = new pg.Client(PG_URL);
    await writer.connect();
    const writes = (async () => {
      for (let i = 0; i < 1500; i++) {
        await writer.query(`UPDATE ${name}_a.counters SET n = n + 1 WHERE id = ${(i % 50) + 1}`);
        // Paced over a few seconds, so that both kills land while changes flow.
        await new Promise((r) => setTimeout(r, 2));
      }
    })().finally(() => writer.end());
    for (const atVersion of [5, 15]) {
      await until(`version ${atVersion} on the target`, async () => Number((await pgQuery(`SELECT count(*)::int AS c FROM ${name}_b.counters WHERE n >= ${atVersion}`))[0].c) > 0);
      // Killed while streaming, not between the snapshot's rows and its position: a stream without a position starts
      // afresh from a new snapshot, which logs the versions in between as one change.
      await until('the stream\'s position on the target', async () => Number((await pgQuery(`SELECT count(*)::int AS c FROM ${name}_b.sluice_sync_position WHERE stream = 'a'`))[0].c) > 0);
      child.kill('SIGKILL');
      await exited(child);
      child = streaming(file, home);
    }
    await writes;
    await until('the stream', async () => (await pgQuery(`SELECT active FROM pg_replication_slots WHERE slot_name = 'sluice_${name}_a'`))[0]?.active === true);
    child.kill('SIGTERM');
    assert.equal(await exited(child), 0, 'SIGTERM: the stream drains and exits 0');
    const r = await sluice(['sync', file, '--once'], { home });
    assert.equal(r.code, 0, r.stderr);
    await assertSame(file, home);
    const [v] = await pgQuery(`SELECT count(*)::int AS versions, count(DISTINCT (id, n))::int AS distinct_versions, max(n) AS top FROM ${name}_b.versions`);
    assert.equal(v.versions, v.distinct_versions, 'no version written twice');
    assert.equal(v.top, 30);
    // The change log: each counter's snapshot row, then every update after the snapshot once, in order — none lost to
    // a kill, none logged twice (the updates before the snapshot are in it).
    const values = new Map<number, number[]>();
    for (const e of await changeLog(file, home)) values.set(Number(e.row!.id), [...values.get(Number(e.row!.id)) ?? [], Number(e.row!.n)]);
    assert.equal(values.size, 50);
    for (const [id, ns] of values) assert.deepEqual(ns, Array.from({ length: 31 - ns[0] }, (_, i) => ns[0] + i), `counter ${id}`);
  });
});

test('mode: cdc: an idle database\'s slot keeps moving (heartbeats); a dropped slot is refused with the way back, and --resnapshot takes it', async () => {
  await withSync(async ({ name, file, home, write }) => {
    await pgQuery(`CREATE TABLE ${name}_a.items (id int PRIMARY KEY, name text); CREATE TABLE ${name}_b.items (id int PRIMARY KEY, name text);
      CREATE TABLE ${name}_a.elsewhere (x int); INSERT INTO ${name}_a.items VALUES (1, 'one');`);
    write(pgToPg(name));
    const slot = `sluice_${name}_a`;
    const child = streaming(file, home);
    try {
      await until('the stream', async () => (await pgQuery(`SELECT active FROM pg_replication_slots WHERE slot_name = '${slot}'`))[0]?.active === true);
      // WAL written elsewhere (a table the sync does not read): the slot still follows it.
      await pgQuery(`INSERT INTO ${name}_a.elsewhere SELECT generate_series(1, 1000)`);
      const [{ lsn }] = await pgQuery('SELECT pg_current_wal_lsn()::text AS lsn');
      await until('the slot past the unrelated writes', async () =>
        (await pgQuery(`SELECT confirmed_flush_lsn >= '${String(lsn)}'::pg_lsn AS past FROM pg_replication_slots WHERE slot_name = '${slot}'`))[0].past === true);
    } finally {
      child.kill('SIGTERM');
      await exited(child);
    }
    await pgQuery(`SELECT pg_drop_replication_slot('${slot}'); INSERT INTO ${name}_a.items VALUES (2, 'two')`);
    const lost = await sluice(['sync', file, '--once'], { home });
    assert.equal(lost.code, 1);
    assert.match(lost.stderr, /replication slot .* is gone: the changes since .* cannot be read; run `sluice sync <file> --resnapshot`/);
    const again = await sluice(['sync', file, '--once', '--resnapshot'], { home });
    assert.equal(again.code, 0, again.stderr);
    await assertSame(file, home);
  });
});

test('mode: cdc, PostgreSQL → MariaDB: types carried into another engine; a table with no replica identity refused before any work', async () => {
  await withSync(async ({ name, file, home, write }) => {
    const maria = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root' });
    try {
      await maria.query(`CREATE DATABASE ${name}`);
      await maria.query(`CREATE TABLE ${name}.items (id int PRIMARY KEY, at datetime(6), ok tinyint(1), price decimal(12,3), photo blob)`);
      await maria.query(`CREATE TABLE ${name}.tags (id int PRIMARY KEY, name varchar(20), gone tinyint(1))`);
      await pgQuery(`CREATE TABLE ${name}_a.items (id int PRIMARY KEY, at timestamptz, ok boolean, price numeric(10,2), photo bytea);
        INSERT INTO ${name}_a.items VALUES (1, '2024-05-01 10:00:00.5+02', true, 1.5, '\\x00ff');
        CREATE TABLE ${name}_a.tags (id int PRIMARY KEY, name text, gone boolean);
        INSERT INTO ${name}_a.tags VALUES (1, 'one', NULL), (2, 'two', NULL), (3, 'three', NULL);
        CREATE TABLE ${name}_a.loose (id int, v text);`);
      const yaml = (b: string, extra = '') => `sync: ${name.replaceAll('_', '-')}
systems:
  a: { type: postgres, url: "${PG_URL}", schema: ${name}_a }
  b: ${b}
mode: cdc
tables:
  - name: items
    primary_key: id
    direction: a_to_b
  - { name: tags, primary_key: id, direction: a_to_b, deletes: soft, deleted_column: gone }
${extra}`;
      const mariaB = `{ type: mysql, host: 127.0.0.1, user: root, database: ${name} }`;
      write(yaml(mariaB));
      assert.equal((await sluice(['sync', file, '--once'], { home })).code, 0);
      await pgQuery(`INSERT INTO ${name}_a.items VALUES (2, '2024-12-31 23:59:59.999999-05', false, 2.25, '\\xdead');
        UPDATE ${name}_a.items SET ok = false WHERE id = 1; DELETE FROM ${name}_a.tags WHERE id = 2`);
      const r = await sluice(['sync', file, '--once'], { home });
      assert.equal(r.code, 0, r.stderr);
      const [rows] = await maria.query(`SELECT id, CAST(at AS char) AS at, ok, CAST(price AS char) AS price, HEX(photo) AS photo FROM ${name}.items ORDER BY id`);
      assert.deepEqual(rows, [
        { id: 1, at: '2024-05-01 08:00:00.500000', ok: 0, price: '1.500', photo: '00FF' },
        { id: 2, at: '2025-01-01 04:59:59.999999', ok: 0, price: '2.250', photo: 'DEAD' }]);
      await assertSame(file, home, 'a row marked deleted on b and gone on a are the same');
      const [tags] = await maria.query(`SELECT id, name, gone FROM ${name}.tags ORDER BY id`);
      assert.deepEqual(tags, [{ id: 1, name: 'one', gone: null }, { id: 2, name: 'two', gone: 1 }, { id: 3, name: 'three', gone: null }], 'a soft delete marks the row');

      write(yaml(mariaB, '  - name: loose\n    primary_key: id\n    direction: a_to_b\n'));
      await maria.query(`CREATE TABLE ${name}.loose (id int PRIMARY KEY, v text)`);
      const loose = await sluice(['sync', file, '--once'], { home });
      assert.equal(loose.code, 2);
      assert.match(loose.stderr, /table loose on side a has no replica identity.*REPLICA IDENTITY FULL/);
    } finally {
      await maria.query(`DROP DATABASE IF EXISTS ${name}`);
      await maria.end();
    }
  });
});

test('mode: cdc, two-way PostgreSQL ↔ PostgreSQL: concurrent writes on both sides converge, each conflict settled by its rule (last-write-wins, merge, an update kept against a delete), nothing echoed back', async () => {
  await withSync(async ({ name, file, home, write }) => {
    const table = (s: string) => `CREATE TABLE ${name}_${s}.accounts (id int PRIMARY KEY, owner text, note text, balance numeric(12,2), updated_at timestamptz NOT NULL);
      CREATE TABLE ${name}_${s}.cards (id int PRIMARY KEY, owner text, note text, updated_at timestamptz NOT NULL);`;
    await pgQuery(`${table('a')} ${table('b')}
      INSERT INTO ${name}_a.accounts SELECT i, 'o' || i, NULL, i, '2024-01-01Z' FROM generate_series(1, 100) i;
      INSERT INTO ${name}_b.accounts SELECT i, 'o' || i, NULL, i, '2024-01-01Z' FROM generate_series(50, 150) i;
      UPDATE ${name}_b.accounts SET note = 'b60', updated_at = '2025-01-01Z' WHERE id = 60;
      INSERT INTO ${name}_a.cards SELECT i, 'o' || i, NULL, '2024-01-01Z' FROM generate_series(1, 20) i;
      INSERT INTO ${name}_b.cards SELECT i, 'o' || i, NULL, '2024-01-01Z' FROM generate_series(1, 20) i;`);
    const cards = '  - { name: cards, primary_key: id, direction: two_way, conflict: { strategy: merge, column: updated_at } }\n';
    write(pgToPg(name, 'accounts', `    conflict: { strategy: last-write-wins, column: updated_at }\n${cards}`, 'two_way'));
    const refused = await sluice(['sync', file, '--once'], { home });
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /table accounts is two-way, and side a logs only its key before a change: `ALTER TABLE accounts REPLICA IDENTITY FULL`/);
    for (const s of ['a', 'b']) await pgQuery(`ALTER TABLE ${name}_${s}.accounts REPLICA IDENTITY FULL; ALTER TABLE ${name}_${s}.cards REPLICA IDENTITY FULL`);

    const once = () => syncOnce(file, home);
    const same = (why: string) => assertSame(file, home, why);
    await once();
    await same('after the snapshots');
    assert.deepEqual(await pgQuery(`SELECT note FROM ${name}_a.accounts WHERE id = 60`), [{ note: 'b60' }], 'the later row of a first-sync conflict');

    // Conflicts made while the sync is stopped, then streamed.
    await pgQuery(`UPDATE ${name}_a.accounts SET note = 'a5', updated_at = '2030-01-01Z' WHERE id = 5`);
    await pgQuery(`UPDATE ${name}_b.accounts SET note = 'b5', updated_at = '2031-01-01Z' WHERE id = 5`);
    await pgQuery(`DELETE FROM ${name}_a.accounts WHERE id = 6`);
    await pgQuery(`UPDATE ${name}_b.accounts SET note = 'b6', updated_at = '2030-01-01Z' WHERE id = 6`);
    await pgQuery(`UPDATE ${name}_a.cards SET owner = 'a-owner', updated_at = '2030-01-01Z' WHERE id = 7`);
    await pgQuery(`UPDATE ${name}_b.cards SET note = 'b-note', updated_at = '2031-01-01Z' WHERE id = 7`);
    const streams = await once();
    assert.ok(streams.every((s) => s.conflicts >= 1), JSON.stringify(streams));
    await same('after the conflicts');
    assert.deepEqual(await pgQuery(`SELECT id, note FROM ${name}_a.accounts WHERE id IN (5, 6) ORDER BY id`), [{ id: 5, note: 'b5' }, { id: 6, note: 'b6' }]);
    assert.deepEqual(await pgQuery(`SELECT owner, note FROM ${name}_b.cards WHERE id = 7`), [{ owner: 'a-owner', note: 'b-note' }], 'merged field by field');

    // Both sides written at once while the sync streams: they converge.
    const child = streaming(file, home);
    const writer = async (s: 'a' | 'b', seed: number) => {
      const c = new pg.Client(PG_URL);
      await c.connect();
      try {
        for (let i = 0; i < 150; i++) {
          const id = ((i * 7 + seed) % 30) + 1;
          await c.query(`UPDATE ${name}_${s}.accounts SET note = '${s}${i}', balance = balance + 1, updated_at = clock_timestamp() WHERE id = ${id}`);
          if (i % 10 === 0) await c.query(`INSERT INTO ${name}_${s}.accounts VALUES (${s === 'a' ? 1000 + i : 2000 + i}, '${s}', NULL, 0, clock_timestamp())`);
          if (i % 25 === 0) await c.query(`DELETE FROM ${name}_${s}.accounts WHERE id = ${s === 'a' ? 40 + i / 25 : 1000 + i}`);
          await new Promise((r) => setTimeout(r, 3));
        }
      } finally {
        await c.end();
      }
    };
    await until('both streams', async () => (await pgQuery(`SELECT count(*)::int AS c FROM pg_replication_slots WHERE slot_name LIKE 'sluice_${name}_%' AND active`))[0].c === 2);
    await Promise.all([writer('a', 0), writer('b', 3)]);
    child.kill('SIGTERM');
    assert.equal(await exited(child), 0);
    await once();
    await same('after concurrent writes on both sides');
    // Quiet now: nothing left to carry, and nothing Sluice wrote comes back as a change.
    const quiet = await once();
    assert.deepEqual(quiet.map((s) => s.transactions), [0, 0], JSON.stringify(quiet));
    // Both streams' change logs, replayed, give the tables both sides agree on.
    for (const t of ['accounts', 'cards']) {
      await pgQuery(`CREATE TABLE ${name}_a.${t}_rebuilt (LIKE ${name}_a.${t})`);
      const r = await sluice(['changes', 'replay', file, '--table', t, '--to', 'a', '--into', `${t}_rebuilt`], { home });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(await pgQuery(`SELECT count(*)::int AS n FROM ((TABLE ${name}_a.${t} EXCEPT TABLE ${name}_a.${t}_rebuilt) UNION ALL (TABLE ${name}_a.${t}_rebuilt EXCEPT TABLE ${name}_a.${t})) d`), [{ n: 0 }], t);
    }
  });
});

test('mode: cdc, two-way PostgreSQL ↔ MariaDB (the binary log): a snapshot of each, concurrent writes on both sides converge, nothing echoed; a purged binary log is refused with the way back', async () => {
  await withSync(async ({ name, file, home, write }) => {
    const maria = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', multipleStatements: true });
    try {
      await maria.query(`CREATE DATABASE ${name}; USE ${name};
        CREATE TABLE accounts (id int PRIMARY KEY, owner varchar(50), note varchar(50), balance decimal(12,3), flag tinyint(1), doc json, updated_at datetime(6) NOT NULL);
        INSERT INTO accounts SELECT seq, CONCAT('o', seq), NULL, seq, seq % 2, JSON_OBJECT('k', seq), '2024-01-01' FROM seq_1_to_50;
        INSERT INTO accounts SELECT seq, 'maria', NULL, seq, 0, NULL, '2024-01-01' FROM seq_61_to_70;`);
      await pgQuery(`CREATE TABLE ${name}_a.accounts (id int PRIMARY KEY, owner text, note text, balance numeric(12,2), flag boolean, doc jsonb, updated_at timestamptz NOT NULL);
        ALTER TABLE ${name}_a.accounts REPLICA IDENTITY FULL;
        INSERT INTO ${name}_a.accounts SELECT i, 'o' || i, NULL, i, i % 2 = 1, jsonb_build_object('k', i), '2024-01-01Z' FROM generate_series(1, 50) i;
        INSERT INTO ${name}_a.accounts SELECT i, 'pg', NULL, i, false, NULL, '2024-01-01Z' FROM generate_series(51, 60) i;`);
      write(`sync: ${name.replaceAll('_', '-')}
systems:
  a: { type: postgres, url: "${PG_URL}", schema: ${name}_a }
  b: { type: mysql, host: 127.0.0.1, user: root, database: ${name} }
mode: cdc
cdc: { heartbeat_seconds: 0.2 }
tables:
  - { name: accounts, primary_key: id, direction: two_way, conflict: { strategy: last-write-wins, column: updated_at } }
`);
      const once = (...extra: string[]) => syncOnce(file, home, ...extra);
      const same = (why: string) => assertSame(file, home, why);
      const first = await once();
      assert.deepEqual(first.map((s) => s.from), ['a', 'b']);
      await same('after the snapshots');

      await pgQuery(`UPDATE ${name}_a.accounts SET note = 'pg-later', updated_at = '2031-01-01Z' WHERE id = 3`);
      await maria.query(`UPDATE accounts SET note = 'maria-earlier', updated_at = '2030-01-01' WHERE id = 3`);
      await maria.query(`DELETE FROM accounts WHERE id = 4`);
      await pgQuery(`UPDATE ${name}_a.accounts SET note = 'kept', updated_at = '2030-01-01Z' WHERE id = 4`);
      await once();
      await same('after the conflicts');
      const [[three]] = await maria.query('SELECT note FROM accounts WHERE id IN (3, 4) ORDER BY id') as unknown as [{ note: string }[]];
      assert.equal(three.note, 'pg-later');
      assert.deepEqual(await pgQuery(`SELECT note FROM ${name}_a.accounts WHERE id = 4`), [{ note: 'kept' }], 'an update kept against a delete');

      const child = streaming(file, home);
      await until('the streams', async () => (await pgQuery(`SELECT active FROM pg_replication_slots WHERE slot_name = 'sluice_${name}_a'`))[0]?.active === true);
      await new Promise((r) => setTimeout(r, 500));
      const writers = [
        (async () => {
          const c = new pg.Client(PG_URL);
          await c.connect();
          for (let i = 0; i < 100; i++) {
            await c.query(`UPDATE ${name}_a.accounts SET note = 'pg${i}', balance = balance + 1, updated_at = clock_timestamp() WHERE id = ${(i * 7) % 20 + 1}`);
            if (i % 10 === 0) await c.query(`INSERT INTO ${name}_a.accounts VALUES (${1000 + i}, 'pg', NULL, 0, true, '{"a": [1]}', clock_timestamp())`);
            await new Promise((r) => setTimeout(r, 3));
          }
          await c.end();
        })(),
        (async () => {
          const c = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', database: name });
          for (let i = 0; i < 100; i++) {
            await c.query(`UPDATE accounts SET note = 'm${i}', balance = balance + 2, updated_at = UTC_TIMESTAMP(6) WHERE id = ${(i * 3) % 20 + 1}`);
            if (i % 10 === 0) await c.query(`INSERT INTO accounts VALUES (${2000 + i}, 'm', NULL, 0, 1, NULL, UTC_TIMESTAMP(6))`);
            await new Promise((r) => setTimeout(r, 3));
          }
          await c.end();
        })(),
      ];
      await Promise.all(writers);
      child.kill('SIGTERM');
      assert.equal(await exited(child), 0);
      await once();
      await same('after concurrent writes on both sides');
      const quiet = await once();
      assert.deepEqual(quiet.map((s) => s.transactions), [0, 0], JSON.stringify(quiet));

      // The binary log the kept position is in, purged: refused, then taken again from a new snapshot.
      await maria.query('FLUSH BINARY LOGS');
      await maria.query(`UPDATE accounts SET note = 'lost?', updated_at = '2040-01-01' WHERE id = 9`);
      await maria.query('FLUSH BINARY LOGS');
      const [[{ File: current }]] = await maria.query('SHOW MASTER STATUS') as unknown as [{ File: string }[]];
      await maria.query(`PURGE BINARY LOGS TO '${current}'`);
      const purged = await sluice(['sync', file, '--once'], { home });
      assert.equal(purged.code, 1);
      assert.match(purged.stderr, /side b's binary log \S+ is gone \(purged\): the changes since \S+ cannot be read; run `sluice sync <file> --resnapshot`/);
      await once('--resnapshot');
      await same('after --resnapshot');
      assert.deepEqual(await pgQuery(`SELECT note FROM ${name}_a.accounts WHERE id = 9`), [{ note: 'lost?' }]);
    } finally {
      await maria.query(`DROP DATABASE IF EXISTS ${name}`);
      await maria.end();
    }
  });
});

test('mode: cdc, manual-review: a key changed on both sides is held, each side keeping its own, until a person takes one; the next run writes it, nothing echoed', async () => {
  await withSync(async ({ name, file, home, write }) => {
    // A column named like a parameter, and values with quotes and backslashes: a stream's writes to PostgreSQL go with
    // its commit in one simple query, their values written in as literals.
    await pgQuery(`CREATE TABLE ${name}_a.notes (id int PRIMARY KEY, body text, "x$1" text); CREATE TABLE ${name}_b.notes (id int PRIMARY KEY, body text, "x$1" text);
      ALTER TABLE ${name}_a.notes REPLICA IDENTITY FULL; ALTER TABLE ${name}_b.notes REPLICA IDENTITY FULL;
      INSERT INTO ${name}_a.notes SELECT i, 'n' || i FROM generate_series(1, 10) i;`);
    write(pgToPg(name, 'notes', '    conflict: { strategy: manual-review }\n', 'two_way'));
    const once = async (code: number) => {
      const r = await sluice(['sync', file, '--once', '--json'], { home });
      assert.equal(r.code, code, r.stderr);
      return JSON.parse(r.stdout) as { streams: StreamJson[]; held: number };
    };
    assert.equal((await once(0)).held, 0);
    await pgQuery(`UPDATE ${name}_a.notes SET body = 'a5' WHERE id = 5; UPDATE ${name}_a.notes SET body = 'a6', "x$1" = E'it''s \\\\ $1 "q"' WHERE id = 6`);
    await pgQuery(`UPDATE ${name}_b.notes SET body = 'b5' WHERE id = 5`);
    assert.equal((await once(3)).held, 1, 'held: exit 3, the rest synced');
    const bodies = async (s: string) => (await pgQuery(`SELECT id, body FROM ${name}_${s}.notes WHERE id IN (5, 6) ORDER BY id`)).map((r) => `${r.id}:${r.body}`);
    assert.deepEqual([await bodies('a'), await bodies('b')], [['5:a5', '6:a6'], ['5:b5', '6:a6']], 'each side keeps its own version of 5');
    assert.deepEqual(await pgQuery(`SELECT "x$1" AS x FROM ${name}_b.notes WHERE id = 6`), [{ x: 'it\'s \\ $1 "q"' }]);

    const list = await sluice(['conflicts', 'list', file, '--json'], { home });
    const [c] = JSON.parse(list.stdout) as { id: number; key: Record<string, string>; a: { body: string }; b: { body: string } }[];
    assert.deepEqual([c.key, c.a.body, c.b.body], [{ id: '5' }, 'a5', 'b5']);
    // Taken while the sync streams: written with its next heartbeat.
    const child = streaming(file, home);
    await until('both streams', async () => (await pgQuery(`SELECT count(*)::int AS c FROM pg_replication_slots WHERE slot_name LIKE 'sluice_${name}_%' AND active`))[0].c === 2);
    assert.equal((await sluice(['conflicts', 'resolve', file, String(c.id), '--take', 'b'], { home })).code, 0);
    await until('the decision written', async () => (await bodies('a'))[0] === '5:b5');
    child.kill('SIGTERM');
    assert.equal(await exited(child), 0, 'nothing held any more: exit 0');
    assert.deepEqual(await bodies('a'), ['5:b5', '6:a6'], 'the side taken written into the other');
    await assertSame(file, home);
    const quiet = await once(0);
    assert.deepEqual(quiet.streams.map((s) => s.transactions), [0, 0], 'the decision\'s write is not read back as a change');
  });
});

test('mode: cdc, two-way, --resnapshot after streaming: the base is brought up to what the streams applied, so a key one side changed since flows from it, not settled as a conflict', async () => {
  await withSync(async ({ name, file, home, write }) => {
    await pgQuery(`CREATE TABLE ${name}_a.t (id int PRIMARY KEY, v text); CREATE TABLE ${name}_b.t (id int PRIMARY KEY, v text);
      ALTER TABLE ${name}_a.t REPLICA IDENTITY FULL; ALTER TABLE ${name}_b.t REPLICA IDENTITY FULL;
      INSERT INTO ${name}_a.t SELECT i, 'v' || i FROM generate_series(1, 10) i;`);
    write(pgToPg(name, 't', '    conflict: { strategy: source-wins }\n', 'two_way'));
    await syncOnce(file, home);
    await pgQuery(`UPDATE ${name}_a.t SET v = 'a5' WHERE id = 5`);
    await syncOnce(file, home);
    // Changed on b only since the stream carried a5 there; the new snapshot must not take it for a conflict (source-wins
    // would then put a5 back over it).
    await pgQuery(`UPDATE ${name}_b.t SET v = 'b5' WHERE id = 5`);
    const streams = await syncOnce(file, home, '--resnapshot');
    const snapshot = streams[0].snapshot as unknown as { conflicts: number; b_to_a: { updated: number } }[];
    assert.deepEqual([snapshot[0].conflicts, snapshot[0].b_to_a.updated], [0, 1]);
    assert.deepEqual(await pgQuery(`SELECT v FROM ${name}_a.t WHERE id = 5`), [{ v: 'b5' }]);
    await assertSame(file, home);
  });
});
