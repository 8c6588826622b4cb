// Every file format read from a bucket of a real S3-compatible server on loopback, through the real CLI into the
// embedded DuckDB warehouse: globs under a prefix, gzip and Zstandard told by their bytes, a malformed row in the DLQ
// with its object's URL and line, counts that add up, a second run that reads nothing, an object replaced with other
// bytes of the same size read again; and the errors a user meets (a missing bucket, a bucket in another region),
// which name the stream.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { collect, duckQuery, runContext, sluice, tempDir } from '../helpers.js';
import { startS3Server, type S3Server } from '../support/s3-server.js';
import { S3Store } from '../../src/connectors/s3/s3-store.js';
import { csvSourceSpec } from '../../src/connectors/csv/csv-spec.js';
import { logSourceSpec } from '../../src/connectors/log/log-spec.js';

type Counts = { extracted: number; loaded: number; dead_lettered: number; filtered: number };
const addsUp = (c: Counts) => c.extracted === c.loaded + c.dead_lettered + c.filtered;

/** Line 3 has a field too many: it goes to the DLQ, the rest of the object loads. */
const ORDERS_1 = 'id,total\n1,10.5\n2,20,extra\n3,30\n';
const ORDERS_2 = 'id,total\n4,40\n5,50\n';
const ACCESS = [
  '198.51.100.2 - - [23/Nov/2026:10:00:00 +0000] "GET /a HTTP/1.1" 200 1234',
  '198.51.100.3 - bob [23/Nov/2026:10:00:01 +0000] "POST /b HTTP/1.1" 201 -',
].join('\n') + '\n';
const BOOKS = '<catalog><book id="1"><title>Ulysses</title></book><book id="2"><title>Dune</title></book></catalog>\n';
const ITEMS = JSON.stringify({ data: { items: [{ sku: 'a', qty: 1 }, { sku: 'b', qty: 2 }, { sku: 'c', qty: 3 }] } });

/** Files DuckDB writes (Node 20 has no Zstandard compressor; Parquet needs a writer). */
async function duckFiles(dir: string): Promise<void> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    await conn.run(`COPY (SELECT i AS id, 'e' || i AS kind FROM range(3) t(i)) TO '${join(dir, 'events.ndjson.zst')}' (FORMAT json, COMPRESSION zstd)`);
    await conn.run(`COPY (SELECT i::INTEGER AS id, (i * 1.25)::DECIMAL(10,2) AS amount, DATE '2026-01-01' + i::INTEGER AS day FROM range(4) t(i)) TO '${join(dir, 'p.parquet')}' (FORMAT parquet)`);
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

describe('file sources on S3', () => {
  let server: S3Server;
  let store: S3Store;
  let t: { dir: string; cleanup: () => void };
  const saved = { ...process.env };

  before(async () => {
    server = await startS3Server({ buckets: ['lake', 'eu-lake'], regions: { 'eu-lake': 'eu-west-1' } });
    Object.assign(process.env, server.env);
    store = await S3Store.open('lake', { endpoint: server.endpoint, path_style: true });
    t = tempDir('sluice-s3-source-');
    await duckFiles(t.dir);
    const put = async (key: string, content: string | Buffer) => {
      const file = join(t.dir, 'upload');
      writeFileSync(file, content);
      await store.upload(key, file);
    };
    await put('in/orders/2026/orders-1.csv', ORDERS_1);
    await put('in/orders/2026/orders-2.csv.gz', gzipSync(ORDERS_2));
    await put('in/orders/2026/.hidden.csv', 'id,total\n99,1\n');
    await put('in/orders/readme.txt', 'not an order');
    await put('in/events/events.ndjson.zst', readFileSync(join(t.dir, 'events.ndjson.zst')));
    await put('in/items.json', ITEMS);
    await put('in/books/books.xml', BOOKS);
    await put('logs/access-1.log', ACCESS);
    await put('in/pq/p.parquet', readFileSync(join(t.dir, 'p.parquet')));
  });
  after(async () => {
    process.env = saved;
    store.close();
    await server.close();
    t.cleanup();
  });

  test('csv, ndjson, json, xml, log and parquet objects load once each; a replaced object is read again', async () => {
    const yaml = `pipeline: lake-files
sources:
  - name: orders_src
    type: csv
    ${server.yaml}
    streams:
      - name: orders
        path: s3://lake/in/orders/**/*.csv*
        primary_key: [id]
        write: merge
        columns: { id: integer, total: decimal }
  - name: events_src
    type: ndjson
    ${server.yaml}
    streams:
      - { name: events, path: "s3://lake/in/events/*.ndjson.zst" }
  - name: items_src
    type: json
    ${server.yaml}
    streams:
      - { name: items, path: "s3://lake/in/items.json", records: data.items }
  - name: books_src
    type: xml
    ${server.yaml}
    streams:
      - { name: books, path: "s3://lake/in/books/*.xml", records: catalog/book, columns: { "@id": integer } }
  - name: logs_src
    type: log
    ${server.yaml}
    streams:
      - { name: access, path: "s3://lake/logs/access-*.log", format: apache_common }
  - name: pq_src
    type: parquet
    ${server.yaml}
    streams:
      - { name: amounts, path: "s3://lake/in/pq/*.parquet" }
`;
    const file = join(t.dir, 'pipeline.yaml');
    writeFileSync(file, yaml);
    const home = join(t.dir, '.sluice');
    const warehouse = join(home, 'warehouse.duckdb');

    const first = await sluice(['run', file, '--json'], { home });
    assert.equal(first.code, 3, first.stderr + first.stdout);
    const s = JSON.parse(first.stdout) as { streams: Record<string, Counts> };
    assert.deepEqual(Object.fromEntries(Object.entries(s.streams).map(([k, c]) => [k, [c.extracted, c.loaded, c.dead_lettered]])), {
      orders: [5, 4, 1], events: [3, 3, 0], items: [3, 3, 0], books: [2, 2, 0], access: [2, 2, 0], amounts: [4, 4, 0],
    });
    for (const c of Object.values(s.streams)) assert.ok(addsUp(c), JSON.stringify(c));

    const dlq = JSON.parse((await sluice(['dlq', 'list', '--json'], { home })).stdout) as { stream: string; position: { file: string; line: number } }[];
    assert.deepEqual(dlq.map((d) => [d.stream, d.position.file, d.position.line]), [['orders', 's3://lake/in/orders/2026/orders-1.csv', 3]]);

    assert.deepEqual(await duckQuery(warehouse, 'SELECT id, total::DOUBLE AS total FROM orders ORDER BY id'),
      [{ id: 1, total: 10.5 }, { id: 3, total: 30 }, { id: 4, total: 40 }, { id: 5, total: 50 }]);
    assert.deepEqual(await duckQuery(warehouse, 'SELECT kind FROM events ORDER BY id'), [{ kind: 'e0' }, { kind: 'e1' }, { kind: 'e2' }]);
    assert.deepEqual(await duckQuery(warehouse, 'SELECT sum(qty)::INTEGER AS q FROM items'), [{ q: 6 }]);
    assert.deepEqual(await duckQuery(warehouse, 'SELECT "@id" AS id, title FROM books ORDER BY 1'), [{ id: 1, title: 'Ulysses' }, { id: 2, title: 'Dune' }]);
    assert.deepEqual(await duckQuery(warehouse, 'SELECT "user", status, bytes FROM access ORDER BY status'),
      [{ user: null, status: 200, bytes: 1234n }, { user: 'bob', status: 201, bytes: null }]);
    assert.deepEqual(await duckQuery(warehouse, 'SELECT sum(amount)::DOUBLE AS a, max(day)::VARCHAR AS d FROM amounts'), [{ a: 7.5, d: '2026-01-04' }]);

    // Nothing changed: nothing is read, and no copy of the Parquet object is left behind.
    const second = await sluice(['run', file, '--json'], { home });
    assert.equal(second.code, 0, second.stderr);
    for (const [name, c] of Object.entries((JSON.parse(second.stdout) as { streams: Record<string, Counts> }).streams)) {
      assert.equal(c.extracted, 0, name);
    }
    assert.deepEqual(existsSync(join(home, 'tmp')) ? readdirSync(join(home, 'tmp')) : [], []);

    // Same size, other bytes (a new ETag): read again from the start, the merge updates the rows.
    const replaced = ORDERS_1.replace('10.5', '11.5');
    assert.equal(replaced.length, ORDERS_1.length);
    writeFileSync(join(t.dir, 'upload'), replaced);
    await store.upload('in/orders/2026/orders-1.csv', join(t.dir, 'upload'));
    const third = await sluice(['run', file, '--json'], { home });
    assert.equal(third.code, 3, third.stderr);
    assert.match(third.stderr, /file changed since it was loaded; reading it again from the start/);
    const orders = (JSON.parse(third.stdout) as { streams: Record<string, Counts> }).streams.orders;
    assert.deepEqual([orders.extracted, orders.loaded, orders.dead_lettered], [3, 2, 1]);
    assert.deepEqual(await duckQuery(warehouse, 'SELECT total::DOUBLE AS total FROM orders WHERE id = 1'), [{ total: 11.5 }]);
  });

  test('a missing bucket, a bucket in another region, no matching object and no credentials fail the stream, saying why; follow refuses s3://', async () => {
    const source = await csvSourceSpec.create({ s3: { endpoint: server.endpoint, path_style: true } });
    const read = (path: string) => collect(source.read(
      { name: 'orders', primary_key: [], write: 'append', on_schema_change: 'widen', ...csvSourceSpec.stream.parse({ path }) },
      undefined, runContext(t.dir),
    ));
    await assert.rejects(read('s3://nope/in/*.csv'), (e: Error & { stream?: string }) => {
      assert.match(e.message, /^stream "orders": cannot list s3:\/\/nope\/in\/ at http:\/\/127\.0\.0\.1:\d+: bucket "nope" does not exist/);
      assert.equal(e.stream, 'orders');
      return true;
    });
    await assert.rejects(read('s3://eu-lake/in/*.csv'), /^RunError: stream "orders": .*the bucket is in region "eu-west-1", not "us-east-1": set s3.region: eu-west-1/);
    await assert.rejects(read('s3://lake/in/orders/*.tsv'), /stream "orders": no object matches "s3:\/\/lake\/in\/orders\/\*\.tsv"/);

    // No credentials anywhere in the chain (and no instance metadata to ask): said so, at once.
    const env = { ...process.env };
    for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_PROFILE']) delete process.env[k];
    Object.assign(process.env, { AWS_EC2_METADATA_DISABLED: 'true', AWS_SHARED_CREDENTIALS_FILE: join(t.dir, 'none'), AWS_CONFIG_FILE: join(t.dir, 'none') });
    try {
      await assert.rejects(read('s3://lake/in/orders/*.csv'), /stream "orders": cannot list s3:\/\/lake\/in\/orders\/ at .*: no credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE/);
    } finally {
      process.env = env;
    }

    const follow = logSourceSpec.stream.safeParse({ path: 's3://lake/logs/access-1.log', format: 'apache_common', follow: true });
    assert.equal(follow.success, false);
    assert.match(follow.error!.message, /`follow` tails a local file as it grows: an s3:\/\/ object is never appended to/);
  });
});
