// The files destination against real files: each format read back, the manifest as the commit point, orphans of
// a crash ignored and cleaned, replace swapping the manifest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { LoadTarget, RunContext } from '../../src/core/connector.js';
import { RunError } from '../../src/core/errors.js';
import type { ColumnType, StreamState, WriteDisposition } from '../../src/core/types.js';
import { csvField } from '../../src/connectors/files/csv-writer.js';
import { tableDirName } from '../../src/connectors/files/files-destination.js';
import { filesDestinationSpec } from '../../src/connectors/files/files-spec.js';
import type { FileFormat, FilesConfig } from '../../src/connectors/files/files-spec.js';
import type { Manifest } from '../../src/connectors/files/manifest.js';
import type { Destination } from '../../src/core/connector.js';
import { runContext, schemaOf, tempDir } from '../helpers.js';

const ctxFor = (dir: string): RunContext => runContext(dir);
const target = (table: string, disposition: WriteDisposition, runId = 'run-1'): LoadTarget => ({
  pipeline: 'p', stream: table, table, disposition, primaryKey: [], runId, fullRefresh: false,
});
const state = (n: number): StreamState => ({ version: 1, cursor: { column: 'id', value: n } });

async function open(dir: string, format: FileFormat): Promise<Destination> {
  const dest = await filesDestinationSpec.create(filesDestinationSpec.config.parse({ path: 'out', format }) as FilesConfig);
  await dest.connect(ctxFor(dir));
  return dest;
}

const manifestOf = (dir: string, table: string): Manifest =>
  JSON.parse(readFileSync(join(dir, 'out', tableDirName(table), '_manifest.json'), 'utf8')) as Manifest;

/** Read the committed rows the way a consumer should: the files the manifest lists, through DuckDB. */
async function readBack(dir: string, table: string, format: FileFormat, select = '*'): Promise<Record<string, unknown>[]> {
  const m = manifestOf(dir, table);
  if (m.files.length === 0) return [];
  const files = m.files.map((f) => `'${join(dir, 'out', tableDirName(table), f.path).replace(/'/g, "''")}'`).join(', ');
  const reader = format === 'parquet' ? 'read_parquet' : format === 'csv' ? 'read_csv' : 'read_json';
  const opts = format === 'csv' ? ', header = true, all_varchar = true, union_by_name = true'
    : format === 'parquet' ? ', union_by_name = true' : ', format = \'newline_delimited\', union_by_name = true';
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    const r = await conn.runAndReadAll(`SET TimeZone = 'UTC'; SELECT ${select} FROM ${reader}([${files}]${opts})`);
    return r.getRowObjectsJson();
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

const TYPES: [string, ColumnType][] = [
  ['t', 'text'], ['i', 'integer'], ['b', 'bigint'], ['d', 'decimal'], ['f', 'double'], ['ok', 'boolean'],
  ['day', 'date'], ['ts', 'timestamp'], ['j', 'json'], ['bin', 'binary'], ['u', 'uuid'],
];
const ROW = [
  'ünïcødé, "quoted"\r\nnext line 🎉', -5, 9223372036854775807n, '12345678901234567890.123456789', 2.5, true,
  '2024-02-29', '2024-01-02T03:04:05.123456Z', '{\n  "a": [1, "two"]\n}', new Uint8Array([0, 1, 255]),
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
];

test('parquet: typed columns read back exactly, NULLs included', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const dest = await open(dir, 'parquet');
    const load = await dest.begin(target('typed', 'append'));
    await load.evolve(schemaOf(TYPES));
    await load.write([ROW, TYPES.map(() => null)]);
    assert.deepEqual(await load.finish(state(1)), { inserted: 2, updated: 0, deleted: 0 });
    await dest.close();
    const rows = await readBack(dir, 'typed', 'parquet', `t, i, b::VARCHAR AS b, d::VARCHAR AS d, f, ok, day::VARCHAR AS day,
      strftime(ts, '%Y-%m-%dT%H:%M:%S.%fZ') AS ts, j::VARCHAR AS j, hex(bin) AS bin, u::VARCHAR AS u,
      typeof(d) AS dt, typeof(ts) AS tst, typeof(u) AS ut`);
    assert.deepEqual(rows[0], {
      t: ROW[0], i: -5, b: '9223372036854775807', d: '12345678901234567890.123456789', f: 2.5, ok: true,
      day: '2024-02-29', ts: '2024-01-02T03:04:05.123456Z', j: ROW[8], bin: '0001FF', u: ROW[10],
      dt: 'DECIMAL(38,9)', tst: 'TIMESTAMP WITH TIME ZONE', ut: 'UUID',
    });
    assert.ok(Object.entries(rows[1]).filter(([k]) => !k.endsWith('t') || k === 't').every(([, v]) => v === null));
  } finally {
    cleanup();
  }
});

test('csv: RFC 4180 quoting, a header row, NULL distinct from the empty string', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const dest = await open(dir, 'csv');
    const load = await dest.begin(target('c', 'append'));
    await load.evolve(schemaOf(TYPES));
    await load.write([ROW, TYPES.map((_, i) => (i === 0 ? '' : null))]);
    await load.finish(state(1));
    await dest.close();
    const m = manifestOf(dir, 'c');
    const text = readFileSync(join(dir, 'out', 'c', m.files[0].path), 'utf8');
    assert.ok(text.startsWith('t,i,b,d,f,ok,day,ts,j,bin,u\r\n'));
    assert.ok(text.includes('"ünïcødé, ""quoted""\r\nnext line 🎉",-5,9223372036854775807,12345678901234567890.123456789,2.5,true,'));
    assert.ok(text.endsWith('\r\n"",,,,,,,,,,\r\n'));
    const rows = await readBack(dir, 'c', 'csv');
    assert.equal(rows.length, 2);
    assert.equal(rows[0].t, ROW[0]);
    assert.equal(rows[0].j, ROW[8]);
    assert.equal(rows[0].bin, 'AAH/');
    assert.equal(rows[1].i, null);
    assert.equal(csvField('plain'), 'plain');
    assert.equal(csvField('a,b'), '"a,b"');
    assert.equal(csvField(null), '');
  } finally {
    cleanup();
  }
});

test('ndjson: one object per line, json columns embedded, bigint digits kept', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const dest = await open(dir, 'ndjson');
    const load = await dest.begin(target('n', 'append'));
    await load.evolve(schemaOf(TYPES));
    await load.write([ROW, TYPES.map(() => null)]);
    await load.finish(state(1));
    await dest.close();
    const m = manifestOf(dir, 'n');
    const lines = readFileSync(join(dir, 'out', 'n', m.files[0].path), 'utf8').split('\n');
    assert.equal(lines.length, 3);
    assert.equal(lines[2], '');
    assert.match(lines[0], /"b":9223372036854775807,/);
    const first = JSON.parse(lines[0]) as Record<string, unknown>;
    assert.deepEqual(first.j, { a: [1, 'two'] });
    assert.equal(first.t, ROW[0]);
    assert.equal(first.d, '12345678901234567890.123456789');
    assert.equal(first.bin, 'AAH/');
    assert.deepEqual(JSON.parse(lines[1]), Object.fromEntries(TYPES.map(([n]) => [n, null])));
  } finally {
    cleanup();
  }
});

for (const format of ['parquet', 'csv', 'ndjson'] as const) {
  test(`${format}: append across commits, manifest lists parts and state, schema change starts a new part`, async () => {
    const { dir, cleanup } = tempDir();
    try {
      const dest = await open(dir, format);
      const load = await dest.begin(target('orders', 'append'));
      await load.evolve(schemaOf([['id', 'integer'], ['Name With Spaces', 'text']]));
      await load.write([[1, 'a'], [2, 'b']]);
      assert.deepEqual(await load.commit(state(2)), { inserted: 2, updated: 0, deleted: 0 });
      await load.write([[3, 'c']]);
      await load.evolve(schemaOf([['id', 'integer'], ['Name With Spaces', 'text'], ['"; DROP TABLE x; --', 'text']]));
      await load.write([[4, 'd', 'e']]);
      assert.deepEqual(await load.finish(state(4)), { inserted: 2, updated: 0, deleted: 0 });
      assert.deepEqual(await dest.readState('p', 'orders'), state(4));
      assert.equal(await dest.readState('p', 'nope'), undefined);
      const m = manifestOf(dir, 'orders');
      assert.deepEqual(m.files.map((f) => [f.path, f.rows]), [
        [`part-run-1-00001.${format}`, 2], [`part-run-1-00002.${format}`, 1], [`part-run-1-00003.${format}`, 1],
      ]);
      assert.equal(m.files[2].columns.length, 3);
      assert.equal(m.format, format);
      assert.ok(m.files.every((f) => f.bytes > 0));
      const rows = await readBack(dir, 'orders', format);
      assert.deepEqual(rows.map((r) => String(r.id)).sort(), ['1', '2', '3', '4']);
      const last = rows.find((r) => String(r.id) === '4')!;
      assert.equal(last['"; DROP TABLE x; --'], 'e');
      assert.equal(last['Name With Spaces'], 'd');
      await dest.close();
    } finally {
      cleanup();
    }
  });
}

test('an aborted load publishes nothing; orphans of a crash are ignored and then cleaned', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const dest = await open(dir, 'parquet');
    const first = await dest.begin(target('t', 'append'));
    await first.evolve(schemaOf([['id', 'integer']]));
    await first.write([[1]]);
    await first.finish(state(1));

    const aborted = await dest.begin(target('t', 'append', 'run-2'));
    await aborted.evolve(schemaOf([['id', 'integer']]));
    await aborted.write([[2]]);
    await aborted.abort();
    const tableDir = join(dir, 'out', 't');
    assert.deepEqual(readdirSync(tableDir).sort(), ['_manifest.json', 'part-run-1-00001.parquet']);
    assert.deepEqual(await dest.readState('p', 't'), state(1));

    // What a crash leaves: a temp part and a renamed part the manifest never listed.
    writeFileSync(join(tableDir, '.tmp-part-run-3-00001.parquet.tmp'), 'half');
    writeFileSync(join(tableDir, 'part-run-3-00002.parquet'), 'not committed');
    assert.deepEqual((await readBack(dir, 't', 'parquet')).map((r) => r.id), [1]);
    const next = await dest.begin(target('t', 'append', 'run-4'));
    assert.deepEqual(readdirSync(tableDir).sort(), ['_manifest.json', 'part-run-1-00001.parquet']);
    await next.evolve(schemaOf([['id', 'integer']]));
    await next.write([[4]]);
    await next.finish(state(4));
    assert.deepEqual((await readBack(dir, 't', 'parquet')).map((r) => r.id).sort(), [1, 4]);
    await assert.rejects(dest.begin(target('t', 'merge')), RunError);
    await dest.close();
  } finally {
    cleanup();
  }
});

test('replace: parts stay unpublished until finish, then the manifest swaps and old files go', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const dest = await open(dir, 'ndjson');
    const old = await dest.begin(target('r', 'append'));
    await old.evolve(schemaOf([['id', 'integer']]));
    await old.write([[1], [2]]);
    await old.finish(state(2));
    const oldFile = manifestOf(dir, 'r').files[0].path;

    const load = await dest.begin(target('r', 'replace', 'run-2'));
    await load.evolve(schemaOf([['id', 'integer'], ['v', 'text']]));
    await load.write([[10, 'x']]);
    assert.deepEqual(await load.commit(state(10)), { inserted: 0, updated: 0, deleted: 0 });
    await load.write([[11, 'y']]);
    assert.deepEqual((await readBack(dir, 'r', 'ndjson')).map((r) => Number(r.id)), [1, 2]);
    assert.deepEqual(await dest.readState('p', 'r'), state(2));
    assert.deepEqual(await load.finish(state(11)), { inserted: 2, updated: 0, deleted: 0 });
    const m = manifestOf(dir, 'r');
    assert.deepEqual(m.files.map((f) => f.run_id), ['run-2', 'run-2']);
    assert.deepEqual(m.columns.map((c) => c.name), ['id', 'v']);
    assert.deepEqual((await readBack(dir, 'r', 'ndjson')).map((r) => [Number(r.id), r.v]), [[10, 'x'], [11, 'y']]);
    assert.equal(existsSync(join(dir, 'out', 'r', oldFile)), false);
    assert.deepEqual(await dest.readState('p', 'r'), state(11));

    // An empty replace empties the table but keeps its columns in the manifest.
    const empty = await dest.begin(target('r', 'replace', 'run-3'));
    await empty.evolve(schemaOf([['id', 'integer'], ['v', 'text']]));
    await empty.finish(state(0));
    assert.deepEqual(manifestOf(dir, 'r').files, []);
    assert.deepEqual(manifestOf(dir, 'r').columns.map((c) => c.name), ['id', 'v']);
    assert.deepEqual(readdirSync(join(dir, 'out', 'r')), ['_manifest.json']);

    await dest.resetState('p', 'r');
    assert.equal(await dest.readState('p', 'r'), undefined);
    await dest.close();
  } finally {
    cleanup();
  }
});

test('table names become safe directory names', () => {
  assert.equal(tableDirName('orders'), 'orders');
  assert.equal(tableDirName('../etc/passwd'), '%2E.%2Fetc%2Fpasswd');
  assert.equal(tableDirName('a%b\\c'), 'a%25b%5Cc');
  assert.equal(tableDirName('"; DROP TABLE x; --'), '"; DROP TABLE x; --');
  assert.throws(() => tableDirName(''), RunError);
});
