// The SQLite source and destination against real database files in temp dirs: every disposition, rollback, schema
// evolution, hostile identifiers, type round-trips, concurrent streams on one file, incremental keyset reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { LoadTarget, RunContext, StreamConfig } from '../../src/core/connector.js';
import type { ColumnType, StreamState, WriteDisposition } from '../../src/core/types.js';
import { definePipeline } from '../../src/config/load.js';
import { runPipeline } from '../../src/engine/runner.js';
import { registerDestination, registerSource } from '../../src/connectors/registry.js';
import type { SqliteDestination } from '../../src/connectors/sqlite/sqlite-destination.js';
import { SqliteSource } from '../../src/connectors/sqlite/sqlite-source.js';
import { sqliteDestinationSpec, sqliteSourceSpec } from '../../src/connectors/sqlite/sqlite-spec.js';
import type { SqliteConfig } from '../../src/connectors/sqlite/sqlite-spec.js';
import { collect, runContext, schemaOf, tempDir } from '../helpers.js';

registerSource(sqliteSourceSpec);
registerDestination(sqliteDestinationSpec);

const ctxFor = (dir: string, batchSize = 1000): RunContext => runContext(dir, { batchSize });

const target = (table: string, disposition: WriteDisposition, primaryKey: string[] = [], stream = table): LoadTarget => ({
  pipeline: 'p', stream, table, disposition, primaryKey, runId: 'run-1', fullRefresh: false,
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

test('append across commits; state persists across reopen; a relative path resolves against baseDir', async () => {
  await withDir(async (dir) => {
    const dest = await open(dir);
    const load = await dest.begin(target('orders', 'append'));
    await load.evolve(schemaOf([['id', 'integer'], ['name', 'text']]));
    await load.write([[1, 'a'], [2, 'b']]);
    assert.deepEqual(await load.commit(state(2)), { inserted: 2, updated: 0, deleted: 0 });
    await load.write([[3, 'c']]);
    assert.deepEqual(await load.finish(state(3)), { inserted: 1, updated: 0, deleted: 0 });
    await dest.close();
    const again = await open(dir);
    assert.deepEqual(await again.readState('p', 'orders'), state(3));
    assert.deepEqual(again.query('SELECT id, name FROM orders ORDER BY id'), [{ id: 1, name: 'a' }, { id: 2, name: 'b' }, { id: 3, name: 'c' }]);
    for (let run = 0; run < 15; run++) {
      const l = await again.begin(target('orders', 'append'));
      await l.evolve(schemaOf([['id', 'integer'], ['name', 'text']]));
      await l.write([[100 + run, 'x']]);
      await l.finish(state(100 + run));
    }
    assert.deepEqual(await again.readState('p', 'orders'), state(114));
    const [v] = again.query("SELECT count(*) AS n, max(version) AS v FROM _sluice_state WHERE stream = 'orders'");
    assert.ok((v.n as number) <= 11 && v.v === 17, JSON.stringify(v));
    await again.resetState('p');
    assert.equal(await again.readState('p', 'orders'), undefined);
    await again.close();
    assert.throws(() => sqliteDestinationSpec.config.parse({ path: 'x', pth: 'y' }));
  });
});

test('abort rolls back to the last commit; two streams load concurrently into one file', async () => {
  await withDir(async (dir) => {
    const dest = await open(dir);
    const a = await dest.begin(target('a', 'append', [], 'a'));
    const m = await dest.begin(target('m', 'merge', ['id'], 'm'));
    await a.evolve(schemaOf([['id', 'integer']]));
    await m.evolve(schemaOf([['id', 'integer'], ['v', 'text']]));
    // Interleaved writes and commits of two loads on the shared connection.
    await a.write([[1], [2]]);
    await m.write([[1, 'x']]);
    await m.commit(state(1));
    await a.write([[3]]);
    await a.commit(state(3));
    await m.write([[2, 'y'], [1, 'x2']]);
    await a.write([[4]]);
    await m.abort();
    await a.abort();
    assert.deepEqual(dest.query('SELECT id FROM a ORDER BY id'), [{ id: 1 }, { id: 2 }, { id: 3 }]);
    assert.deepEqual(dest.query('SELECT id, v FROM m ORDER BY id'), [{ id: 1, v: 'x' }]);
    assert.deepEqual(await dest.readState('p', 'a'), state(3));
    assert.deepEqual(await dest.readState('p', 'm'), state(1));
    const r = await dest.begin(target('m', 'replace', ['id'], 'm'));
    await r.evolve(schemaOf([['id', 'integer']]));
    await r.write([[9]]);
    await r.commit(state(9));
    await r.abort();
    assert.deepEqual(dest.query('SELECT id FROM m ORDER BY id'), [{ id: 1 }]);
    assert.deepEqual(dest.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%sluice_%' AND name <> '_sluice_state'"), []);
    await dest.close();
  });
});

test('merge: last row per key wins, counts exact, unchanged rows count as updates; merge needs the key', async () => {
  await withDir(async (dir) => {
    const dest = await open(dir);
    const cols = schemaOf([['id', 'integer'], ['region', 'text'], ['v', 'text']]);
    const first = await dest.begin(target('m', 'merge', ['id', 'region']));
    await first.evolve(cols);
    await first.write([[1, 'eu', 'a'], [2, 'eu', 'b'], [1, 'us', 'c']]);
    assert.deepEqual(await first.finish(state(1)), { inserted: 3, updated: 0, deleted: 0 });
    const second = await dest.begin(target('m', 'merge', ['id', 'region']));
    await second.evolve(cols);
    await second.write([[1, 'eu', 'a2'], [3, 'eu', 'x']]);
    await second.write([[1, 'eu', 'a3'], [3, 'eu', 'x2'], [2, 'eu', 'b2']]);
    assert.deepEqual(await second.commit(state(2)), { inserted: 1, updated: 2, deleted: 0 });
    await second.write([[4, 'eu', 'y'], [1, 'us', 'c']]);
    assert.deepEqual(await second.finish(state(3)), { inserted: 1, updated: 1, deleted: 0 });
    assert.deepEqual(dest.query('SELECT id, region, v FROM m ORDER BY id, region'), [
      { id: 1, region: 'eu', v: 'a3' }, { id: 1, region: 'us', v: 'c' }, { id: 2, region: 'eu', v: 'b2' },
      { id: 3, region: 'eu', v: 'x2' }, { id: 4, region: 'eu', v: 'y' },
    ]);
    dest.query('CREATE TABLE nokey (id INTEGER)');
    const nokey = await dest.begin(target('nokey', 'merge', ['id']));
    await assert.rejects(nokey.evolve(schemaOf([['id', 'integer']])), /PRIMARY KEY \(id\).*none/);
    await nokey.abort();
    await dest.close();
  });
});

test('replace swaps in one transaction; evolve adds columns and widens by rebuilding, mid-checkpoint too', async () => {
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
    const r = await dest.begin(target('r', 'replace', ['id']));
    await r.evolve(schemaOf([['id', 'integer'], ['v', 'text']]));
    await r.write([[10, 'new']]);
    await r.commit(state(10));
    assert.equal(dest.query('SELECT count(*) AS n FROM r')[0].n, 3, 'readers see the old table until finish');
    await r.write([[11, 'new2']]);
    assert.deepEqual(await r.finish(state(11)), { inserted: 2, updated: 0, deleted: 0 });
    assert.deepEqual(dest.query('SELECT * FROM r ORDER BY id'), [{ id: 10, v: 'new' }, { id: 11, v: 'new2' }]);
    assert.deepEqual(await dest.readState('p', 'r'), state(11));
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
    const rows = (await collect(src.read(stream, undefined, ctx))).flatMap((b) => b.rows);
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
    const raw = new Database(join(dir, 'w.sqlite'), { readonly: true });
    assert.equal((raw.prepare('SELECT count(*) AS n FROM sqlite_master WHERE type = \'table\'').get() as { n: number }).n, 4);
    raw.close();
  });
});

test('source: incremental resume across pages of one cursor value; updates picked up by the next run', async () => {
  await withDir(async (dir) => {
    const db = new Database(join(dir, 'shop.sqlite'));
    db.exec('CREATE TABLE src (id INTEGER PRIMARY KEY, updated_at TEXT NOT NULL, v TEXT, amount DECIMAL TEXT)');
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
    assert.deepEqual(all.map((b) => b.rows.length), [1000, 1000, 1000]);
    assert.deepEqual(all[0].checkpoint?.connector, { cursor_value: '2024-01-01T00:00:00.000000Z', pk_values: [1000] });
    const resumed = await collect(src.read(stream, all[1].checkpoint, ctx));
    assert.deepEqual(resumed.flatMap((b) => b.rows.map((r) => r.id)), Array.from({ length: 1000 }, (_, i) => 2001 + i));
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
      const out = new Database(join(dir, 'out.sqlite'), { readonly: true });
      const c = out.prepare("SELECT count(*) AS n, sum(v = 'changed') AS changed, min(amount) AS a FROM orders").get() as Record<string, unknown>;
      out.close();
      assert.deepEqual(c, { n: 3001, changed: 1, a: '1.125' });
    } finally {
      cleanup();
      db.close();
    }
  });
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

test('replacing groups: each commit replaces the staged groups; a marker empties its group, drops what came before it, and is never stored', async () => {
  await withDir(async (dir) => {
    const dest = await open(dir);
    const groups: LoadTarget = { ...target('c', 'append'), replaceGroups: 'g', deleteColumn: 'm' };
    const rows = () => dest.query('SELECT g, v FROM c').map((r) => `${r.g}:${r.v}`).sort();
    const load = await dest.begin(groups);
    // No marker column yet: groups are still replaced, and no row is read as a marker.
    await load.evolve(schemaOf([['g', 'text'], ['v', 'integer']]));
    await load.write([['a', 1], ['a', 2], ['b', 1], [null, 9]]);
    assert.deepEqual(await load.commit(state(1)), { inserted: 4, updated: 0, deleted: 0 });
    await load.write([['a', 3]]);
    // The marker column arrives mid-checkpoint, and v widens to text (staging rebuilt): write order holds.
    await load.evolve(schemaOf([['g', 'text'], ['v', 'text'], ['m', 'boolean']]));
    await load.write([['a', null, true], ['a', '4', false], ['b', null, true], ['c', '5', null], ['d', '6', false], ['d', null, true], [null, '10', null]]);
    // Deleted: a1, a2, b1 (groups a, b, c, d staged); inserted: a4 (a3 came before a's marker), c5, null10 (no group).
    assert.deepEqual(await load.commit(state(2)), { inserted: 3, updated: 0, deleted: 3 });
    assert.deepEqual(rows(), ['a:4', 'c:5', 'null:10', 'null:9']);
    // The same rows again (a commit replayed after a crash): the same target.
    await load.write([['a', '4', false], ['c', '5', null]]);
    assert.deepEqual(await load.finish(state(3)), { inserted: 2, updated: 0, deleted: 2 });
    assert.deepEqual(rows(), ['a:4', 'c:5', 'null:10', 'null:9']);
    assert.deepEqual(dest.query("SELECT name, type FROM pragma_table_info('c')").map((r) => `${r.name} ${r.type}`), ['g TEXT', 'v TEXT'],
      'v widened; neither the marker nor the write sequence is stored');
    // The group index survives the rebuild that widened v.
    assert.deepEqual(dest.query("SELECT ii.name FROM pragma_index_list('c') AS il, pragma_index_info(il.name) AS ii").map((r) => r.name), ['g']);
    assert.deepEqual(await dest.readState('p', 'c'), state(3));
    await assert.rejects(dest.begin({ ...target('x', 'merge', ['id']), replaceGroups: 'g' }), /replacing groups is an append; got write: merge/);
    const missing = await dest.begin({ ...target('y', 'append'), replaceGroups: 'nope' });
    await assert.rejects(missing.evolve(schemaOf([['g', 'text']])), /group column "nope" is not in the schema/);
    await missing.abort();
    await dest.close();
  });
});

test('delete markers: scd2 closes a marked key, a staged merge deletes marked keys, replace leaves them out; plain append keeps the column', async () => {
  await withDir(async (dir) => {
    const dest = await open(dir);
    const columnsOf = (table: string) => dest.query('SELECT name FROM pragma_table_info(?)', [table]).map((r) => r.name);
    const marked = (t: LoadTarget): LoadTarget => ({ ...t, deleteColumn: 'gone' });

    const h = await dest.begin(marked(target('h', 'scd2', ['id'])));
    // The stream has not seen its marker column yet.
    await h.evolve(schemaOf([['id', 'integer'], ['v', 'text']]));
    await h.write([[1, 'a'], [2, 'b']]);
    assert.deepEqual(await h.commit(state(1)), { inserted: 2, updated: 0, deleted: 0 });
    await h.evolve(schemaOf([['id', 'integer'], ['v', 'text'], ['gone', 'boolean']]));
    // 1 deleted; 2 changed; 3 new; 4 marked but never loaded.
    await h.write([[1, 'a', true], [2, 'B', false], [3, 'c', null], [4, 'd', true]]);
    assert.deepEqual(await h.finish(state(2)), { inserted: 1, updated: 1, deleted: 1 });
    const history = dest.query('SELECT id, v, is_current AS cur, valid_to IS NULL AS open FROM h ORDER BY id, valid_from');
    assert.deepEqual(history.map((r) => `${r.id}:${r.v}:${r.cur}:${r.open}`), ['1:a:0:0', '2:b:0:0', '2:B:1:1', '3:c:1:1']);
    assert.deepEqual(columnsOf('h'), ['id', 'v', 'valid_from', 'valid_to', 'is_current', '_sluice_hash']);

    const m = await dest.begin(target('m', 'merge', ['id']));
    await m.evolve(schemaOf([['id', 'integer'], ['v', 'text']]));
    await m.write([[1, 'one'], [2, 'two'], [3, 'three']]);
    await m.finish(state(1));
    const staged = await dest.begin({ ...marked(target('m', 'merge', ['id'])), staged: true });
    // A text marker: 'yes' and '1' mark, 'no' and '0' do not; the last row of a key decides.
    await staged.evolve(schemaOf([['id', 'integer'], ['v', 'text'], ['gone', 'text']]));
    await staged.write([[1, null, 'yes'], [2, 'TWO', 'no'], [5, 'x', '1'], [6, 'six', 'YES']]);
    assert.deepEqual(await staged.commit(state(2)), { inserted: 0, updated: 0, deleted: 0 });
    await staged.write([[5, 'five', '0']]);
    assert.deepEqual(await staged.finish(state(3)), { inserted: 1, updated: 1, deleted: 1 });
    assert.deepEqual(dest.query('SELECT id, v FROM m ORDER BY id'), [{ id: 2, v: 'TWO' }, { id: 3, v: 'three' }, { id: 5, v: 'five' }]);
    assert.deepEqual(columnsOf('m'), ['id', 'v']);

    const r = await dest.begin(marked(target('r', 'replace', ['id'])));
    await r.evolve(schemaOf([['id', 'integer'], ['v', 'text'], ['gone', 'boolean']]));
    await r.write([[1, 'a', false], [2, 'b', true], [3, 'c', null], [3, 'C', true]]);
    await r.finish(state(1));
    assert.deepEqual(dest.query('SELECT id, v FROM r ORDER BY id'), [{ id: 1, v: 'a' }]);
    assert.deepEqual(columnsOf('r'), ['id', 'v']);

    const a = await dest.begin(marked(target('a', 'append')));
    await a.evolve(schemaOf([['id', 'integer'], ['gone', 'boolean']]));
    await a.write([[1, true]]);
    assert.deepEqual(await a.finish(state(1)), { inserted: 1, updated: 0, deleted: 0 });
    assert.deepEqual(dest.query('SELECT id, gone FROM a'), [{ id: 1, gone: 1 }]);
    await dest.close();
  });
});

test('staged: the target evolves only at finish, with the rows; a blocked replace keeps its staging; readTable beside a load', async () => {
  await withDir(async (dir) => {
    const dest = await open(dir);
    const columnsOf = (table: string) => dest.query('SELECT name FROM pragma_table_info(?)', [table]).map((r) => r.name);
    const first = await dest.begin(target('m', 'merge', ['id']));
    await first.evolve(schemaOf([['id', 'integer'], ['v', 'text']]));
    await first.write([[1, 'one']]);
    await first.finish(state(1));

    const staged = { ...target('m', 'merge', ['id']), staged: true };
    const blocked = await dest.begin(staged);
    await blocked.evolve(schemaOf([['id', 'integer'], ['v', 'text'], ['extra', 'text']]));
    await blocked.write([[1, 'uno', 'e']]);
    assert.deepEqual(await blocked.commit(state(2)), { inserted: 0, updated: 0, deleted: 0 });
    assert.deepEqual(await blocked.abort({ keepStaging: true }), { kept: '"main"."m__sluice_staged"' });
    assert.deepEqual(columnsOf('m'), ['id', 'v'], 'a blocked load does not evolve the target');
    assert.deepEqual(dest.query('SELECT id, v FROM m'), [{ id: 1, v: 'one' }]);
    assert.deepEqual(await dest.readState('p', 'm'), state(1));

    const passed = await dest.begin(staged);
    await passed.evolve(schemaOf([['id', 'integer'], ['v', 'text'], ['extra', 'text']]));
    await passed.write([[1, 'uno', 'e'], [2, 'dos', null], [1, 'un', 'f']]);
    assert.deepEqual(await passed.finish(state(3)), { inserted: 1, updated: 1, deleted: 0 });
    assert.deepEqual(dest.query('SELECT id, v, extra FROM m ORDER BY id'), [{ id: 1, v: 'un', extra: 'f' }, { id: 2, v: 'dos', extra: null }]);
    assert.deepEqual(await dest.readState('p', 'm'), state(3));

    const replace = await dest.begin({ ...target('m', 'replace', ['id']), staged: true });
    await replace.evolve(schemaOf([['id', 'integer']]));
    await replace.write([[9]]);
    assert.deepEqual(await replace.abort({ keepStaging: true }), { kept: '"main"."m__sluice_replace"' });
    assert.deepEqual(dest.query('SELECT id FROM m__sluice_replace'), [{ id: 9 }]);
    assert.equal(dest.query('SELECT id FROM m').length, 2);

    // readTable iterates on a connection of its own: the loads keep using the shared one meanwhile.
    const a = await dest.begin(target('a', 'append'));
    await a.evolve(schemaOf([['id', 'integer']]));
    await a.write(Array.from({ length: 12_000 }, (_, i) => [i]));
    await a.commit(state(1));
    let read = 0;
    for await (const batch of dest.readTable('a', ['id'])) {
      read += batch.length;
      await a.write([[-1]]);
      await a.commit(state(2));
    }
    await a.finish(state(3));
    assert.equal(read, 12_000, 'the reader sees the table as it was when it began');
    assert.equal(dest.query('SELECT count(*) AS n FROM a')[0].n, 12_003);
    await dest.close();
  });
});
