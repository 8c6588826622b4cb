// The MySQL/MariaDB source and destination against the real local server: a commit the server refuses, schema
// evolution, hostile identifiers, type round-trips, scd2, incremental keyset reads. Each test works in its own
// database `sluice_t_<random>`, dropped at the end. What every SQL destination's load API does alike (commits,
// aborts, merge, replace, replacing groups, delete markers, staged loads, readTable) is tested once for all of them
// in test/conformance/sql-loads.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import type { LoadTarget, RunContext, StreamConfig } from '../../src/core/connector.js';
import { redact } from '../../src/core/redact.js';
import type { Batch, ColumnType, StreamState, WriteDisposition } from '../../src/core/types.js';
import { batchLength } from '../../src/core/types.js';
import { definePipeline } from '../../src/config/load.js';
import { runPipeline } from '../../src/engine/runner.js';
import { registerDestination, registerSource } from '../../src/connectors/registry.js';
import type { MysqlConnectionConfig } from '../../src/connectors/mysql/mysql-options.js';
import type { MysqlDestination } from '../../src/connectors/mysql/mysql-destination.js';
import { MysqlSource } from '../../src/connectors/mysql/mysql-source.js';
import { mysqlDestinationSpec, mysqlSourceSpec } from '../../src/connectors/mysql/mysql-spec.js';
import { collect, rowsOf, runContext, schemaOf, tempDir } from '../helpers.js';

const SERVER = { host: '127.0.0.1', port: 3306, user: 'root' };
registerSource(mysqlSourceSpec);
registerDestination(mysqlDestinationSpec);

const ctxFor = (dir: string, batchSize = 1000): RunContext => runContext(dir, { batchSize });

const target = (table: string, disposition: WriteDisposition, primaryKey: string[] = [], stream = table): LoadTarget => ({
  pipeline: 'p', stream, table, disposition, primaryKey, runId: 'run-1', fullRefresh: false,
});

const state = (n: number): StreamState => ({ version: 1, cursor: { column: 'id', value: n } });

/** A fresh database for one test; `use` gets its name and a root connection inside it. */
async function withDatabase(use: (db: string, admin: mysql.Connection, dir: string) => Promise<void>): Promise<void> {
  const db = `sluice_t_${randomBytes(6).toString('hex')}`;
  const admin = await mysql.createConnection({ ...SERVER, supportBigNumbers: true, bigNumberStrings: true, dateStrings: true, charset: 'utf8mb4_unicode_ci' });
  await admin.query(`CREATE DATABASE \`${db}\` CHARACTER SET utf8mb4`);
  await admin.query(`USE \`${db}\``);
  const { dir, cleanup } = tempDir();
  try {
    await use(db, admin, dir);
  } finally {
    // A failed assertion may leave a pool open inside the database; DROP DATABASE would wait on it forever.
    const [left] = await admin.query('SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()', [db]);
    for (const { id } of left as { id: number }[]) await admin.query(`KILL ${Number(id)}`).catch(() => undefined);
    await admin.query(`DROP DATABASE IF EXISTS \`${db}\``);
    await admin.end();
    cleanup();
  }
}

/** A source reading `table` incrementally by `updated_at`, connected, with the context its reads take. */
async function cursorSource(db: string, dir: string, table: string) {
  const stream = { name: table, primary_key: [], cursor: 'updated_at', write: 'append', on_schema_change: 'widen' } as StreamConfig;
  const src = new MysqlSource({ ...SERVER, database: db, streams: [stream] });
  const ctx = ctxFor(dir, 1000);
  await src.connect(ctx);
  return { src, read: (state?: StreamState) => collect(src.read(stream, state, ctx)) };
}

async function open(db: string, dir: string): Promise<MysqlDestination> {
  const dest = await mysqlDestinationSpec.create(mysqlDestinationSpec.config.parse({ ...SERVER, database: db }) as MysqlConnectionConfig) as MysqlDestination;
  await dest.connect(ctxFor(dir));
  return dest;
}

test('a commit MySQL refuses (an impossible date) rolls its rows and state back together', async () => {
  await withDatabase(async (db, _admin, dir) => {
    const dest = await open(db, dir);
    const load = await dest.begin(target('t', 'append'));
    await load.evolve(schemaOf([['id', 'integer']]));
    await load.write([[1], [2]]);
    await load.finish(state(2));

    const bad = await dest.begin(target('t', 'append'));
    await bad.evolve(schemaOf([['id', 'integer'], ['d', 'date']]));
    await bad.write([[5, '2024-01-01'], [6, '2024-02-30']]);
    await assert.rejects(bad.commit(state(6)), /warning|Incorrect|invalid/i);
    await bad.abort();
    assert.deepEqual(await dest.query('SELECT id FROM t ORDER BY id'), [{ id: 1 }, { id: 2 }]);
    assert.deepEqual(await dest.readState('p', 't'), state(2));
    await dest.close();
  });
});

test('evolve adds and widens columns, also between two commits, without loading a row twice', async () => {
  await withDatabase(async (db, admin, dir) => {
    const dest = await open(db, dir);
    const load = await dest.begin(target('e', 'append'));
    await load.evolve(schemaOf([['id', 'integer'], ['n', 'integer'], ['d', 'date']]));
    await load.write([[1, 5, '2024-01-01']]);
    await load.commit(state(1));
    await load.write([[2, 6, '2024-01-02']]);
    // Mid-checkpoint: DDL commits implicitly in MySQL; the pending row must still wait for its state.
    await load.evolve(schemaOf([['id', 'integer'], ['n', 'bigint'], ['d', 'timestamp'], ['extra', 'text']]));
    assert.deepEqual(await dest.query('SELECT id FROM e ORDER BY id'), [{ id: 1 }]);
    await load.write([[3, 9007199254740993n, '2024-01-03T04:05:06.123456Z', 'more']]);
    await load.abort();
    assert.deepEqual(await dest.query('SELECT id FROM e ORDER BY id'), [{ id: 1 }], 'rows of an aborted checkpoint never land');

    const again = await dest.begin(target('e', 'append'));
    await again.evolve(schemaOf([['id', 'integer'], ['n', 'bigint'], ['d', 'timestamp'], ['extra', 'text']]));
    await again.write([[2, 6n, '2024-01-02T00:00:00.000000Z', null]]);
    await again.evolve(schemaOf([['id', 'integer'], ['n', 'decimal'], ['d', 'timestamp'], ['extra', 'text']]));
    await again.write([[3, '12345678901234567890.5', '2024-01-03T04:05:06.123456Z', 'more']]);
    await again.finish(state(3));
    const [cols] = await admin.query('SHOW COLUMNS FROM e');
    assert.deepEqual((cols as { Field: string; Type: string }[]).map((c) => `${c.Field} ${c.Type}`),
      ['id int(11)', 'n decimal(38,9)', 'd datetime(6)', 'extra longtext']);
    const [rows] = await admin.query('SELECT id, n, d, extra FROM e ORDER BY id');
    assert.deepEqual(rows, [
      { id: 1, n: '5.000000000', d: '2024-01-01 00:00:00.000000', extra: null },
      { id: 2, n: '6.000000000', d: '2024-01-02 00:00:00.000000', extra: null },
      { id: 3, n: '12345678901234567890.500000000', d: '2024-01-03 04:05:06.123456', extra: 'more' },
    ]);
    await dest.close();
  });
});

test('an ENUM or SET column a table owner chose stays: text values load into it, one outside it fails the load', async () => {
  await withDatabase(async (db, admin, dir) => {
    await admin.query("CREATE TABLE o (id INT, status ENUM('new', 'paid'), tags SET('a', 'b'))");
    const dest = await open(db, dir);
    const cols = schemaOf([['id', 'integer'], ['status', 'text'], ['tags', 'text']]);
    const load = await dest.begin(target('o', 'append'));
    await load.evolve(cols);
    await load.write([[1, 'new', 'a'], [2, 'paid', 'a,b']]);
    await load.finish(state(2));
    const [types] = await admin.query('SHOW COLUMNS FROM o');
    assert.deepEqual((types as { Field: string; Type: string }[]).map((c) => c.Type), ['int(11)', "enum('new','paid')", "set('a','b')"]);
    assert.deepEqual(await dest.query('SELECT id, status, tags FROM o ORDER BY id'), [{ id: 1, status: 'new', tags: 'a' }, { id: 2, status: 'paid', tags: 'a,b' }]);
    const bad = await dest.begin(target('o', 'append'));
    await bad.evolve(cols);
    await bad.write([[3, 'shipped', null]]);
    await assert.rejects(bad.commit(state(3)), /warning/i);
    await bad.abort();
    assert.equal((await dest.query('SELECT id FROM o')).length, 2);
    await dest.close();
  });
});

test('types round-trip: NULLs, unicode and emoji, 1 MB text, decimal precision, UTC timestamps, json, binary, uuid', async () => {
  await withDatabase(async (db, admin, dir) => {
    const dest = await open(db, dir);
    const cols: [string, ColumnType][] = [['id', 'integer'], ['b', 'bigint'], ['t', 'text'], ['dec', 'decimal'], ['dbl', 'double'],
      ['ok', 'boolean'], ['d', 'date'], ['ts', 'timestamp'], ['j', 'json'], ['bin', 'binary'], ['u', 'uuid']];
    const big = 'é🎉\\\t\n\r\0x'.repeat(100_000);
    const load = await dest.begin(target('types', 'append'));
    await load.evolve(schemaOf(cols));
    await load.write([
      [1, 9223372036854775807n, 'héllo 🎉 \\N tab\there', '12345678901234567890123456789.123456789', 0.1 + 0.2, true, '2024-02-29',
        '2024-06-01T12:34:56.789012Z', '{"a":[1,2,{"b":null}],"big":12345678901234567890}', new Uint8Array([0, 9, 10, 13, 92, 255]),
        '123e4567-e89b-12d3-a456-426614174000'],
      [2, null, null, null, null, null, null, null, null, null, null],
      [3, -1n, big, '-0.000000001', -1.5e300, false, '1970-01-01', '1969-12-31T23:59:59.999999Z', '"just a string"', new Uint8Array(0), null],
    ]);
    await load.finish(state(3));
    const source = new MysqlSource({ ...SERVER, database: db });
    const stream = { name: 'types', primary_key: ['id'], write: 'append', on_schema_change: 'widen' } as StreamConfig;
    const ctx = ctxFor(dir);
    const s2 = new MysqlSource({ ...SERVER, database: db, streams: [stream] });
    await s2.connect(ctx);
    // CHAR(36) reads back as text: the server cannot tell a uuid column from any other CHAR(36).
    assert.deepEqual(await s2.columns(stream), { ...Object.fromEntries(cols), u: 'text' });
    const batches = await collect(s2.read(stream, undefined, ctx));
    await s2.close();
    await source.close();
    const rows = batches.flatMap((b: Batch) => rowsOf(b));
    assert.equal(rows.length, 3);
    assert.deepEqual({ ...rows[0], bin: undefined }, {
      id: 1, b: '9223372036854775807', t: 'héllo 🎉 \\N tab\there', dec: '12345678901234567890123456789.123456789',
      dbl: 0.30000000000000004, ok: true, d: '2024-02-29', ts: '2024-06-01T12:34:56.789012Z',
      j: '{"a":[1,2,{"b":null}],"big":12345678901234567890}', bin: undefined, u: '123e4567-e89b-12d3-a456-426614174000',
    });
    assert.deepEqual([...(rows[0].bin as Buffer)], [0, 9, 10, 13, 92, 255]);
    assert.deepEqual(rows[1], { id: 2, b: null, t: null, dec: null, dbl: null, ok: null, d: null, ts: null, j: null, bin: null, u: null });
    assert.equal(rows[2].t, big);
    assert.equal(rows[2].dec, '-0.000000001');
    assert.equal(rows[2].ts, '1969-12-31T23:59:59.999999Z');
    assert.equal(rows[2].j, 'just a string');
    assert.equal(rows[2].dbl, -1.5e300);
    assert.equal((rows[2].bin as Buffer).length, 0);
    const [len] = await admin.query('SELECT char_length(t) AS n FROM types WHERE id = 3');
    assert.equal(Number((len as { n: number }[])[0].n), big.length - 100_000, 'emoji count as one character each');
    await dest.close();
  });
});

test('hostile identifiers are quoted everywhere: tables, columns, keys, staging', async () => {
  await withDatabase(async (db, admin, dir) => {
    const dest = await open(db, dir);
    const names = ['"; DROP TABLE x; --', 'select', 'Name With Spaces', 'émoji 🎉', 'back`tick``s'];
    for (const base of ['`; DROP TABLE x; --', 'select', 'émoji 🎉']) {
      for (const disposition of ['append', 'merge', 'replace'] as const) {
        const table = `${base} ${disposition}`;
        const load = await dest.begin(target(table, disposition, [names[0]], `s_${disposition}`));
        await load.evolve(schemaOf(names.map((n): [string, ColumnType] => [n, 'text'])));
        await load.write([names.map((n) => `${n}-1`), names.map((n) => `${n}-2`)]);
        await load.finish(state(1));
        const stored = table.replace('🎉', '_1f389_');
        const [rows] = await admin.query(`SELECT * FROM \`${stored.replace(/`/g, '``')}\` ORDER BY 1`);
        assert.equal((rows as unknown[]).length, 2, table);
        // MySQL identifiers cannot hold emoji (utf8mb3): they are spelled out, everything else is kept as given.
        assert.deepEqual(Object.keys((rows as Record<string, unknown>[])[0]), names.map((n) => n.replace('🎉', '_1f389_')));
        assert.equal((rows as Record<string, unknown>[])[0]['back`tick``s'], 'back`tick``s-1');
      }
    }
    const [tables] = await admin.query('SHOW TABLES');
    assert.equal((tables as unknown[]).length, 10, 'nine targets and the state table, no staging left');
    await dest.close();
  });
});

test('source: full table, incremental resume across pages of one cursor value, updates picked up next run', async () => {
  await withDatabase(async (db, admin, dir) => {
    await admin.query(`CREATE TABLE src (id BIGINT NOT NULL PRIMARY KEY, updated_at DATETIME(6) NOT NULL, v VARCHAR(20),
      amount DECIMAL(12,3), KEY (updated_at))`);
    const values: string[] = [];
    // 2500 rows share one cursor value: pages of 1000 cut through them twice.
    for (let i = 1; i <= 2500; i++) values.push(`(${i}, '2024-01-01 00:00:00', 'v${i}', ${i}.125)`);
    for (let i = 2501; i <= 3000; i++) values.push(`(${i}, '2024-01-02 00:00:00.5', 'v${i}', NULL)`);
    await admin.query(`INSERT INTO src VALUES ${values.join(',')}`);

    // Resume from a mid-read checkpoint: exactly the rows after it, none twice.
    const { src, read } = await cursorSource(db, dir, 'src');
    const all = await read();
    assert.deepEqual(all.map((b) => batchLength(b)), [1000, 1000, 1000]);
    assert.deepEqual(all[0].checkpoint?.connector, { cursor_value: '2024-01-01T00:00:00.000000Z', pk_values: ['1000'] });
    const resumed = await read(all[1].checkpoint);
    assert.deepEqual(resumed.flatMap((b) => rowsOf(b).map((r) => Number(r.id))), Array.from({ length: 1000 }, (_, i) => 2001 + i));
    await src.close();

    // Through the engine into a MySQL destination, twice, with an update and new rows in between.
    const { dir: home, cleanup } = tempDir();
    try {
      const pipeline = () => definePipeline({
        pipeline: 'mysql-copy', batch_size: 700, checkpoint_rows: 1000,
        sources: [{ name: 'shop', type: 'mysql', ...SERVER, database: db,
          streams: [{ name: 'orders', table: 'src', cursor: 'updated_at', write: 'merge', primary_key: ['id'] }] }],
        destination: { type: 'mysql', ...SERVER, database: db },
      }, { baseDir: dir });
      const first = await runPipeline(pipeline(), { home });
      assert.equal(first.status, 'success', first.error);
      assert.deepEqual({ ...first.streams.orders }, { extracted: 3000, loaded: 3000, dead_lettered: 0, filtered: 0, inserted: 3000, updated: 0, deleted: 0 });
      await admin.query("UPDATE src SET v = 'changed', updated_at = '2024-01-03 00:00:00' WHERE id = 7");
      await admin.query("INSERT INTO src VALUES (3001, '2024-01-02 00:00:00.5', 'late', 1.5), (3002, '2024-01-04 00:00:00', 'new', 2.5)");
      const second = await runPipeline(pipeline(), { home });
      assert.equal(second.status, 'success', second.error);
      assert.equal(second.streams.orders.extracted, 3);
      assert.equal(second.streams.orders.updated, 1);
      assert.equal(second.streams.orders.inserted, 2);
      const [check] = await admin.query('SELECT count(*) AS n, sum(id = 7 AND v = \'changed\') AS changed, sum(amount) AS total FROM orders');
      const c = (check as Record<string, string>[])[0];
      assert.equal(Number(c.n), 3002);
      assert.equal(Number(c.changed), 1);
      // Exact decimals survive: 2500 × .125 fractions and the new amounts, no float drift.
      const [exact] = await admin.query('SELECT sum(amount) AS total FROM src');
      const digits = (x: string): string => x.replace(/\.?0+$/, '');
      assert.equal(digits(c.total), digits((exact as Record<string, string>[])[0].total));
      const [types] = await admin.query("SELECT DATA_TYPE AS t FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'orders' AND COLUMN_NAME = 'amount'");
      assert.equal((types as { t: string }[])[0].t, 'decimal');
    } finally {
      cleanup();
    }
  });
});

test('a table without a key streams in one pass; the password never appears in errors', async () => {
  await withDatabase(async (db, admin, dir) => {
    await admin.query('CREATE TABLE heap (a INT, b TEXT)');
    await admin.query(`INSERT INTO heap VALUES ${Array.from({ length: 2500 }, (_, i) => `(${i}, 'r${i}')`).join(',')}`);
    const stream = { name: 'heap', primary_key: [], write: 'append', on_schema_change: 'widen' } as StreamConfig;
    const src = new MysqlSource({ ...SERVER, database: db, streams: [stream] });
    const ctx = ctxFor(dir, 1000);
    await src.connect(ctx);
    const batches = await collect(src.read(stream, undefined, ctx));
    assert.deepEqual(batches.map((b) => batchLength(b)), [1000, 1000, 500]);
    // Rows as arrays under the column names, in canonical form (the source vouches for them).
    assert.deepEqual(batches[0].columns, ['a', 'b']);
    assert.deepEqual(batches[2].values?.at(-1), [2499, 'r2499']);
    assert.ok(batches.every((b) => b.canonical));
    assert.ok(batches[2].checkpoint && !batches[0].checkpoint);
    await src.close();

    const secret = 'S3cret-pw-never-shown';
    const dest = await mysqlDestinationSpec.create(mysqlDestinationSpec.config.parse({ url: `mysql://nobody:${secret}@127.0.0.1:3306/${db}` }) as MysqlConnectionConfig);
    const err = await dest.connect(ctxFor(dir)).then(() => undefined, (e: Error) => e);
    assert.ok(err, 'a wrong password fails');
    assert.ok(!String(err.message).includes(secret) && !redact(String(err.stack)).includes(secret), err.message);
    await dest.close();
  });
});

test('source: an unindexed cursor is read in one ordered pass that checkpoints and resumes exactly as pages do', async () => {
  await withDatabase(async (db, admin, dir) => {
    // No index leads with updated_at: pages would each sort the table.
    await admin.query('CREATE TABLE plain (id BIGINT NOT NULL PRIMARY KEY, updated_at DATETIME(6) NOT NULL, v VARCHAR(20))');
    const values: string[] = [];
    for (let i = 1; i <= 2500; i++) values.push(`(${i}, '${i <= 1500 ? '2024-01-01 00:00:00' : '2024-01-02 00:00:00.5'}', 'v${i}')`);
    await admin.query(`INSERT INTO plain VALUES ${values.join(',')}`);
    const { src, read } = await cursorSource(db, dir, 'plain');
    const all = await read();
    assert.deepEqual(all.map((b) => batchLength(b)), [1000, 1000, 500]);
    assert.deepEqual(all.map((b) => b.checkpoint?.connector), [
      { cursor_value: '2024-01-01T00:00:00.000000Z', pk_values: ['1000'] },
      { cursor_value: '2024-01-02T00:00:00.500000Z', pk_values: ['2000'] },
      { cursor_value: '2024-01-02T00:00:00.500000Z', pk_values: ['2500'] },
    ]);
    // Resumed inside the run of equal cursor values: exactly the rows after the position.
    const resumed = await read(all[0].checkpoint);
    assert.deepEqual(resumed.flatMap((b) => rowsOf(b).map((r) => Number(r.id))), Array.from({ length: 1500 }, (_, i) => 1001 + i));
    assert.deepEqual(await read(all[2].checkpoint), []);
    await src.close();
  });
});

test('source: every value arrives canonical, by keyset pages and in one keyless pass alike', async () => {
  await withDatabase(async (db, admin, dir) => {
    // Zero dates exist only outside the strict modes; MySQL keeps them and they have no instant.
    await admin.query("SET SESSION sql_mode = ''");
    for (const [table, key] of [['keyed', 'PRIMARY KEY'], ['loose', '']]) {
      await admin.query(`CREATE TABLE ${table} (id INT NOT NULL ${key}, ok TINYINT(1), bit1 BIT(1), small TINYINT,
        dt DATETIME(6), ts TIMESTAMP(3) NULL, d DATE, j JSON, big BIGINT, amount DECIMAL(30,10))`);
      await admin.query(`INSERT INTO ${table} VALUES
        (1, 1, b'1', 7, '2024-02-29 23:59:59.123456', '2024-01-01 00:00:00.5', '2024-02-29', '{"n": 12345678901234567890}', 9007199254740993, 12345678901234567890.0123456789),
        (2, 0, b'0', -3, '0000-00-00 00:00:00', NULL, '1999-12-31', '[1, "a"]', -1, 0),
        (3, NULL, NULL, NULL, NULL, NULL, NULL, '"text"', NULL, NULL),
        (4, 1, b'1', 0, '1970-01-01 00:00:00', NULL, NULL, '42', 0, -0.5)`);
    }
    const src = new MysqlSource({ ...SERVER, database: db });
    const ctx = ctxFor(dir, 1000);
    await src.connect(ctx);
    for (const table of ['keyed', 'loose']) {
      const stream = { name: table, primary_key: [], write: 'append', on_schema_change: 'widen' } as StreamConfig;
      const rows = (await collect(src.read(stream, undefined, ctx))).flatMap((b) => rowsOf(b));
      rows.sort((a, b) => Number(a.id) - Number(b.id));
      assert.deepEqual(rows, [
        { id: 1, ok: true, bit1: true, small: 7, dt: '2024-02-29T23:59:59.123456Z', ts: '2024-01-01T00:00:00.500Z', d: '2024-02-29',
          j: '{"n": 12345678901234567890}', big: '9007199254740993', amount: '12345678901234567890.0123456789' },
        { id: 2, ok: false, bit1: false, small: -3, dt: null, ts: null, d: '1999-12-31', j: '[1, "a"]', big: '-1', amount: '0.0000000000' },
        { id: 3, ok: null, bit1: null, small: null, dt: null, ts: null, d: null, j: 'text', big: null, amount: null },
        { id: 4, ok: true, bit1: true, small: 0, dt: '1970-01-01T00:00:00.000000Z', ts: null, d: null, j: 42, big: '0', amount: '-0.5000000000' },
      ], table);
    }
    await src.close();
  });
});

test('scd2: text keys, history across commits, NULL and empty text differ, one timestamp per commit', async () => {
  await withDatabase(async (db, admin, dir) => {
    const dest = await open(db, dir);
    const cols = schemaOf([['code', 'text'], ['a', 'text'], ['b', 'text']]);
    const load = await dest.begin(target('h', 'scd2', ['code']));
    await load.evolve(cols);
    await load.write([['k1', 'x', ''], ['k2', null, 'y'], ['k3', '', 'z']]);
    assert.deepEqual(await load.commit(state(1)), { inserted: 3, updated: 0, deleted: 0 });
    // k1: the values trade places; k2: NULL becomes ''; k3: written twice, the last row is unchanged; K1 is another key.
    await load.write([['k1', '', 'x'], ['k2', '', 'y'], ['k3', 'changed', 'z'], ['k3', '', 'z'], ['K1', 'x', '']]);
    assert.deepEqual(await load.commit(state(2)), { inserted: 1, updated: 2, deleted: 0 });
    await load.write([['k1', '', 'x']]);
    assert.deepEqual(await load.finish(state(3)), { inserted: 0, updated: 0, deleted: 0 });
    const [rows] = await admin.query('SELECT code, a, b, is_current AS cur, valid_from AS vf, valid_to AS vt FROM h ORDER BY code, vf');
    const r = rows as Record<string, unknown>[];
    assert.deepEqual(r.map((x) => `${x.code}:${x.a}:${x.b}:${x.cur}`), ['K1:x::1', 'k1:x::0', 'k1::x:1', 'k2:null:y:0', 'k2::y:1', 'k3::z:1']);
    assert.equal(r[1].vt, r[2].vf, 'the closed version ends when its successor starts');
    assert.equal(r[3].vt, r[2].vf, 'one timestamp for the whole commit');
    assert.match(String(r[2].vf), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/);
    const [columns] = await admin.query('SHOW COLUMNS FROM h');
    assert.deepEqual((columns as { Field: string; Type: string }[]).map((c) => `${c.Field} ${c.Type}`),
      ['code varchar(191)', 'a longtext', 'b longtext', 'valid_from datetime(6)', 'valid_to datetime(6)', 'is_current tinyint(1)', '_sluice_hash longtext']);
    const [index] = await admin.query("SHOW INDEX FROM h WHERE Key_name = 'sluice_scd2_key'");
    assert.deepEqual((index as { Column_name: string }[]).map((i) => i.Column_name), ['code']);
    assert.deepEqual(await dest.readState('p', 'h'), state(3));
    const [tables] = await admin.query("SHOW TABLES LIKE 'h\\_\\_sluice%'");
    assert.deepEqual(tables, [], 'no staging is left behind');
    const clash = await dest.begin(target('c', 'scd2', ['id']));
    await assert.rejects(clash.evolve(schemaOf([['id', 'integer'], ['Valid_From', 'timestamp']])), /reserved by write: scd2/);
    await clash.abort();
    await dest.close();
  });
});
