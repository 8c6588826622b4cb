// The SQLite source and destination against real database files in temp dirs: paths and config, schema evolution by
// rebuilding, hostile identifiers, type round-trips, scd2, incremental keyset reads. What every SQL destination's load
// API does alike (commits, aborts, merge, replace, replacing groups, delete markers, staged loads, readTable) is tested
// once for all of them in test/conformance/sql-loads.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase } from '../../src/core/sqlite-driver.js';
import type { LoadTarget, RunContext, StreamConfig } from '../../src/core/connector.js';
import { batchLength, type ColumnType, type StreamState, type WriteDisposition } from '../../src/core/types.js';
import { definePipeline } from '../../src/config/load.js';
import { runPipeline } from '../../src/engine/runner.js';
import { registerDestination, registerSource } from '../../src/connectors/registry.js';
import type { SqliteDestination } from '../../src/connectors/sqlite/sqlite-destination.js';
import { SqliteSource } from '../../src/connectors/sqlite/sqlite-source.js';
import { sqliteDestinationSpec, sqliteSourceSpec } from '../../src/connectors/sqlite/sqlite-spec.js';
import type { SqliteConfig } from '../../src/connectors/sqlite/sqlite-spec.js';
import { collect, rowsOf, runContext, schemaOf, tempDir } from '../helpers.js';

registerSource(sqliteSourceSpec);
registerDestination(sqliteDestinationSpec);

const ctxFor = (dir: string, batchSize = 1000): RunContext => runContext(dir, { batchSize });

const target = (table: string, disposition: WriteDisposition, primaryKey: string[] = []): LoadTarget => ({
  pipeline: 'p', stream: table, table, disposition, primaryKey, runId: 'run-1', fullRefresh: false,
});

const state = (n: number): StreamState => ({ version: 1, cursor: { column: 'id', value: n } });

async function withDir(use: (dir: string) => Promise<void>): Promise<void> {
  const { dir, cleanup } = tempDir();
  try {
    await use(dir);
  } finally {
    cleanup();
  }
}

async function open(dir: string, path = 'db/warehouse.sqlite'): Promise<SqliteDestination> {
  const dest = await sqliteDestinationSpec.create(sqliteDestinationSpec.config.parse({ path }) as SqliteConfig) as SqliteDestination;
  await dest.connect(ctxFor(dir));
  return dest;
}

test('a relative path resolves against baseDir, its directory created; unknown keys are refused', async () => {
  await withDir(async (dir) => {
    const dest = await open(dir);
    await dest.close();
    assert.ok(existsSync(join(dir, 'db', 'warehouse.sqlite')));
    assert.throws(() => sqliteDestinationSpec.config.parse({ path: 'x', pth: 'y' }));
  });
});

test('evolve adds columns and widens by rebuilding, mid-checkpoint too', async () => {
  await withDir(async (dir) => {
    const dest = await open(dir);
    const a = await dest.begin(target('r', 'append'));
    await a.evolve(schemaOf([['id', 'integer'], ['n', 'integer'], ['d', 'date']]));
    await a.write([[1, 5, '2024-01-01']]);
    await a.commit(state(1));
    await a.write([[2, 6, '2024-01-02']]);
    await a.evolve(schemaOf([['id', 'integer'], ['n', 'decimal'], ['d', 'timestamp'], ['extra', 'text']]));
    await a.write([[3, '00012345678901234567890.500', '2024-01-03T04:05:06.123456Z', 'more']]);
    await a.finish(state(3));
    assert.deepEqual(dest.query('SELECT name, type FROM pragma_table_info(?)', ['r']), [
      { name: 'id', type: 'INTEGER' }, { name: 'n', type: 'DECIMAL TEXT' }, { name: 'd', type: 'TIMESTAMP TEXT' }, { name: 'extra', type: 'TEXT' },
    ]);
    assert.deepEqual(dest.query('SELECT id, n, d, extra FROM r ORDER BY id'), [
      { id: 1, n: '5', d: '2024-01-01', extra: null }, { id: 2, n: '6', d: '2024-01-02', extra: null },
      { id: 3, n: '00012345678901234567890.500', d: '2024-01-03T04:05:06.123456Z', extra: 'more' },
    ]);
    await dest.close();
  });
});

test('types round-trip and hostile identifiers survive, through the SQLite source too', async () => {
  await withDir(async (dir) => {
    const dest = await open(dir, 'w.sqlite');
    const cols: [string, ColumnType][] = [['id', 'integer'], ['b', 'bigint'], ['t', 'text'], ['dec', 'decimal'], ['dbl', 'double'],
      ['ok', 'boolean'], ['d', 'date'], ['ts', 'timestamp'], ['j', 'json'], ['bin', 'binary'], ['u', 'uuid'],
      ['"; DROP TABLE x; --', 'text'], ['select', 'text'], ['Name With Spaces', 'text'], ['émoji 🎉', 'text'], ['back`tick', 'text']];
    const big = 'é🎉\\\t\n\r\0x'.repeat(100_000);
    for (const table of ['"; DROP TABLE x; --', 'select', 'émoji 🎉']) {
      const load = await dest.begin(target(table, 'merge', ['"; DROP TABLE x; --']));
      await load.evolve(schemaOf(cols));
      await load.write([
        [1, 9223372036854775807n, 'héllo 🎉', '12345678901234567890123456789.123456789', 0.1 + 0.2, true, '2024-02-29',
          '2024-06-01T12:34:56.789012Z', '123', new Uint8Array([0, 255]), '123e4567-e89b-12d3-a456-426614174000', 'k1', 's', 'n', 'e', 'b'],
        [2, null, big, '-0.000000001', -1.5e300, false, null, null, null, null, null, 'k2', null, null, null, null],
      ]);
      await load.finish(state(2));
    }
    await dest.close();
    const stream = { name: 'x', table: 'émoji 🎉', primary_key: [], write: 'append', on_schema_change: 'widen' } as StreamConfig;
    const src = new SqliteSource({ path: 'w.sqlite', streams: [stream] });
    const ctx = ctxFor(dir);
    await src.connect(ctx);
    const known = await src.columns(stream);
    assert.equal(known.dec, 'decimal');
    assert.equal(known.ts, 'timestamp');
    assert.equal(known.j, 'json');
    const rows = (await collect(src.read(stream, undefined, ctx))).flatMap(rowsOf);
    await src.close();
    assert.equal(rows.length, 2);
    const [r1, r2] = rows;
    assert.equal(r1.b, 9223372036854775807n);
    assert.equal(r1.dec, '12345678901234567890123456789.123456789');
    assert.equal(r1.dbl, 0.30000000000000004);
    assert.equal(r1.ok, 1);
    assert.equal(r1.ts, '2024-06-01T12:34:56.789012Z');
    assert.equal(r1.j, '123', 'JSON text stays text, not the number 123');
    assert.deepEqual([...(r1.bin as Buffer)], [0, 255]);
    assert.equal(r1['"; DROP TABLE x; --'], 'k1');
    assert.equal(r1['émoji 🎉'], 'e');
    assert.equal(r2.t, big);
    assert.equal(r2.dec, '-0.000000001');
    assert.equal(r2.d, null);
    const raw = openDatabase(join(dir, 'w.sqlite'), { readonly: true });
    assert.equal((raw.prepare('SELECT count(*) AS n FROM sqlite_master WHERE type = \'table\'').get() as { n: number }).n, 4);
    raw.close();
  });
});

test('source: incremental resume across pages of one cursor value; updates picked up by the next run', async () => {
  // With an index leading with the cursor, keyset pages; without one, one ordered pass (pages would each sort the
  // table): the same batches, positions and resume.
  for (const indexed of [true, false]) {
    await withDir(async (dir) => {
      const db = openDatabase(join(dir, 'shop.sqlite'));
      db.exec('CREATE TABLE src (id INTEGER PRIMARY KEY, updated_at TEXT NOT NULL, v TEXT, amount DECIMAL TEXT)');
      if (indexed) db.exec('CREATE INDEX src_updated ON src (updated_at)');
      const ins = db.prepare('INSERT INTO src VALUES (?, ?, ?, ?)');
      db.transaction(() => {
        for (let i = 1; i <= 2500; i++) ins.run(i, '2024-01-01T00:00:00.000000Z', `v${i}`, `${i}.125`);
        for (let i = 2501; i <= 3000; i++) ins.run(i, '2024-01-02T00:00:00.500000Z', `v${i}`, null);
      })();
      const stream = { name: 'src', primary_key: [], cursor: 'updated_at', write: 'append', on_schema_change: 'widen' } as StreamConfig;
      const src = new SqliteSource({ path: 'shop.sqlite', streams: [stream] });
      const ctx = ctxFor(dir, 1000);
      await src.connect(ctx);
      const all = await collect(src.read(stream, undefined, ctx));
      assert.deepEqual(all.map((b) => batchLength(b)), [1000, 1000, 1000]);
      assert.ok(all.every((b) => b.values && b.rows.length === 0), 'rows come as arrays');
      assert.deepEqual(all[0].checkpoint?.connector, { cursor_value: '2024-01-01T00:00:00.000000Z', pk_values: [1000] });
      const resumed = await collect(src.read(stream, all[1].checkpoint, ctx));
      assert.deepEqual(resumed.flatMap(rowsOf).map((r) => r.id), Array.from({ length: 1000 }, (_, i) => 2001 + i));
      await src.close();

      const { dir: home, cleanup } = tempDir();
      try {
        const pipeline = () => definePipeline({
          pipeline: 'sqlite-copy', batch_size: 700, checkpoint_rows: 1000,
          sources: [{ name: 'shop', type: 'sqlite', path: 'shop.sqlite',
            streams: [{ name: 'orders', table: 'src', cursor: 'updated_at', write: 'merge', primary_key: ['id'] }] }],
          destination: { type: 'sqlite', path: 'out.sqlite' },
        }, { baseDir: dir });
        const first = await runPipeline(pipeline(), { home });
        assert.equal(first.status, 'success', first.error);
        assert.equal(first.streams.orders.inserted, 3000);
        db.prepare("UPDATE src SET v = 'changed', updated_at = '2024-01-03T00:00:00.000000Z' WHERE id = 7").run();
        ins.run(3001, '2024-01-02T00:00:00.500000Z', 'late', '1.5');
        const second = await runPipeline(pipeline(), { home });
        assert.equal(second.status, 'success', second.error);
        assert.deepEqual([second.streams.orders.extracted, second.streams.orders.inserted, second.streams.orders.updated], [2, 1, 1]);
        const out = openDatabase(join(dir, 'out.sqlite'), { readonly: true });
        const c = out.prepare("SELECT count(*) AS n, sum(v = 'changed') AS changed, min(amount) AS a FROM orders").get() as Record<string, unknown>;
        out.close();
        assert.deepEqual(c, { n: 3001, changed: 1, a: '1.125' }, indexed ? 'indexed' : 'not indexed');
      } finally {
        cleanup();
        db.close();
      }
    });
  }
});

test('scd2: history across commits, NULL and empty text differ, one current version per key, a key-only table', async () => {
  await withDir(async (dir) => {
    const dest = await open(dir);
    const load = await dest.begin(target('h', 'scd2', ['id']));
    await load.evolve(schemaOf([['id', 'integer'], ['a', 'text'], ['b', 'text']]));
    await load.write([[1, 'x', ''], [2, null, 'y'], [3, '', 'z']]);
    assert.deepEqual(await load.commit(state(1)), { inserted: 3, updated: 0, deleted: 0 });
    // Key 1: the values trade places; key 2: NULL becomes ''; key 3: written twice, the last row is unchanged.
    await load.write([[1, '', 'x'], [2, '', 'y'], [3, 'changed', 'z'], [3, '', 'z']]);
    assert.deepEqual(await load.commit(state(2)), { inserted: 0, updated: 2, deleted: 0 });
    assert.deepEqual(await load.finish(state(3)), { inserted: 0, updated: 0, deleted: 0 });
    const rows = dest.query('SELECT id, a, b, is_current AS cur, valid_from AS vf, valid_to AS vt FROM h ORDER BY id, vf');
    assert.deepEqual(rows.map((r) => `${r.id}:${r.a}:${r.b}:${r.cur}`), ['1:x::0', '1::x:1', '2:null:y:0', '2::y:1', '3::z:1']);
    assert.equal(rows[0].vt, rows[1].vf, 'the closed version ends when its successor starts');
    assert.match(String(rows[1].vf), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    assert.throws(() => dest.query("INSERT INTO h (id, valid_from, is_current) VALUES (1, 'now', 1)"), /UNIQUE/);
    assert.deepEqual(await dest.readState('p', 'h'), state(3));

    // A new column changes every hash: the next load of a key records a version.
    const wider = await dest.begin(target('h', 'scd2', ['id']));
    await wider.evolve(schemaOf([['id', 'integer'], ['a', 'text'], ['b', 'text'], ['n', 'integer']]));
    await wider.write([[1, '', 'x', null], [4, 'new', null, 7]]);
    assert.deepEqual(await wider.finish(state(4)), { inserted: 1, updated: 1, deleted: 0 });
    assert.deepEqual(dest.query('SELECT id, n FROM h WHERE is_current ORDER BY id'), [{ id: 1, n: null }, { id: 2, n: null }, { id: 3, n: null }, { id: 4, n: 7 }]);

    const keys = await dest.begin(target('k', 'scd2', ['id']));
    await keys.evolve(schemaOf([['id', 'integer']]));
    await keys.write([[1], [1], [2]]);
    assert.deepEqual(await keys.commit(state(1)), { inserted: 2, updated: 0, deleted: 0 });
    await keys.write([[1], [3]]);
    assert.deepEqual(await keys.finish(state(2)), { inserted: 1, updated: 0, deleted: 0 });
    const clash = await dest.begin(target('c', 'scd2', ['id']));
    await assert.rejects(clash.evolve(schemaOf([['id', 'integer'], ['Is_Current', 'boolean']])), /reserved by write: scd2/);
    await clash.abort();
    await dest.close();
  });
});
