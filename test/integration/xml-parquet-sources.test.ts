// XML and Parquet sources end to end: the real CLI, real files, the embedded DuckDB warehouse.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import iconv from 'iconv-lite';
import { collect, duckQuery, runContext, sluice, tempDir } from '../helpers.js';
import { parquetSourceSpec } from '../../src/connectors/parquet/parquet-spec.js';
import { xmlSourceSpec } from '../../src/connectors/xml/xml-spec.js';
import type { StreamConfig } from '../../src/core/connector.js';
import { batchLength, rowAt, type Batch } from '../../src/core/types.js';

const addsUp = (c: { extracted: number; loaded: number; dead_lettered: number; filtered: number }) =>
  c.extracted === c.loaded + c.dead_lettered + c.filtered;

function project(yaml: string, files: Record<string, string | Buffer> = {}) {
  const t = tempDir('sluice-xmlpq-');
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(t.dir, name, '..'), { recursive: true });
    writeFileSync(join(t.dir, name), content);
  }
  writeFileSync(join(t.dir, 'pipeline.yaml'), yaml);
  return { ...t, file: join(t.dir, 'pipeline.yaml'), home: join(t.dir, '.sluice'), warehouse: join(t.dir, '.sluice', 'warehouse.duckdb') };
}

const stream = (keys: Record<string, unknown>): StreamConfig => ({ name: 's', primary_key: [], write: 'append', on_schema_change: 'widen', ...keys });

describe('xml source', () => {
  const cleanups: (() => void)[] = [];
  after(() => cleanups.forEach((c) => c()));

  test('records path, attributes, namespaces, gzip + latin1, malformed record → DLQ, second run skips the files', async () => {
    const books = `<?xml version="1.0" encoding="UTF-8"?>
<catalog xmlns="urn:books" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <book id="1"><dc:title>Ulysses</dc:title><price currency="EUR">12.50</price><tag>a</tag></book>
  <book id="2"><dc:title>Fish &amp; Chips</dc:title><price currency="GBP">7</price><tag>b</tag><tag>c</tag></book>
  <book id="3"><dc:title>Broken & bad</dc:title><price currency="EUR">1</price></book>
  <book id="4"><dc:title><![CDATA[<Dune>]]></dc:title><price currency="USD">9.99</price></book>
</catalog>
`;
    const latin = '<?xml version="1.0" encoding="ISO-8859-1"?>\n<catalog><book id="5"><title>Les Misérables</title><price currency="EUR">3</price></book></catalog>\n';
    const p = project(`pipeline: xml-books
sources:
  - name: files
    type: xml
    streams:
      - name: books
        path: data/*.xml*
        records: b:catalog/b:book
        namespaces: { b: "urn:books" }
        arrays: [tag]
        columns: { "@id": integer, price: decimal }
        primary_key: ["@id"]
        write: merge
  - name: legacy
    type: xml
    streams:
      - name: legacy_books
        path: legacy/*.xml.gz
        records: catalog/book
        encoding: latin1
`, { 'data/books.xml': books, 'legacy/old.xml.gz': gzipSync(iconv.encode(latin, 'latin1')) });
    cleanups.push(p.cleanup);

    const run = await sluice(['run', p.file, '--json'], { home: p.home });
    assert.equal(run.code, 3, run.stderr);
    const s = JSON.parse(run.stdout);
    assert.equal(s.status, 'partial_success');
    assert.deepEqual([s.streams.books.extracted, s.streams.books.loaded, s.streams.books.dead_lettered], [4, 3, 1]);
    assert.equal(s.streams.legacy_books.loaded, 1);
    for (const c of Object.values(s.streams)) assert.ok(addsUp(c as never), JSON.stringify(c));

    const rows = await duckQuery(p.warehouse,
      'SELECT "@id" AS id, title, price::DOUBLE AS price, "price.@currency" AS cur, tag::VARCHAR AS tag FROM books ORDER BY 1');
    assert.deepEqual(rows, [
      { id: 1, title: 'Ulysses', price: 12.5, cur: 'EUR', tag: '["a"]' },
      { id: 2, title: 'Fish & Chips', price: 7, cur: 'GBP', tag: '["b","c"]' },
      { id: 4, title: '<Dune>', price: 9.99, cur: 'USD', tag: null },
    ]);
    const legacy = await duckQuery(p.warehouse, 'SELECT title FROM legacy_books');
    assert.deepEqual(legacy, [{ title: 'Les Misérables' }]);

    const dlq = await sluice(['dlq', 'list', '--json'], { home: p.home });
    const entries = JSON.parse(dlq.stdout) as { reason: string; raw: string; position: { file: string; line: number } }[];
    assert.equal(entries.length, 1);
    assert.match(entries[0].reason, /malformed XML at line 5: "&" must start an entity reference/);
    assert.deepEqual(entries[0].position.line, 5);
    assert.equal(entries[0].position.file, 'data/books.xml');
    assert.match(entries[0].raw, /^<book id="3">/);

    const again = await sluice(['run', p.file, '--json'], { home: p.home });
    assert.equal(again.code, 0, again.stderr);
    const s2 = JSON.parse(again.stdout);
    assert.equal(s2.streams.books.extracted, 0);
    assert.equal(s2.streams.legacy_books.extracted, 0);
  });

  test('a wrong records path fails the stream with the reason; a declared encoding mismatch names the fix', async () => {
    const p = project(`pipeline: xml-wrong
sources:
  - name: files
    type: xml
    streams:
      - name: items
        path: feed.xml
        records: rss/channel/item
`, { 'feed.xml': '<feed><entry/></feed>' });
    cleanups.push(p.cleanup);
    const run = await sluice(['run', p.file, '--json'], { home: p.home });
    assert.equal(run.code, 1);
    assert.match(JSON.parse(run.stdout).error ?? run.stdout, /starts at <rss>, but the root element is <feed>/);

    writeFileSync(join(p.dir, 'feed.xml'), iconv.encode('<?xml version="1.0" encoding="windows-1252"?><rss><channel><item><t>€</t></item></channel></rss>', 'windows-1252'));
    const enc = await sluice(['run', p.file, '--json'], { home: p.home });
    assert.equal(enc.code, 1);
    assert.match(enc.stdout, /set `encoding: windows-1252`/);

    const bad = project(`pipeline: xml-bad
sources:
  - name: files
    type: xml
    streams:
      - name: items
        path: feed.xml
        records: "x:rss/item"
`);
    cleanups.push(bad.cleanup);
    const v = await sluice(['validate', bad.file], { home: bad.home });
    assert.equal(v.code, 2);
    assert.match(v.stderr + v.stdout, /records.*prefix "x" is not declared/s);
  });

  test('a large file streams with bounded memory and exact checkpoints', async () => {
    const { dir, cleanup } = tempDir('sluice-xmlbig-');
    cleanups.push(cleanup);
    const n = 20_000;
    const parts = ['<r>'];
    for (let i = 1; i <= n; i++) parts.push(`<item n="${i}"><v>${'x'.repeat(40)}</v></item>\n`);
    parts.push('</r>');
    writeFileSync(join(dir, 'big.xml'), parts.join(''));
    const source = await xmlSourceSpec.create({});
    const keys = xmlSourceSpec.stream.parse({ path: 'big.xml', records: '//item' });
    let count = 0;
    let batches = 0;
    let last: Batch | undefined;
    for await (const b of source.read(stream(keys), undefined, runContext(dir, { batchSize: 1000 }))) {
      assert.ok(batchLength(b) <= 1000);
      count += batchLength(b);
      batches++;
      if (batches === 7) assert.equal(b.checkpoint!.files!['big.xml'].records, 7000);
      last = b;
    }
    assert.equal(count, n);
    assert.equal(last!.checkpoint!.files!['big.xml'].done, true);
    // Resume from a checkpoint in the middle: exactly the rest.
    const mid = { version: 1, files: { 'big.xml': { ...last!.checkpoint!.files!['big.xml'], records: 12_345, done: false } } };
    const rest = await collect(source.read(stream(keys), mid, runContext(dir)));
    const first = rowAt(rest[0], 0);
    assert.equal(first['@n'], '12346');
    assert.equal(rest.reduce((a, b) => a + batchLength(b), 0), n - 12_345);
  });
});

describe('parquet source', () => {
  const cleanups: (() => void)[] = [];
  after(() => cleanups.forEach((c) => c()));

  async function writeParquet(file: string, rows: number): Promise<void> {
    await duckQuery(':memory:', `COPY (
      SELECT i::INTEGER AS id, (i * 1000000000)::BIGINT AS big, (i / 8)::DECIMAL(18,3) AS amount, i / 4 AS ratio,
        i % 2 = 0 AS even, DATE '2024-01-01' + i::INTEGER AS day,
        TIMESTAMP '2024-01-01 00:00:00.123456' + INTERVAL (i) SECOND AS at,
        CASE WHEN i % 10 = 0 THEN NULL ELSE 'name ' || i END AS name,
        [i, i + 1] AS pair, [[i]] AS nested, {'k': i, 's': 'x'} AS obj, '\\xAA\\xBB'::BLOB AS raw,
        uuid() AS uid
      FROM range(1, ${rows + 1}) t(i)
    ) TO '${file.replace(/'/g, "''")}' (FORMAT parquet, ROW_GROUP_SIZE 1000)`);
  }

  test('types from the Parquet schema are preserved; the second run skips the file; resume by row', async () => {
    const p = project(`pipeline: pq
batch_size: 1000
sources:
  - name: files
    type: parquet
    streams:
      - name: facts
        path: data/*.parquet
`);
    cleanups.push(p.cleanup);
    mkdirSync(join(p.dir, 'data'));
    await writeParquet(join(p.dir, 'data', 'facts.parquet'), 2500);

    const source = await parquetSourceSpec.create(parquetSourceSpec.config.parse({}) as { memory_limit: string });
    const keys = parquetSourceSpec.stream.parse({ path: 'data/*.parquet' });
    try {
      assert.deepEqual(await source.columns!(stream(keys), runContext(p.dir)), {
        id: 'integer', big: 'bigint', amount: 'decimal', ratio: 'double', even: 'boolean', day: 'date', at: 'timestamp', name: 'text',
        pair: 'bigint[]', nested: 'json', obj: 'json', raw: 'binary', uid: 'uuid',
      });
      const st = statSync(join(p.dir, 'data', 'facts.parquet'));
      const mid = { version: 1, files: { 'data/facts.parquet': { size: st.size, mtimeMs: st.mtimeMs, records: 1200, done: false } } };
      const rest = await collect(source.read(stream(keys), mid, runContext(p.dir)));
      assert.equal(rowAt(rest[0], 0).id, 1201);
      assert.equal(rest.reduce((a, b) => a + batchLength(b), 0), 1300);
      assert.deepEqual(rest.at(-1)!.checkpoint!.files!['data/facts.parquet'], { size: st.size, mtimeMs: st.mtimeMs, records: 2500, done: true });
    } finally {
      await source.close!();
    }

    const run = await sluice(['run', p.file, '--json'], { home: p.home });
    assert.equal(run.code, 0, run.stderr);
    const s = JSON.parse(run.stdout);
    assert.equal(s.streams.facts.loaded, 2500);
    const types = await duckQuery(p.warehouse,
      "SELECT column_name AS c, data_type AS t FROM information_schema.columns WHERE table_name = 'facts' AND column_name NOT LIKE '\\_%' ESCAPE '\\' ORDER BY ordinal_position");
    const typeOf = Object.fromEntries(types.map((r) => [r.c, r.t]));
    assert.equal(typeOf.id, 'INTEGER');
    assert.equal(typeOf.big, 'BIGINT');
    assert.match(String(typeOf.amount), /^DECIMAL/);
    assert.equal(typeOf.ratio, 'DOUBLE');
    assert.equal(typeOf.even, 'BOOLEAN');
    assert.equal(typeOf.day, 'DATE');
    assert.equal(typeOf.at, 'TIMESTAMP WITH TIME ZONE');
    assert.equal(typeOf.raw, 'BLOB');
    assert.equal(typeOf.uid, 'UUID');
    assert.equal(typeOf.pair, 'BIGINT[]', 'a list of scalars stays a typed list');
    assert.equal(typeOf.nested, 'JSON');
    const [r] = await duckQuery(p.warehouse, `SELECT id, big::VARCHAR AS big, amount::VARCHAR AS amount, even, day::VARCHAR AS day,
      epoch_us("at")::VARCHAR AS at, name, pair::VARCHAR AS pair, nested::VARCHAR AS nested, obj->>'k' AS k, hex(raw) AS raw
      FROM facts WHERE id = 7`);
    assert.deepEqual(r, {
      id: 7, big: '7000000000', amount: '0.875000000', even: false, day: '2024-01-08', at: String(Date.UTC(2024, 0, 1, 0, 0, 7) * 1000 + 123456), name: 'name 7',
      pair: '[7, 8]', nested: '[[7]]', k: '7', raw: 'AABB',
    });
    const nulls = await duckQuery(p.warehouse, 'SELECT count(*)::INT AS n FROM facts WHERE name IS NULL');
    assert.equal(nulls[0].n, 250);

    const again = await sluice(['run', p.file, '--json'], { home: p.home });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout).streams.facts.extracted, 0);
  });

  test('a file that is not Parquet fails the stream with its name', async () => {
    const p = project(`pipeline: pq-bad
sources:
  - name: files
    type: parquet
    streams:
      - name: facts
        path: bad.parquet
`, { 'bad.parquet': 'not parquet at all' });
    cleanups.push(p.cleanup);
    const run = await sluice(['run', p.file, '--json'], { home: p.home });
    assert.equal(run.code, 1);
    assert.match(run.stdout, /cannot read bad\.parquet as Parquet/);
  });
});
