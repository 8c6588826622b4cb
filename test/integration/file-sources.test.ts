import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import iconv from 'iconv-lite';
import { collect, runContext, tempDir } from '../helpers.js';
import { csvSourceSpec } from '../../src/connectors/csv/csv-spec.js';
import { jsonSourceSpec } from '../../src/connectors/json/json-spec.js';
import { ndjsonSourceSpec } from '../../src/connectors/ndjson/ndjson-spec.js';
import type { RunContext, SourceSpec, StreamConfig } from '../../src/core/connector.js';
import { RunError } from '../../src/core/errors.js';
import type { Batch, Row, SourcePosition, StreamState } from '../../src/core/types.js';
import { batchLength, rowAt } from '../../src/core/types.js';

function ctxFor(baseDir: string, batchSize = 1000, signal = new AbortController().signal): RunContext {
  return runContext(baseDir, { runId: 'r1', home: baseDir, batchSize, signal });
}

function stream(extra: Record<string, unknown>): StreamConfig {
  return { name: 's', primary_key: [], write: 'append', on_schema_change: 'widen', ...extra };
}

async function read(spec: SourceSpec, dir: string, keys: Record<string, unknown>, state?: StreamState, batchSize = 1000): Promise<Batch[]> {
  const opts = spec.stream.parse(keys);
  return collect((await spec.create({})).read(stream(opts), state, ctxFor(dir, batchSize)));
}

const rowsOf = (batches: Batch[]): Row[] => batches.flatMap((b) => Array.from({ length: batchLength(b) }, (_, i) => rowAt(b, i)));
/** Positions of a batch's rows, index-aligned. */
const positionsOf = (b: Batch): SourcePosition[] => Array.from({ length: batchLength(b) }, (_, i) => b.positionOf!(i));
const rejectsOf = (batches: Batch[]) => batches.flatMap((b) => b.rejected ?? []);
const lastState = (batches: Batch[]): StreamState => batches[batches.length - 1].checkpoint!;

function csvLines(n: number, from = 1): string {
  return Array.from({ length: n }, (_, i) => `${from + i},name ${from + i}\n`).join('');
}

test('csv: BOM, CRLF, gzip by extension and by magic bytes give the same rows', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const text = '\uFEFFid,name\r\n1,"a,b"\r\n2,"line\r\nbreak"\r\n';
    writeFileSync(join(dir, 'plain.csv'), text);
    writeFileSync(join(dir, 'packed.csv.gz'), gzipSync(text));
    writeFileSync(join(dir, 'packed-no-ext.csv'), gzipSync(text));
    const expected = [{ id: '1', name: 'a,b' }, { id: '2', name: 'line\r\nbreak' }];
    for (const path of ['plain.csv', 'packed.csv.gz', 'packed-no-ext.csv']) {
      assert.deepEqual(rowsOf(await read(csvSourceSpec, dir, { path })), expected, path);
    }
    assert.notDeepEqual(rowsOf(await read(csvSourceSpec, dir, { path: 'packed-no-ext.csv', compression: 'none' })), expected);
  } finally {
    cleanup();
  }
});

test('csv: latin1, windows-1252 and utf-16le encodings', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const text = 'ville;prix\nSão Paulo;10€\nZürich;ÿ\n';
    writeFileSync(join(dir, 'l1.csv'), iconv.encode(text.replace('€', 'E'), 'latin1'));
    writeFileSync(join(dir, 'w.csv'), iconv.encode(text, 'windows-1252'));
    writeFileSync(join(dir, 'u16.csv'), iconv.encode(`\uFEFF${text}`, 'utf-16le'));
    assert.deepEqual(rowsOf(await read(csvSourceSpec, dir, { path: 'l1.csv', delimiter: ';', encoding: 'latin1' })),
      [{ ville: 'São Paulo', prix: '10E' }, { ville: 'Zürich', prix: 'ÿ' }]);
    const expected = [{ ville: 'São Paulo', prix: '10€' }, { ville: 'Zürich', prix: 'ÿ' }];
    assert.deepEqual(rowsOf(await read(csvSourceSpec, dir, { path: 'w.csv', delimiter: ';', encoding: 'windows-1252' })), expected);
    assert.deepEqual(rowsOf(await read(csvSourceSpec, dir, { path: 'u16.csv', delimiter: ';', encoding: 'utf-16le' })), expected);
    assert.throws(() => csvSourceSpec.stream.parse({ path: 'x.csv', encoding: 'klingon' }));
  } finally {
    cleanup();
  }
});

test('csv: invalid UTF-8 goes to the DLQ by default, loads as U+FFFD with invalid_utf8=replace', async () => {
  const { dir, cleanup } = tempDir();
  try {
    writeFileSync(join(dir, 'bad.csv'), Buffer.concat([Buffer.from('a,b\n1,ok\n2,'), Buffer.from([0xe9]), Buffer.from('t\u00e9\n3,fine\n')]));
    const rejected = await read(csvSourceSpec, dir, { path: 'bad.csv' });
    assert.deepEqual(rowsOf(rejected), [{ a: '1', b: 'ok' }, { a: '3', b: 'fine' }]);
    assert.deepEqual(rejectsOf(rejected), [{
      stage: 'parse', reason: 'invalid UTF-8', raw: '2,\uFFFDt\u00e9', position: { file: 'bad.csv', line: 3 },
    }]);
    assert.equal(lastState(rejected).files!['bad.csv'].records, 3);
    const replaced = await read(csvSourceSpec, dir, { path: 'bad.csv', invalid_utf8: 'replace' });
    assert.deepEqual(rowsOf(replaced)[1], { a: '2', b: '\uFFFDt\u00e9' });
    assert.equal(rejectsOf(replaced).length, 0);
  } finally {
    cleanup();
  }
});

test('csv: hostile header names and header=false through the source', async () => {
  const { dir, cleanup } = tempDir();
  try {
    writeFileSync(join(dir, 'h.csv'), '"""; DROP TABLE x; --",select,Name With Spaces,émoji 🎉,name,NAME,name\n1,2,3,4,5,6,7\n');
    assert.deepEqual(Object.entries(rowsOf(await read(csvSourceSpec, dir, { path: 'h.csv' }))[0]), [
      ['"; DROP TABLE x; --', '1'], ['select', '2'], ['Name With Spaces', '3'], ['émoji 🎉', '4'],
      ['name', '5'], ['NAME', '6'], ['name_2', '7'],
    ]);
    assert.deepEqual(rowsOf(await read(csvSourceSpec, dir, { path: 'h.csv', header: false }))[1],
      { column_1: '1', column_2: '2', column_3: '3', column_4: '4', column_5: '5', column_6: '6', column_7: '7' });
  } finally {
    cleanup();
  }
});

test('empty file: zero rows, no error, file recorded as done', async () => {
  const { dir, cleanup } = tempDir();
  try {
    writeFileSync(join(dir, 'empty.csv'), '');
    writeFileSync(join(dir, 'empty.json'), '');
    writeFileSync(join(dir, 'empty.ndjson'), '');
    writeFileSync(join(dir, 'empty.csv.gz'), '');
    for (const [spec, path] of [
      [csvSourceSpec, 'empty.csv'], [csvSourceSpec, 'empty.csv.gz'], [jsonSourceSpec, 'empty.json'], [ndjsonSourceSpec, 'empty.ndjson'],
    ] as const) {
      const batches = await read(spec, dir, { path });
      assert.equal(rowsOf(batches).length, 0, path);
      assert.deepEqual(lastState(batches).files![path], { size: 0, mtimeMs: statSync(join(dir, path)).mtimeMs, records: 0, done: true });
    }
  } finally {
    cleanup();
  }
});

test('a glob matching nothing and a missing plain path are RunErrors naming pattern and directory', async () => {
  const { dir, cleanup } = tempDir();
  try {
    for (const path of ['data/*.csv', 'missing.csv']) {
      await assert.rejects(read(csvSourceSpec, dir, { path }),
        (e: unknown) => e instanceof RunError && e.message.includes(`"${path}"`) && e.message.includes(dir));
    }
  } finally {
    cleanup();
  }
});

test('glob: files read in sorted order, one checkpoint per file end, batches cut at batchSize', async () => {
  const { dir, cleanup } = tempDir();
  try {
    mkdirSync(join(dir, 'data'));
    writeFileSync(join(dir, 'data', 'b.csv'), `id,name\n${csvLines(3, 26)}`);
    writeFileSync(join(dir, 'data', 'a.csv'), `id,name\n${csvLines(25)}`);
    writeFileSync(join(dir, 'data', 'notes.txt'), 'not matched');
    const batches = await read(csvSourceSpec, dir, { path: 'data/*.csv' }, undefined, 10);
    assert.deepEqual(batches.map((b) => batchLength(b)), [10, 10, 5, 3]);
    const exact = await read(csvSourceSpec, dir, { path: 'data/a.csv' }, undefined, 5);
    assert.deepEqual(exact.map((b) => [batchLength(b), b.checkpoint!.files!['data/a.csv'].done]),
      [[5, false], [5, false], [5, false], [5, false], [5, true]]);
    assert.deepEqual(rowsOf(batches).map((r) => r.id), Array.from({ length: 28 }, (_, i) => String(i + 1)));
    assert.deepEqual(batches.map((b) => b.checkpoint!.files!['data/a.csv']),
      [10, 20, 25, 25].map((records) => ({ ...statOf(dir, 'data/a.csv'), records, done: records === 25 })));
    assert.equal(batches[2].checkpoint!.files!['data/b.csv'], undefined);
    assert.deepEqual(batches[3].checkpoint!.files!['data/b.csv'], { ...statOf(dir, 'data/b.csv'), records: 3, done: true });
    // Positions: index-aligned with rows, the header is line 1.
    assert.deepEqual(positionsOf(batches[1])[0], { file: 'data/a.csv', line: 12 });
    assert.deepEqual(positionsOf(batches[3]), [2, 3, 4].map((line) => ({ file: 'data/b.csv', line })));
    for (const b of batches) assert.equal(b.checkpoint!.version, 1);
  } finally {
    cleanup();
  }
});

function statOf(dir: string, rel: string): { size: number; mtimeMs: number } {
  const st = statSync(join(dir, rel));
  return { size: st.size, mtimeMs: st.mtimeMs };
}

test('resume mid-file from a checkpoint yields exactly the remaining records (rejected ones included)', async () => {
  const { dir, cleanup } = tempDir();
  try {
    writeFileSync(join(dir, 'r.csv'), `id,name\n${csvLines(4)}5\n${csvLines(20, 6)}`);
    const full = await read(csvSourceSpec, dir, { path: 'r.csv' }, undefined, 7);
    assert.equal(rowsOf(full).length, 24);
    assert.equal(rejectsOf(full).length, 1);
    for (let k = 0; k < full.length - 1; k++) {
      // A crash after batch k committed: the re-run starts from its checkpoint.
      const rest = await read(csvSourceSpec, dir, { path: 'r.csv' }, full[k].checkpoint, 7);
      const before = full.slice(0, k + 1);
      assert.deepEqual([...rowsOf(before), ...rowsOf(rest)], rowsOf(full), `after batch ${k}`);
      assert.deepEqual([...rejectsOf(before), ...rejectsOf(rest)], rejectsOf(full), `after batch ${k}`);
      assert.deepEqual(lastState(rest), lastState(full));
    }
    const st = statOf(dir, 'r.csv');
    const resumed = await read(csvSourceSpec, dir, { path: 'r.csv' }, { version: 1, files: { 'r.csv': { ...st, records: 12, done: false } } });
    assert.deepEqual(rowsOf(resumed).map((r) => r.id), Array.from({ length: 13 }, (_, i) => String(i + 13)));
    assert.deepEqual(positionsOf(resumed[0])[0], { file: 'r.csv', line: 14 });
  } finally {
    cleanup();
  }
});

test('a done, unchanged file is skipped; a changed one is read again from the start', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const file = join(dir, 'd.csv');
    writeFileSync(file, `id,name\n${csvLines(5)}`);
    const first = await read(csvSourceSpec, dir, { path: '*.csv' });
    const state: StreamState = { ...lastState(first), cursor: { column: 'id', value: '5' }, connector: { kept: true } };
    assert.deepEqual(await read(csvSourceSpec, dir, { path: '*.csv' }, state), []);
    appendFileSync(file, csvLines(2, 6));
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    const again = await read(csvSourceSpec, dir, { path: '*.csv' }, state);
    assert.deepEqual(rowsOf(again).map((r) => r.id), ['1', '2', '3', '4', '5', '6', '7']);
    // The checkpoint is a copy of the incoming state with only `files` moved on.
    assert.deepEqual(lastState(again), { version: 1, cursor: { column: 'id', value: '5' }, connector: { kept: true },
      files: { 'd.csv': { ...statOf(dir, 'd.csv'), records: 7, done: true } } });
  } finally {
    cleanup();
  }
});

test('an aborted run stops with the abort reason', async () => {
  const { dir, cleanup } = tempDir();
  try {
    writeFileSync(join(dir, 'big.csv'), `id,name\n${csvLines(50_000)}`);
    const ac = new AbortController();
    const source = await csvSourceSpec.create({});
    const it = source.read(stream(csvSourceSpec.stream.parse({ path: 'big.csv' })), undefined, ctxFor(dir, 100, ac.signal));
    let batches = 0;
    await assert.rejects(async () => {
      for await (const _ of it) {
        batches++;
        if (batches === 3) ac.abort();
      }
    }, (e: unknown) => (e as Error).name === 'AbortError');
    assert.ok(batches < 50, `stopped after ${batches} batches`);
  } finally {
    cleanup();
  }
});

test('json: array of objects, plain and gzip, with a records path; malformed element rejected with position', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const text = '[\n  {"id": 1, "tags": ["a"]},\n  {"id": 2, oops},\n  {"id": 3, "n": null}\n]\n';
    writeFileSync(join(dir, 'a.json'), text);
    writeFileSync(join(dir, 'wrapped.json.gz'), gzipSync(`{"meta": {"count": 3}, "data": {"items": ${text}}}`));
    const a = await read(jsonSourceSpec, dir, { path: 'a.json' });
    assert.deepEqual(rowsOf(a), [{ id: 1, tags: ['a'] }, { id: 3, n: null }]);
    assert.deepEqual(positionsOf(a[0]), [{ file: 'a.json', line: 2, offset: 4 }, { file: 'a.json', line: 4, offset: text.indexOf('{"id": 3') }]);
    const [bad] = rejectsOf(a);
    assert.equal(bad.raw, '{"id": 2, oops}');
    assert.deepEqual(bad.position, { file: 'a.json', line: 3, offset: text.indexOf('{"id": 2') });
    assert.deepEqual(lastState(a).files!['a.json'].records, 3);
    const wrapped = await read(jsonSourceSpec, dir, { path: 'wrapped.json.gz', records: 'data.items' }, undefined, 1);
    // A batch holds up to batchSize rows and batchSize rejects; the file's last batch is marked done.
    assert.deepEqual(wrapped.map((b) => [batchLength(b), b.rejected?.length ?? 0]), [[1, 1], [1, 0]]);
    assert.deepEqual(wrapped.map((b) => b.checkpoint!.files!['wrapped.json.gz']), [2, 3]
      .map((records) => ({ ...statOf(dir, 'wrapped.json.gz'), records, done: records === 3 })));
    assert.deepEqual(rowsOf(wrapped).map((r) => r.id), [1, 3]);
    // Resume after the first two records (one row, one reject): only the third loads.
    const resumed = await read(jsonSourceSpec, dir, { path: 'a.json' },
      { version: 1, files: { 'a.json': { ...statOf(dir, 'a.json'), records: 2, done: false } } });
    assert.deepEqual(rowsOf(resumed), [{ id: 3, n: null }]);
    assert.equal(rejectsOf(resumed).length, 0);
  } finally {
    cleanup();
  }
});

test('ndjson: blank lines skipped, malformed and non-object lines rejected with their line numbers', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const text = '{"id": 1}\r\n\n{"id": 2, "nested": {"x": [1]}}\n{bad json\n[1, 2]\n"str"\n  {"id": 3}  \n{"id": 4}';
    writeFileSync(join(dir, 'e.ndjson'), text);
    writeFileSync(join(dir, 'e.ndjson.gz'), gzipSync(text));
    for (const path of ['e.ndjson', 'e.ndjson.gz']) {
      const b = await read(ndjsonSourceSpec, dir, { path }, undefined, 2);
      assert.deepEqual(rowsOf(b), [{ id: 1 }, { id: 2, nested: { x: [1] } }, { id: 3 }, { id: 4 }]);
      assert.deepEqual(b.flatMap(positionsOf).map((p) => p.line), [1, 3, 7, 8]);
      assert.deepEqual(rejectsOf(b).map((r) => [r.position.line, r.reason.replace(/:.*/, ''), r.raw]), [
        [4, 'invalid JSON', '{bad json'],
        [5, 'expected an object, got an array', '[1, 2]'],
        [6, 'expected an object, got string', '"str"'],
      ]);
      assert.deepEqual(b.map((x) => [batchLength(x), x.rejected?.length ?? 0]), [[2, 2], [2, 1]]);
      assert.deepEqual(b.map((x) => x.checkpoint!.files![path].records), [4, 7]);
      const rest = await read(ndjsonSourceSpec, dir, { path }, b[0].checkpoint);
      assert.deepEqual(rowsOf(rest), [{ id: 3 }, { id: 4 }]);
      assert.deepEqual(rejectsOf(rest).map((r) => r.position), [{ file: path, line: 6 }]);
    }
  } finally {
    cleanup();
  }
});

test('specs: strict stream keys, defaults, and a description on every key', () => {
  for (const spec of [csvSourceSpec, jsonSourceSpec, ndjsonSourceSpec]) {
    assert.throws(() => spec.stream.parse({ path: 'x', delimeter: ';' }), spec.type);
    assert.throws(() => spec.stream.parse({}), spec.type);
    assert.deepEqual(spec.config.parse({}), {});
    for (const [key, schema] of Object.entries(spec.stream.shape)) {
      assert.ok((schema as { description?: string }).description, `${spec.type}.${key} has a description`);
    }
  }
  assert.deepEqual(csvSourceSpec.stream.parse({ path: 'x.csv' }), {
    path: 'x.csv', encoding: 'utf-8', compression: 'auto', invalid_utf8: 'reject', max_record_bytes: 16 * 1024 * 1024,
    delimiter: ',', quote: '"', header: true, skip_lines: 0,
  });
});
