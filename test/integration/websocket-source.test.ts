// The websocket source against a real `ws` server on loopback: subscribe and micro-batches, a dropped socket, a
// half-open connection caught by the heartbeat, malformed frames to the DLQ, auth, and the real CLI stopped by SIGTERM
// (the in-flight micro-batch commits, exit 0) and run again (the subscribe carries the committed offset).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunContext, StreamConfig } from '../../src/core/connector.js';
import { RunError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import type { Batch, Row, StreamState } from '../../src/core/types.js';
import { websocketSourceConfig, websocketSourceSpec } from '../../src/connectors/websocket/websocket-spec.js';
import { compareOffsets, renderTemplate } from '../../src/connectors/websocket/ws-messages.js';
import { capturingLogger, duckQuery, sluiceBin, tempDir } from '../helpers.js';
import { WsFeedServer } from '../support/ws-feed-server.js';

async function until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const SUBSCRIBE = '{"op":"subscribe","channel":"trades","from":"{{offset}}"}';

function ctxFor(over: Partial<RunContext> = {}): RunContext {
  return {
    pipeline: 'p', runId: 'r1', logger: silentLogger(), signal: new AbortController().signal,
    baseDir: '.', home: '.', batchSize: 1000, ...over,
  };
}

/** A source and one stream of it, parsed by the spec as a pipeline file would be. */
async function setup(config: Record<string, unknown>, streamKeys: Record<string, unknown>) {
  const source = await websocketSourceSpec.create(websocketSourceConfig.parse(config));
  const stream: StreamConfig = {
    name: 'trades', primary_key: ['seq'], write: 'merge', on_schema_change: 'widen',
    ...websocketSourceSpec.stream.parse({ subscribe: SUBSCRIBE, filter: { type: 'trade' }, records: 'data', offset: 'seq', ...streamKeys }),
  };
  return { source, stream };
}

const seqs = (batches: Batch[]): number[] => batches.flatMap((b) => b.rows.map((r: Row) => r.seq as number));
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const offsetOf = (b: Batch): unknown => (b.checkpoint?.connector as { offset?: unknown } | undefined)?.offset;

test('websocket: subscribe, records land in micro-batches cut by size and by time, each with its offset', { timeout: 30_000 }, async () => {
  const server = await WsFeedServer.start();
  try {
    server.produce(120);
    const { source, stream } = await setup({ url: server.url }, { max_batch_ms: 200, max_records: 130 });
    const it = source.read(stream, undefined, ctxFor({ batchSize: 50 }))[Symbol.asyncIterator]();
    const batches: Batch[] = [];
    const next = async (): Promise<Batch> => {
      const r = await it.next();
      assert.equal(r.done, false, 'the stream is still running');
      batches.push(r.value);
      return r.value;
    };
    assert.equal((await next()).rows.length, 50, 'a full batch by size');
    assert.equal((await next()).rows.length, 50);
    const t0 = Date.now();
    assert.equal((await next()).rows.length, 20, 'the rest, cut by max_batch_ms');
    assert.ok(Date.now() - t0 < 1500, 'a partial batch does not wait for more records');
    server.produce(5);
    assert.equal((await next()).rows.length, 5, 'a later trickle commits on its own');
    server.produce(10);
    const last = await next();
    assert.equal(last.rows.length, 5, 'max_records ends the stream exactly at 130');
    assert.equal((await it.next()).done, true);

    assert.deepEqual(seqs(batches), range(1, 130));
    assert.deepEqual(batches.map(offsetOf), [50, 100, 120, 125, 130], 'each checkpoint carries the last offset of its batch');
    assert.ok(batches.every((b) => b.flush === true && b.checkpoint?.version === 1), 'micro-batches commit at once');
    assert.deepEqual(batches[0].rows[0], { seq: 1, sym: 'XYZ', price: 1.25 }, 'records are the messages\' `data`');
    assert.equal(server.subscribes.length, 1);
    assert.equal(server.subscribes[0].from, '', 'a first run subscribes without an offset');
    await source.close?.();
  } finally {
    await server.close();
  }
});

test('websocket: the server drops the socket mid-stream → reconnect, resume from the last offset, no loss, no duplicates', { timeout: 30_000 }, async () => {
  const server = await WsFeedServer.start();
  try {
    server.perMessage = 4;
    server.dropAfter = 122; // inside the message carrying 121..124
    server.produce(300);
    const { logger, lines } = capturingLogger();
    const { source, stream } = await setup({ url: server.url, reconnect: { initial_ms: 20 } }, { max_records: 300, max_batch_ms: 50 });
    const state: StreamState = { version: 1, cursor: { column: 'seq', value: null } };
    const batches: Batch[] = [];
    for await (const b of source.read(stream, state, ctxFor({ batchSize: 64, logger }))) batches.push(b);

    assert.deepEqual(seqs(batches), range(1, 300), 'every record once, in order');
    assert.equal(server.connections, 2, 'one reconnect');
    assert.equal(server.subscribes[1].from, '124', 'the re-subscribe asks from the last offset received');
    assert.equal(offsetOf(batches[batches.length - 1]), 300);
    assert.deepEqual(batches[0].checkpoint?.cursor, state.cursor, 'the checkpoint keeps the engine\'s state fields');
    assert.ok(lines.some((l) => l.includes('websocket dropped')), 'the drop is logged');
  } finally {
    await server.close();
  }
});

test('websocket: a consumer that stops pulling pauses the socket (bounded memory) and resumes without loss', { timeout: 30_000 }, async () => {
  const server = await WsFeedServer.start();
  try {
    const total = 20_000;
    server.padding = 2000; // ~40 MB in all: far more than the queue may hold
    server.produce(total);
    const heartbeat = { interval_ms: 100, timeout_ms: 200 };
    const { source, stream } = await setup({ url: server.url, heartbeat }, { max_records: total });
    const it = source.read(stream, undefined, ctxFor({ batchSize: 100 }))[Symbol.asyncIterator]();
    const first = await it.next();
    assert.equal(first.value?.rows.length, 100);
    // The engine is busy (a slow load): nothing pulls for a while.
    await new Promise((r) => setTimeout(r, 700));
    const waiting = server.buffered();
    assert.ok(waiting > 10_000_000, `the rest waits on the server, not in the client's memory (${waiting} bytes buffered there)`);
    let n = 100;
    let expected = 101;
    let ordered = true;
    for (let r = await it.next(); !r.done; r = await it.next()) {
      for (const row of r.value.rows) ordered &&= row.seq === expected++;
      n += r.value.rows.length;
    }
    assert.equal(n, total);
    assert.ok(ordered, 'every record once, in order');
    assert.equal(server.connections, 1, 'a paused connection is not taken for a dead one');
  } finally {
    await server.close();
  }
});

for (const mode of ['protocol ping', 'application ping message'] as const) {
  test(`websocket: heartbeat (${mode}) — a server that stops answering is dropped and the stream reconnects`, { timeout: 30_000 }, async () => {
    const server = await WsFeedServer.start();
    try {
      const heartbeat = { interval_ms: 100, timeout_ms: 200, ...(mode === 'protocol ping' ? {} : { message: { op: 'ping' } }) };
      const { logger, lines } = capturingLogger();
      const { source, stream } = await setup({ url: server.url, heartbeat, reconnect: { initial_ms: 20 } }, { max_records: 20, max_batch_ms: 50 });
      const it = source.read(stream, undefined, ctxFor({ logger }))[Symbol.asyncIterator]();
      const batches: Batch[] = [];
      const first = it.next();
      await server.waitForSubscribes(1);
      server.produce(10);
      batches.push((await first).value as Batch);
      // Quiet but healthy: the heartbeats are answered, so the connection stays.
      const pending = it.next();
      await new Promise((r) => setTimeout(r, 600));
      assert.equal(server.connections, 1, 'an answered heartbeat keeps the connection');

      server.silent.add(1); // half-open from now on: no pongs, no records
      const silentAt = Date.now();
      server.produce(10);
      batches.push((await pending).value as Batch);
      const detectedMs = Date.now() - silentAt;
      for (let r = await it.next(); !r.done; r = await it.next()) batches.push(r.value);

      assert.equal(server.connections, 2, 'reconnected after the heartbeat timeout');
      assert.ok(detectedMs < 2000, `detected within the heartbeat window (${detectedMs} ms)`);
      assert.equal(server.subscribes[1].from, '10', 'resumed after the last record');
      assert.deepEqual(seqs(batches), range(1, 20));
      assert.ok(lines.some((l) => l.includes('no answer to a heartbeat within 200 ms')), 'the reason is logged');
    } finally {
      await server.close();
    }
  });
}

test('websocket: malformed messages go to the DLQ with url and message number; others are ignored, not counted', { timeout: 30_000 }, async () => {
  const server = await WsFeedServer.start();
  const token = 'tok-7f3a9c2e-secret';
  try {
    server.requireToken = token;
    const { source, stream } = await setup({ url: server.url, auth: { type: 'bearer', token } }, { max_records: 5 });
    const it = source.read(stream, undefined, ctxFor({ batchSize: 1000 }))[Symbol.asyncIterator]();
    const all = (async () => {
      const out: Batch[] = [];
      for (let r = await it.next(); !r.done; r = await it.next()) out.push(r.value);
      return out;
    })();
    await server.waitForSubscribes(1);
    server.produce(3); // messages 2..4 (message 1 is the subscribe acknowledgement)
    server.sendRaw('not json {'); // 5
    server.sendRaw(JSON.stringify({ type: 'status', ok: true })); // 6: filtered out
    server.sendRaw(JSON.stringify({ type: 'trade', data: [42] })); // 7: not a record
    server.sendRaw(JSON.stringify({ type: 'trade' })); // 8: no records
    server.produce(2);
    const batches = await all;

    assert.deepEqual(seqs(batches), range(1, 5));
    const rejected = batches.flatMap((b) => b.rejected ?? []);
    assert.equal(rejected.length, 2);
    assert.equal(rejected[0].stage, 'parse');
    assert.match(rejected[0].reason, /^invalid JSON/);
    assert.equal(rejected[0].raw, 'not json {');
    assert.deepEqual(rejected[0].position, { url: server.url, offset: 5 });
    assert.match(rejected[1].reason, /expected a record object at "data", got number/);
    assert.deepEqual(rejected[1].position, { url: server.url, offset: 7 });
    assert.equal(server.authorizations[0], `Bearer ${token}`, 'the bearer token is sent');

    const wrong = await setup({ url: server.url, auth: { type: 'bearer', token: 'wrong-token-0000' }, reconnect: { initial_ms: 10 } }, {});
    const before = server.handshakes;
    await assert.rejects(async () => {
      for await (const _ of wrong.source.read(wrong.stream, undefined, ctxFor())) { /* nothing arrives */ }
    }, (e: unknown) => e instanceof RunError && /HTTP 401/.test(e.message) && !e.message.includes('wrong-token-0000'));
    assert.equal(server.handshakes, before + 1, 'a refused handshake is not retried');
  } finally {
    await server.close();
  }
});

/** `sluice run` in a child process (debug logs), stopped with SIGTERM once `ready` resolves; `ready` sees its stderr. */
function runUntilStopped(file: string, home: string, env: NodeJS.ProcessEnv, ready: (stderr: () => string) => Promise<void>):
  Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [sluiceBin, 'run', file, '--json', '--log-level', 'debug'], {
      env: { ...process.env, SLUICE_HOME: home, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', fail);
    child.on('close', (code, signal) => done({ code, signal, stdout, stderr }));
    ready(() => stderr).then(() => child.kill('SIGTERM'), (e) => {
      child.kill('SIGKILL');
      fail(e);
    });
  });
}

test('websocket end to end: SIGTERM commits the in-flight micro-batch and exits 0; the next run resumes from the stored offset', { timeout: 30_000 }, async () => {
  const server = await WsFeedServer.start();
  const { dir, cleanup } = tempDir('sluice-ws-');
  const token = 'ws-e2e-token-51c0ffee';
  try {
    server.requireToken = token;
    const home = join(dir, 'home');
    const file = join(dir, 'pipeline.yaml');
    writeFileSync(file, `pipeline: ws-e2e
batch_size: 100
sources:
  - name: feed
    type: websocket
    url: ${server.url}
    auth: { type: bearer, token: "\${WS_TOKEN}" }
    streams:
      - name: trades
        subscribe: '${SUBSCRIBE}'
        filter: { type: trade }
        records: data
        offset: seq
        max_batch_ms: 60000
        primary_key: seq
        write: merge
`);
    const env = { WS_TOKEN: token };

    const first = await runUntilStopped(file, home, env, async (stderr) => {
      await server.waitForSubscribes(1);
      server.produce(250);
      // 200 records commit by size (batch_size 100); the last 50 wait for max_batch_ms (a minute) and are in flight
      // when the stop comes. After the second commit the engine is already pulling them: stop then.
      await server.delivered();
      await until(() => (stderr().match(/checkpoint committed/g) ?? []).length >= 2);
    });
    assert.equal(first.code, 0, first.stderr);
    const s1 = JSON.parse(first.stdout);
    assert.equal(s1.status, 'success');
    assert.deepEqual([s1.streams.trades.extracted, s1.streams.trades.loaded, s1.streams.trades.dead_lettered], [250, 250, 0]);
    assert.ok(!first.stderr.includes(token) && !first.stdout.includes(token), 'the token never reaches the output');
    const [r1] = await duckQuery(join(home, 'warehouse.duckdb'),
      'SELECT count(*)::INT AS n, count(DISTINCT seq)::INT AS k, min(seq)::INT AS lo, max(seq)::INT AS hi FROM trades');
    assert.deepEqual(r1, { n: 250, k: 250, lo: 1, hi: 250 }, 'every record sent before the stop, exactly once');

    const second = await runUntilStopped(file, home, env, async () => {
      await server.waitForSubscribes(2);
      server.produce(40);
      server.sendRaw('{"type":"trade","data":'); // truncated frame
      await server.delivered();
    });
    assert.equal(server.subscribes[1].from, '250', 'the subscribe carries the committed offset');
    assert.equal(second.code, 3, `a dead-lettered message makes it a partial success: ${second.stderr}`);
    const t = JSON.parse(second.stdout).streams.trades;
    assert.deepEqual([t.extracted, t.loaded, t.dead_lettered, t.filtered], [41, 40, 1, 0], 'the replayed record 250 is dropped; counts add up');
    assert.equal(t.extracted, t.loaded + t.dead_lettered + t.filtered);
    const [r2] = await duckQuery(join(home, 'warehouse.duckdb'),
      'SELECT count(*)::INT AS n, count(DISTINCT seq)::INT AS k, max(seq)::INT AS hi FROM trades');
    assert.deepEqual(r2, { n: 290, k: 290, hi: 290 });
  } finally {
    await server.close();
    cleanup();
  }
});

test('websocket: subscribe templates and offset order', () => {
  assert.equal(renderTemplate(SUBSCRIBE, 250), '{"op":"subscribe","channel":"trades","from":"250"}');
  assert.equal(renderTemplate(SUBSCRIBE, undefined), '{"op":"subscribe","channel":"trades","from":""}');
  assert.equal(renderTemplate('{"from":"{{offset}}"}', 'a"b'), '{"from":"a\\"b"}', 'a string offset is escaped inside JSON text');
  assert.equal(renderTemplate({ op: 'sub', from: '{{offset}}', tag: 'since-{{offset}}' }, 7), '{"op":"sub","from":7,"tag":"since-7"}');
  assert.equal(renderTemplate({ from: '{{offset}}' }, undefined), '{"from":null}');
  assert.equal(compareOffsets(9, 10), -1);
  assert.equal(compareOffsets('9', '10'), -1, 'digit strings compare as numbers');
  assert.equal(compareOffsets('18446744073709551617', '18446744073709551616'), 1, 'beyond 2^53, exactly');
  assert.equal(compareOffsets('2024-01-02T00:00:00Z', '2024-01-01T23:59:59Z'), 1);
  assert.equal(compareOffsets(5, '5'), 0);
});
