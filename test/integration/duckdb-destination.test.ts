// The DuckDB warehouse destination against real DuckDB files: every disposition, rollback, schema evolution,
// hostile identifiers, type round-trips and the one-writer lock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { LoadTarget, RunContext } from '../../src/core/connector.js';
import { RunError } from '../../src/core/errors.js';
import type { ColumnType, StreamState, WriteDisposition } from '../../src/core/types.js';
import { DuckDBDestination } from '../../src/connectors/duckdb/duckdb-destination.js';
import { duckdbDestinationSpec } from '../../src/connectors/duckdb/duckdb-spec.js';
import type { DuckDBConfig } from '../../src/connectors/duckdb/duckdb-spec.js';
import { decimalToScaled } from '../../src/connectors/duckdb/duckdb-types.js';
import { repoRoot, runContext, schemaOf, tempDir } from '../helpers.js';

const ctxFor = (dir: string): RunContext => runContext(dir);

const target = (table: string, disposition: WriteDisposition, primaryKey: string[] = [], stream = table): LoadTarget => ({
  pipeline: 'p', stream, table, disposition, primaryKey, runId: 'run-1', fullRefresh: false,
});

const state = (n: number): StreamState => ({ version: 1, cursor: { column: 'id', value: n } });

async function open(dir: string, config: { path?: string; schema?: string; memory_limit?: string } = {}): Promise<DuckDBDestination> {
  const dest = await duckdbDestinationSpec.create(duckdbDestinationSpec.config.parse(config) as DuckDBConfig) as DuckDBDestination;
  await dest.connect(ctxFor(dir));
  return dest;
}

test('the default path is <home>/warehouse.duckdb and a relative path resolves against baseDir', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const a = await open(dir);
    await a.close();
    const b = await open(dir, { path: 'wh/custom.duckdb', schema: 'analytics' });
    const rows = await b.query("SELECT count(*)::INT AS n FROM duckdb_tables() WHERE schema_name = 'analytics' AND table_name = '_sluice_state'");
    assert.equal(rows[0].n, 1);
    await b.close();
    const { existsSync } = await import('node:fs');
    assert.ok(existsSync(join(dir, 'home', 'warehouse.duckdb')));
    assert.ok(existsSync(join(dir, 'wh', 'custom.duckdb')));
    assert.throws(() => duckdbDestinationSpec.config.parse({ pth: 'x' }));
  } finally {
    cleanup();
  }
});

test('replace is invisible until finish, then swaps atomically; an empty replace leaves an empty table', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const dest = await open(dir);
    const old = await dest.begin(target('r', 'append'));
    await old.evolve(schemaOf([['id', 'integer'], ['gone', 'text']]));
    await old.write([[1, 'x'], [2, 'y']]);
    await old.finish(state(2));

    const load = await dest.begin(target('r', 'replace'));
    await load.evolve(schemaOf([['id', 'integer'], ['name', 'text']]));
    await load.write([[10, 'new']]);
    assert.deepEqual(await load.commit(state(10)), { inserted: 0, updated: 0, deleted: 0 });
    await load.write([[11, 'newer']]);
    // Another connection (a reader) still sees the old table and the old state.
    assert.deepEqual(await dest.query('SELECT * FROM r ORDER BY id'), [{ id: 1, gone: 'x' }, { id: 2, gone: 'y' }]);
    assert.deepEqual(await dest.readState('p', 'r'), state(2));
    assert.deepEqual(await load.finish(state(11)), { inserted: 2, updated: 0, deleted: 0 });
    assert.deepEqual(await dest.query('SELECT * FROM r ORDER BY id'), [{ id: 10, name: 'new' }, { id: 11, name: 'newer' }]);
    assert.deepEqual(await dest.readState('p', 'r'), state(11));
    assert.deepEqual(await dest.query("SELECT table_name FROM duckdb_tables() WHERE table_name LIKE 'r__sluice%'"), []);

    // A crashed replace leaves its staging table behind; the next load drops it instead of loading into it.
    const crashed = await dest.begin(target('r', 'replace'));
    await crashed.evolve(schemaOf([['id', 'integer'], ['name', 'text']]));
    await crashed.write([[99, 'stale']]);
    await crashed.commit(state(99));
    const empty = await dest.begin(target('r', 'replace'));
    await empty.evolve(schemaOf([['id', 'integer'], ['name', 'text']]));
    await empty.finish(state(0));
    assert.deepEqual(await dest.query('SELECT * FROM r'), []);
    const cols = await dest.query("SELECT column_name FROM duckdb_columns() WHERE table_name = 'r' ORDER BY column_index");
    assert.deepEqual(cols.map((c) => c.column_name), ['id', 'name']);
    await crashed.abort();
    await dest.close();
  } finally {
    cleanup();
  }
});

test('evolve mid-run adds a column and widens types; earlier rows keep their values', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const dest = await open(dir);
    const load = await dest.begin(target('e', 'append'));
    await load.evolve(schemaOf([['id', 'integer'], ['n', 'integer']]));
    await load.write([[1, 5]]);
    await load.commit(state(1));
    await load.evolve(schemaOf([['id', 'integer'], ['n', 'bigint'], ['extra', 'text']]));
    await load.write([[2, 9007199254740993n, 'hi']]);
    await load.evolve(schemaOf([['id', 'integer'], ['n', 'double'], ['extra', 'text']]));
    await load.write([[3, 1.5, null]]);
    await load.evolve(schemaOf([['id', 'integer'], ['n', 'text'], ['extra', 'text']]));
    await load.write([[4, 'word', 'there']]);
    await load.finish(state(4));
    const types = await dest.query("SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'e' ORDER BY column_index");
    assert.deepEqual(types, [
      { column_name: 'id', data_type: 'INTEGER' }, { column_name: 'n', data_type: 'VARCHAR' },
      { column_name: 'extra', data_type: 'VARCHAR' },
    ]);
    const rows = await dest.query('SELECT id, n, extra FROM e ORDER BY id');
    assert.deepEqual(rows.map((r) => r.extra), [null, 'hi', null, 'there']);
    assert.equal(rows[0].n, '5.0');
    assert.equal(rows[3].n, 'word');
    // bigint→double loses precision past 2^53, exactly as a DOUBLE column must.
    assert.match(String(rows[1].n), /^9\.00719925474099\d*e\+?15$|^9007199254740992(\.0)?$/);
    assert.equal(rows[2].n, '1.5');

    // A later run with a narrower schema leaves the wide column alone and still loads.
    const later = await dest.begin(target('e', 'append'));
    await later.evolve(schemaOf([['id', 'integer'], ['n', 'integer']]));
    await later.write([[5, 7]]);
    await later.finish(state(5));
    assert.deepEqual(await dest.query('SELECT n, extra FROM e WHERE id = 5'), [{ n: '7', extra: null }]);
    await dest.close();
  } finally {
    cleanup();
  }
});

test('hostile table and column names round-trip', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const dest = await open(dir, { schema: 'my "schema"' });
    const names = ['"; DROP TABLE x; --', 'select', 'Name With Spaces', 'émoji 🎉', "it's"];
    const table = 'Tab"le; --';
    for (const disposition of ['append', 'merge', 'replace'] as const) {
      const load = await dest.begin(target(table, disposition, ['select'], `s_${disposition}`));
      await load.evolve(schemaOf(names.map((n) => [n, 'text'])));
      await load.write([names.map((n) => `${n}!`)]);
      await load.finish(state(1));
    }
    const rows = await dest.query(`SELECT * FROM "my ""schema"""."Tab""le; --"`);
    assert.deepEqual(rows, [Object.fromEntries(names.map((n) => [n, `${n}!`]))]);
    assert.deepEqual(await dest.readState('p', 's_merge'), state(1));
    await dest.close();
  } finally {
    cleanup();
  }
});

test('every logical type round-trips, NULLs included', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const dest = await open(dir);
    const cols: [string, ColumnType][] = [
      ['t', 'text'], ['i', 'integer'], ['b', 'bigint'], ['d', 'decimal'], ['f', 'double'], ['ok', 'boolean'],
      ['day', 'date'], ['ts', 'timestamp'], ['j', 'json'], ['bin', 'binary'], ['u', 'uuid'],
    ];
    const full = [
      'ünïcødé 🎉 "q" \n line', -2147483648, -9223372036854775808n, '12345678901234567890.123456789', 1.5e-300, true,
      '1999-12-31', '2024-01-02T03:04:05.123456Z', '{"a":[1,"two",null],"b":{"c":true}}', new Uint8Array([0, 1, 254, 255]),
      'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
    ];
    const other = [
      '', 2147483647, 9223372036854775807n, '-0.000000001', -0, false,
      '0001-01-01', '1969-12-31T23:59:59.999999Z', '[]', new Uint8Array([]), '00000000-0000-0000-0000-000000000000',
    ];
    const load = await dest.begin(target('types', 'append'));
    await load.evolve(schemaOf(cols));
    await load.write([full, other, cols.map(() => null)]);
    await load.finish(state(1));
    const rows = await dest.query(`SET TimeZone = 'UTC'; SELECT t, i, b::VARCHAR AS b, d::VARCHAR AS d, f, ok, day::VARCHAR AS day,
      strftime(ts, '%Y-%m-%dT%H:%M:%S.%fZ') AS ts, j::VARCHAR AS j, hex(bin) AS bin, u::VARCHAR AS u,
      typeof(d) AS dt, typeof(ts) AS tst, typeof(j) AS jt, typeof(u) AS ut
      FROM types ORDER BY i NULLS LAST`);
    assert.deepEqual(rows[0], {
      t: full[0], i: -2147483648, b: '-9223372036854775808', d: '12345678901234567890.123456789', f: 1.5e-300, ok: true,
      day: '1999-12-31', ts: '2024-01-02T03:04:05.123456Z', j: full[8], bin: '0001FEFF', u: full[10],
      dt: 'DECIMAL(38,9)', tst: 'TIMESTAMP WITH TIME ZONE', jt: 'JSON', ut: 'UUID',
    });
    assert.deepEqual({ ...rows[1], dt: undefined, tst: undefined, jt: undefined, ut: undefined }, {
      t: '', i: 2147483647, b: '9223372036854775807', d: '-0.000000001', f: -0, ok: false,
      day: '0001-01-01', ts: '1969-12-31T23:59:59.999999Z', j: '[]', bin: '', u: other[10],
      dt: undefined, tst: undefined, jt: undefined, ut: undefined,
    });
    assert.ok(Object.values(rows[2]).slice(0, 11).every((v) => v === null), JSON.stringify(rows[2]));
    await dest.close();
  } finally {
    cleanup();
  }
});

test('decimal text converts exactly, rounds past nine digits and refuses overflow', () => {
  assert.equal(decimalToScaled('12.50'), 12500000000n);
  assert.equal(decimalToScaled('-0.5'), -500000000n);
  assert.equal(decimalToScaled('.5'), 500000000n);
  assert.equal(decimalToScaled('1e3'), 1000000000000n);
  assert.equal(decimalToScaled('1.5E-9'), 2n);
  assert.equal(decimalToScaled('0.0000000004'), 0n);
  assert.equal(decimalToScaled('1e-400'), 0n);
  assert.equal(decimalToScaled('99999999999999999999999999999.999999999'), 10n ** 38n - 1n);
  assert.throws(() => decimalToScaled('100000000000000000000000000000'), /does not fit/);
  assert.throws(() => decimalToScaled('1e400'), /does not fit/);
  assert.throws(() => decimalToScaled('abc'), /not a decimal/);
  assert.throws(() => decimalToScaled('.'), /not a decimal/);
});

test('a bad value fails the write with the column named, and the load rolls back', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const dest = await open(dir);
    const load = await dest.begin(target('bad', 'append'));
    await load.evolve(schemaOf([['id', 'integer'], ['amount', 'decimal']]));
    await load.write([[1, '1.00']]);
    await load.commit(state(1));
    await assert.rejects(load.write([[2, 'lots']]), /amount/);
    await load.abort();
    assert.deepEqual(await dest.query('SELECT id FROM bad'), [{ id: 1 }]);
    await dest.close();
  } finally {
    cleanup();
  }
});

test('concurrent stream loads commit independently', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const dest = await open(dir);
    const streams = ['a', 'b', 'c'];
    await Promise.all(streams.map(async (s, k) => {
      const load = await dest.begin(target(s, k === 2 ? 'merge' : 'append', ['id']));
      await load.evolve(schemaOf([['id', 'integer']]));
      for (let c = 0; c < 5; c++) {
        await load.write(Array.from({ length: 100 }, (_, i) => [c * 100 + i]));
        await load.commit(state(c));
      }
      await load.finish(state(5));
    }));
    for (const s of streams) {
      assert.deepEqual(await dest.query(`SELECT count(*)::INT AS n FROM ${s}`), [{ n: 500 }]);
      assert.deepEqual(await dest.readState('p', s), state(5));
    }
    await dest.resetState('p', 'a');
    assert.equal(await dest.readState('p', 'a'), undefined);
    assert.deepEqual(await dest.readState('p', 'b'), state(5));
    await dest.resetState('p');
    assert.equal(await dest.readState('p', 'b'), undefined);
    await dest.close();
  } finally {
    cleanup();
  }
});

test('the buffer pool grows by 32 MB for each load running at once, unless memory_limit is set', async () => {
  const { dir, cleanup } = tempDir();
  const limit = async (dest: DuckDBDestination) =>
    String((await dest.query("SELECT current_setting('memory_limit') AS v"))[0].v);
  try {
    const dest = await open(dir);
    const one = await limit(dest);
    const loads = await Promise.all(['a', 'b', 'c'].map((s) => dest.begin(target(s, 'append'))));
    // DuckDB prints the limit in MiB: 96 MB is 91.5 MiB.
    assert.deepEqual([one, await limit(dest)], ['30.5 MiB', '91.5 MiB']);
    for (const l of loads) await l.abort();
    assert.equal(await limit(dest), '91.5 MiB', 'never shrinks while the destination is open');
    await dest.close();

    const fixed = await open(dir, { memory_limit: '48MB' });
    const more = await Promise.all(['a', 'b', 'c'].map((s) => fixed.begin(target(s, 'append'))));
    assert.equal(await limit(fixed), '45.7 MiB');
    for (const l of more) await l.abort();
    await fixed.close();
  } finally {
    cleanup();
  }
});

test('a warehouse held by another process fails with a RunError that says so', async () => {
  const { dir, cleanup } = tempDir();
  const file = join(dir, 'held.duckdb');
  const holder = spawn(process.execPath, ['--input-type=module', '-e', `
    import { DuckDBInstance } from '@duckdb/node-api';
    const db = await DuckDBInstance.create(${JSON.stringify(file)});
    await (await db.connect()).run('CREATE TABLE x (a INT)');
    console.log('ready');
    setTimeout(() => {}, 30000);
  `], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((res, rej) => {
      holder.stdout.on('data', (d: Buffer) => { if (d.toString().includes('ready')) res(); });
      holder.on('exit', (code) => rej(new Error(`holder exited ${code}`)));
    });
    const dest = await duckdbDestinationSpec.create(duckdbDestinationSpec.config.parse({ path: file }) as DuckDBConfig);
    await assert.rejects(dest.connect(ctxFor(dir)), (e: unknown) => e instanceof RunError && /in use by another process/.test(e.message));
  } finally {
    holder.kill();
    cleanup();
  }
});

test('a file written by the destination is a plain DuckDB database other tools can read', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const dest = await open(dir, { path: 'w.duckdb' });
    const load = await dest.begin(target('plain', 'append'));
    await load.evolve(schemaOf([['id', 'integer']]));
    await load.write([[7]]);
    await load.finish(state(7));
    await dest.close();
    const db = await DuckDBInstance.create(join(dir, 'w.duckdb'), { access_mode: 'READ_ONLY' });
    const conn = await db.connect();
    assert.deepEqual((await conn.runAndReadAll('SELECT id FROM plain')).getRows(), [[7]]);
    conn.closeSync();
    db.closeSync();
  } finally {
    cleanup();
  }
});
