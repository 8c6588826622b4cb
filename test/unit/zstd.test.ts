// Zstandard files read like gzip ones: by magic bytes or by name, in small pieces, several frames in a row (where
// Node 24's own decoder stops after the first: see zstd.ts), and a truncated file fails instead of loading part of it. The .zst files are written by DuckDB (Node 20 cannot compress).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { collect, runContext, rowsOf, tempDir } from '../helpers.js';
import { ndjsonSourceSpec } from '../../src/connectors/ndjson/ndjson-spec.js';
import { codecOf } from '../../src/connectors/file-source/open.js';
import { createZstdDecompress } from '../../src/connectors/file-source/zstd.js';

async function zstdFile(dir: string, name: string, rows: number): Promise<string> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  const path = join(dir, name);
  try {
    await conn.run(`COPY (SELECT i AS id, 'name ' || i AS name FROM range(${rows}) t(i)) TO '${path}' (FORMAT json, COMPRESSION zstd)`);
  } finally {
    conn.closeSync();
    db.closeSync();
  }
  return path;
}

const expected = (rows: number): string => Array.from({ length: rows }, (_, i) => `{"id":${i},"name":"name ${i}"}\n`).join('');

/** The bytes in pieces of `size`, as a network or a file read may cut them. */
const pieces = (bytes: Buffer, size: number): Readable => Readable.from((function* () {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
})(), { objectMode: false });

test('zstd: any cut of the input, several frames; a truncated input fails', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const one = readFileSync(await zstdFile(dir, 'a.ndjson.zst', 20_000));
    const two = Buffer.concat([one, one]);
    for (const size of [1, 7, 4096, two.length]) {
      const d = await createZstdDecompress();
      const out = buffer(d);
      await pipeline(pieces(two, size), d);
      assert.equal((await out).toString(), expected(20_000).repeat(2), `pieces of ${size}`);
    }
    const d = await createZstdDecompress();
    const out = buffer(d).catch((e: Error) => e);
    await assert.rejects(pipeline(pieces(one.subarray(0, one.length - 9), 4096), d));
    assert.ok((await out) instanceof Error);
  } finally {
    cleanup();
  }
});

test('zstd: auto tells it by magic bytes or by name; a local .zst file loads through the source', async () => {
  assert.equal(codecOf('x.json', Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), 'auto'), 'zstd');
  assert.equal(codecOf('x.json.zst', Buffer.from('{"a"'), 'auto'), 'zstd');
  assert.equal(codecOf('x.json.zst', Buffer.from('{"a"'), 'none'), 'none');
  assert.equal(codecOf('x.json.zst', Buffer.alloc(0), 'auto'), 'none');
  assert.equal(codecOf('x.zst', Buffer.from([0x1f, 0x8b, 8, 0]), 'auto'), 'gzip');
  const { dir, cleanup } = tempDir();
  try {
    copyFileSync(await zstdFile(dir, 'events.ndjson.zst', 2500), join(dir, 'events-no-ext'));
    writeFileSync(join(dir, 'empty.ndjson.zst'), '');
    const read = async (keys: Record<string, unknown>) => {
      const opts = ndjsonSourceSpec.stream.parse(keys);
      const source = await ndjsonSourceSpec.create({});
      const batches = await collect(source.read({ name: 's', primary_key: [], write: 'append', on_schema_change: 'widen', ...opts }, undefined, runContext(dir)));
      return batches.flatMap(rowsOf);
    };
    for (const path of ['events.ndjson.zst', 'events-no-ext']) {
      const rows = await read({ path });
      assert.equal(rows.length, 2500, path);
      assert.deepEqual(rows[2499], { id: 2499, name: 'name 2499' });
    }
    assert.deepEqual(await read({ path: 'empty.ndjson.zst' }), []);
    assert.equal((await read({ path: 'events-no-ext', compression: 'zstd' })).length, 2500);
  } finally {
    cleanup();
  }
});
