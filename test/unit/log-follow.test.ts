// Follow mode driven directly (no CLI): byte offsets in checkpoints, partial lines, limits, drain and abort.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { runContext, tempDir } from '../helpers.js';
import { logSourceSpec } from '../../src/connectors/log/log-spec.js';
import type { FollowPosition } from '../../src/connectors/log/log-follow.js';
import type { StreamConfig } from '../../src/core/connector.js';
import { batchLength, type Batch, type StreamState } from '../../src/core/types.js';

const stream = (keys: Record<string, unknown>): StreamConfig =>
  ({ name: 's', primary_key: [], write: 'append', on_schema_change: 'widen', ...logSourceSpec.stream.parse(keys) });

/** Follow until `until` says enough was seen, then drain; every batch the source yields. */
async function follow(dir: string, keys: Record<string, unknown>, state: StreamState | undefined, until: (seen: number) => boolean, batchSize = 1000): Promise<Batch[]> {
  const drain = new AbortController();
  const out: Batch[] = [];
  let seen = 0;
  if (until(0)) drain.abort();
  for await (const b of (await logSourceSpec.create({})).read(stream(keys), state, runContext(dir, { drain: drain.signal, batchSize }))) {
    out.push(b);
    seen += batchLength(b) + (b.rejected?.length ?? 0);
    if (until(seen)) drain.abort();
  }
  return out;
}

const position = (b: Batch): FollowPosition => b.checkpoint!.connector!.follow as FollowPosition;
const values = (batches: Batch[]) => batches.flatMap((b) => b.rows.map((r) => r.n));

test('follow: offsets after whole lines only; CRLF, invalid UTF-8, overlong lines; batches flush; positions carry byte offsets', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const file = join(dir, 'app.log');
    const lines = ['{"n":1}\r\n', '\n', Buffer.from([0x7b, 0xff, 0x7d, 0x0a]), `{"n":2,"pad":"${'x'.repeat(80)}"}\n`, '{"n":3}\n', '{"n":'];
    writeFileSync(file, Buffer.concat(lines.map((l) => (typeof l === 'string' ? Buffer.from(l) : l))));
    const keys = { path: 'app.log', format: 'json', follow: true, poll_ms: 10, flush_ms: 20, max_record_bytes: 64 };
    const batches = await follow(dir, keys, undefined, (n) => n >= 4, 2);
    assert.ok(batches.every((b) => b.flush === true && b.checkpoint));
    assert.deepEqual(values(batches), [1, 3]);
    const rejects = batches.flatMap((b) => b.rejected ?? []);
    assert.deepEqual(rejects.map((r) => [r.reason.replace(/ \(.*/, ''), r.position.line, r.position.offset]), [
      ['invalid UTF-8', 3, 10], ['line longer than max_record_bytes', 4, 14],
    ]);
    const last = position(batches.at(-1)!);
    const size = statSync(file).size;
    // The unterminated `{"n":` is not consumed: the offset stops before it.
    assert.equal(last.offset, size - 5);
    assert.equal(last.line, 5);
    const third = batches.find((b) => b.rows.some((r) => r.n === 3))!;
    assert.deepEqual(third.positionOf!(third.rows.findIndex((r) => r.n === 3)), { file: 'app.log', line: 5, offset: size - 13 });

    // Resume: the finished partial line and nothing before it.
    appendFileSync(file, '4}\n');
    const resumed = await follow(dir, keys, batches.at(-1)!.checkpoint, (n) => n >= 1);
    assert.deepEqual(values(resumed), [4]);
    assert.deepEqual(resumed[0].positionOf!(0), { file: 'app.log', line: 6, offset: size - 5 });
    assert.equal(position(resumed.at(-1)!).offset, size + 3);

    // A state whose offset is past the end of the same file: truncated, read again from the start.
    const truncated = { ...batches.at(-1)!.checkpoint!, connector: { follow: { ...last, offset: 1_000_000 } } };
    assert.deepEqual(values(await follow(dir, keys, truncated, (n) => n >= 4)), [1, 3, 4]);
  } finally {
    cleanup();
  }
});

test('follow: rows pending are flushed after flush_ms; drain with nothing new ends at once', async () => {
  const { dir, cleanup } = tempDir();
  try {
    writeFileSync(join(dir, 'a.log'), '{"n":1}\n');
    const keys = { path: 'a.log', format: 'json', follow: true, poll_ms: 10, flush_ms: 30 };
    const t0 = Date.now();
    const batches = await follow(dir, keys, undefined, (n) => n >= 1, 1000);
    assert.deepEqual(values(batches), [1]);
    assert.ok(Date.now() - t0 >= 25, 'one row of a 1000-row batch waits for flush_ms');
    const idle = await follow(dir, keys, batches[0].checkpoint, () => true);
    assert.deepEqual(idle, []);
  } finally {
    cleanup();
  }
});

test('follow: a hard abort stops a waiting follower; a gzip file cannot be followed', async () => {
  const { dir, cleanup } = tempDir();
  try {
    writeFileSync(join(dir, 'a.log'), '');
    writeFileSync(join(dir, 'b.log'), gzipSync('{"n":1}\n'));
    const abort = new AbortController();
    const it = (await logSourceSpec.create({})).read(stream({ path: 'a.log', format: 'json', follow: true, poll_ms: 10_000 }), undefined,
      runContext(dir, { signal: abort.signal }))[Symbol.asyncIterator]();
    const next = it.next();
    setTimeout(() => abort.abort(new Error('stop')), 50);
    const t0 = Date.now();
    await assert.rejects(next, /stop/);
    assert.ok(Date.now() - t0 < 2000);
    await assert.rejects(follow(dir, { path: 'b.log', format: 'json', follow: true }, undefined, () => true), /gzip-compressed/);
  } finally {
    cleanup();
  }
});
