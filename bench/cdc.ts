// `npm run bench -- cdc [seconds] [backlog]`: `sluice sync` in mode: cdc, PostgreSQL → PostgreSQL, beside PostgreSQL's
// own logical replication (CREATE SUBSCRIPTION into another database of the same server) as the limit.
//   latency     single-row transactions at 1,000 and 5,000 per second for `seconds` each (default 15; 0: skipped), from sixteen
//               connections; source commit → target write, per row (`sent_at` clock_timestamp() in the insert,
//               `arrived_at` the target column's default): p50/p95/p99/max.
//   throughput  a backlog of `backlog` rows (default 1M) in transactions of 1,000, written while the sync is stopped,
//               then `sluice sync --once` (the slot read from its position to the end): changes/s and peak RSS; and
//               the subscription's catch-up on the same backlog.
//   MariaDB     the same latency runs from MariaDB into PostgreSQL (the binary log; no native peer across engines).
// Both consumers stream all the while, each from its own table (so each decodes the other's WAL too, as the same
// server's replication would).
import mysql from 'mysql2/promise';
import pg from 'pg';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawn } from 'node:child_process';
import { measureSluice, sluiceBin } from './measure.js';

const URL = 'postgres://postgres@127.0.0.1:5432/test';
const NATIVE_DB = 'bench_cdc_native';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function q(sql: string, url = URL): Promise<Record<string, unknown>[]> {
  const c = new pg.Client(url);
  await c.connect();
  try {
    return (await c.query(sql)).rows;
  } finally {
    await c.end();
  }
}

async function setUp(): Promise<void> {
  await q(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name IN ('sluice_bench_cdc_a') AND NOT active`);
  const exists = await q(`SELECT 1 FROM pg_database WHERE datname = '${NATIVE_DB}'`);
  if (exists.length) {
    await q(`DROP SUBSCRIPTION IF EXISTS bench_cdc_sub`, URL.replace('/test', `/${NATIVE_DB}`)).catch(() => undefined);
    await q(`DROP DATABASE ${NATIVE_DB}`);
  }
  await q(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = 'bench_cdc_sub'`);
  const table = (extra = '') => `(id bigint PRIMARY KEY, sent_at timestamptz NOT NULL, payload text, n int${extra})`;
  await q(`DROP PUBLICATION IF EXISTS bench_cdc_pub; DROP PUBLICATION IF EXISTS sluice_bench_cdc_a;
    DROP SCHEMA IF EXISTS bench_cdc_a CASCADE; DROP SCHEMA IF EXISTS bench_cdc_b CASCADE;
    CREATE SCHEMA bench_cdc_a; CREATE SCHEMA bench_cdc_b;
    CREATE TABLE bench_cdc_a.events ${table()}; CREATE TABLE bench_cdc_a.native ${table()};
    CREATE TABLE bench_cdc_b.events ${table(', arrived_at timestamptz DEFAULT clock_timestamp()')};
    CREATE PUBLICATION bench_cdc_pub FOR TABLE bench_cdc_a.native`);
  await q(`CREATE DATABASE ${NATIVE_DB}`);
  const native = URL.replace('/test', `/${NATIVE_DB}`);
  await q(`CREATE SCHEMA bench_cdc_a; CREATE TABLE bench_cdc_a.native ${table(', arrived_at timestamptz DEFAULT clock_timestamp()')}`, native);
  // A subscription to the same server cannot create its slot (it would wait on its own transaction): made first.
  await q(`SELECT pg_create_logical_replication_slot('bench_cdc_sub', 'pgoutput')`);
  await q(`CREATE SUBSCRIPTION bench_cdc_sub CONNECTION 'host=127.0.0.1 user=postgres dbname=test' PUBLICATION bench_cdc_pub
    WITH (copy_data = false, create_slot = false, slot_name = 'bench_cdc_sub')`, native);
}

interface Writer { insert(id: number): Promise<unknown>; end(): Promise<void> }

const pgWriter = (table: string) => async (): Promise<Writer> => {
  const c = new pg.Client(URL);
  await c.connect();
  return {
    insert: (id) => c.query(`INSERT INTO bench_cdc_a.${table} (id, sent_at, payload, n) VALUES ($1, clock_timestamp(), $2, $3)`, [id, `event ${id} ${'x'.repeat(60)}`, id % 1000]),
    end: () => c.end(),
  };
};

const mariaWriter = async (): Promise<Writer> => {
  const c = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', database: 'bench_cdc' });
  return {
    insert: (id) => c.query('INSERT INTO events (id, sent_at, payload, n) VALUES (?, UTC_TIMESTAMP(6), ?, ?)', [id, `event ${id} ${'x'.repeat(60)}`, id % 1000]),
    end: () => c.end(),
  };
};

/** Single-row transactions at `rate` per second for `seconds`, ids from `first`, from sixteen connections. */
async function load(connect: () => Promise<Writer>, rate: number, seconds: number, first: number): Promise<number> {
  const workers = 16;
  let next = first;
  const t0 = performance.now();
  const last = first + rate * seconds;
  await Promise.all(Array.from({ length: workers }, async () => {
    const w = await connect();
    try {
      while (next < last) {
        const due = first + ((performance.now() - t0) / 1000) * rate;
        if (next >= due) {
          await sleep(1);
          continue;
        }
        await w.insert(next++);
      }
    } finally {
      await w.end();
    }
  }));
  const achieved = (last - first) / ((performance.now() - t0) / 1000);
  return achieved;
}

async function waitFor(sql: string, url: string, want: number): Promise<void> {
  for (;;) {
    const [r] = await q(sql, url);
    if (Number(r.c) >= want) return;
    await sleep(50);
  }
}

async function latency(table: string, url: string, lo: number, hi: number): Promise<string> {
  const [r] = await q(`SELECT percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY ms) AS p, max(ms) AS max FROM
    (SELECT extract(epoch FROM arrived_at - sent_at) * 1000 AS ms FROM ${table} WHERE id >= ${lo} AND id < ${hi}) x`, url);
  const [p50, p95, p99] = (r.p as number[]).map((v) => v.toFixed(1));
  return `${p50} / ${p95} / ${p99} / ${Number(r.max).toFixed(1)} ms`;
}

function rssOf(pid: number | undefined): number {
  try {
    return Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
  } catch {
    return NaN;
  }
}

export async function benchCdc(seconds: number, backlog: number): Promise<void> {
  const dir = resolve(import.meta.dirname, '..', '..', 'bench', '.data', 'cdc');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const home = join(dir, 'home');
  const file = join(dir, 'sync.yaml');
  writeFileSync(file, `sync: bench-cdc
change_log: ${process.env.BENCH_CHANGE_LOG ?? 'true'}
systems:
  a: { type: postgres, url: "${URL}", schema: bench_cdc_a }
  b: { type: postgres, url: "${URL}", schema: bench_cdc_b }
mode: cdc
tables:
  - { name: events, primary_key: id, direction: a_to_b }
`);
  await setUp();
  const native = URL.replace('/test', `/${NATIVE_DB}`);
  // The stream's snapshot (an empty table) and slot made once, before measuring.
  const first = await measureSluice(['sync', file, '--once'], { SLUICE_HOME: home });
  if (first.code !== 0) throw new Error(`sluice sync --once exited ${first.code}: ${first.stderr}`);
  const child = spawn(sluiceBin, ['sync', file], { env: { ...process.env, SLUICE_HOME: home }, stdio: ['ignore', 'ignore', 'inherit'] });
  let streamingRss = 0;
  const poll = setInterval(() => { streamingRss = Math.max(streamingRss, rssOf(child.pid) || 0); }, 200);
  await sleep(1500);
  const rows: string[] = [];
  let id = 1;
  for (const rate of seconds > 0 ? [1000, 5000] : []) {
    for (const [name, table, target, url] of [['sluice sync (mode: cdc)', 'events', 'bench_cdc_b.events', URL], ['CREATE SUBSCRIPTION', 'native', 'bench_cdc_a.native', native]] as const) {
      const lo = id;
      const achieved = await load(pgWriter(table), rate, seconds, lo);
      id = lo + rate * seconds;
      await waitFor(`SELECT count(*) AS c FROM ${target} WHERE id >= ${lo} AND id < ${id}`, url, id - lo);
      rows.push(`| ${name} | ${rate.toLocaleString('en-US')}/s (achieved ${Math.round(achieved).toLocaleString('en-US')}/s) | ${await latency(target, url, lo, id)} |`);
      console.log(rows[rows.length - 1]);
    }
  }
  clearInterval(poll);
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  if (seconds > 0) rows.push(...await mariadbLatency(dir, seconds));

  // Throughput: a backlog in 1,000-row transactions, then the stream (or the subscription) catches up.
  const fill = async (table: string) => {
    for (let at = 0; at < backlog; at += 100_000) {
      const n = Math.min(100_000, backlog - at);
      await q(`DO $$ BEGIN FOR k IN 0..${Math.ceil(n / 1000) - 1} LOOP
        INSERT INTO bench_cdc_a.${table} (id, sent_at, payload, n) SELECT g, clock_timestamp(), 'event ' || g || repeat('x', 60), g % 1000
          FROM generate_series(${id + at} + k * 1000, least(${id + at} + (k + 1) * 1000, ${id + at + n}) - 1) g;
        COMMIT; END LOOP; END $$`);
    }
  };
  await fill('events');
  const caughtUp = await measureSluice(['sync', file, '--once', '--json'], { SLUICE_HOME: home });
  if (caughtUp.code !== 0) throw new Error(`sluice sync --once exited ${caughtUp.code}: ${caughtUp.stderr}`);
  const applied = (JSON.parse(caughtUp.stdout) as { streams: { upserted: number; commits: number }[] }).streams[0];
  await q('ALTER SUBSCRIPTION bench_cdc_sub DISABLE', native);
  await fill('native');
  const t0 = performance.now();
  await q('ALTER SUBSCRIPTION bench_cdc_sub ENABLE', native);
  await waitFor(`SELECT count(*) AS c FROM bench_cdc_a.native WHERE id >= ${id}`, native, backlog);
  const nativeSeconds = (performance.now() - t0) / 1000;

  console.log(`\nCDC latency (single-row transactions, ${seconds} s per rate; p50 / p95 / p99 / max):`);
  console.log('| consumer | rate | latency |\n|---|---|---|');
  for (const r of rows) console.log(r);
  console.log(`\nthroughput, a backlog of ${backlog.toLocaleString('en-US')} rows in transactions of 1,000:`);
  console.log(`| consumer | changes/s | seconds | peak RSS |\n|---|---|---|---|`);
  console.log(`| sluice sync --once | ${Math.round(applied.upserted / caughtUp.seconds).toLocaleString('en-US')} | ${caughtUp.seconds.toFixed(2)} (${applied.commits} commits) | ${caughtUp.peakRssMb?.toFixed(0)} MB |`);
  console.log(`| CREATE SUBSCRIPTION | ${Math.round(backlog / nativeSeconds).toLocaleString('en-US')} | ${nativeSeconds.toFixed(2)} | - |`);
  console.log(`\nstreaming process peak RSS over the latency runs: ${streamingRss.toFixed(0)} MB`);
  await q(`DROP SUBSCRIPTION bench_cdc_sub`, native);
  // A slot left behind keeps the server's WAL forever.
  await q(`SELECT pg_drop_replication_slot('sluice_bench_cdc_a')`);
}

/** MariaDB → PostgreSQL: the binary log read and written into PostgreSQL (no native peer across engines). */
async function mariadbLatency(dir: string, seconds: number): Promise<string[]> {
  const maria = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', multipleStatements: true });
  await maria.query(`DROP DATABASE IF EXISTS bench_cdc; CREATE DATABASE bench_cdc;
    CREATE TABLE bench_cdc.events (id bigint PRIMARY KEY, sent_at datetime(6) NOT NULL, payload varchar(100), n int)`);
  await maria.end();
  await q(`CREATE TABLE bench_cdc_b.mevents (id bigint PRIMARY KEY, sent_at timestamptz NOT NULL, payload text, n int, arrived_at timestamptz DEFAULT clock_timestamp())`);
  const home = join(dir, 'home-maria');
  const file = join(dir, 'sync-maria.yaml');
  writeFileSync(file, `sync: bench-cdc-maria
systems:
  a: { type: postgres, url: "${URL}", schema: bench_cdc_b }
  b: { type: mysql, host: 127.0.0.1, user: root, database: bench_cdc }
mode: cdc
tables:
  - { name: { a: mevents, b: events }, primary_key: id, direction: b_to_a }
`);
  const first = await measureSluice(['sync', file, '--once'], { SLUICE_HOME: home });
  if (first.code !== 0) throw new Error(`sluice sync --once (MariaDB) exited ${first.code}: ${first.stderr}`);
  const child = spawn(sluiceBin, ['sync', file], { env: { ...process.env, SLUICE_HOME: home }, stdio: ['ignore', 'ignore', 'inherit'] });
  await sleep(1500);
  const rows: string[] = [];
  let id = 1;
  for (const rate of [1000, 5000]) {
    const lo = id;
    const achieved = await load(mariaWriter, rate, seconds, lo);
    id = lo + rate * seconds;
    await waitFor(`SELECT count(*) AS c FROM bench_cdc_b.mevents WHERE id >= ${lo} AND id < ${id}`, URL, id - lo);
    rows.push(`| sluice sync (mode: cdc), MariaDB → PostgreSQL | ${rate.toLocaleString('en-US')}/s (achieved ${Math.round(achieved).toLocaleString('en-US')}/s) | ${await latency('bench_cdc_b.mevents', URL, lo, id)} |`);
    console.log(rows[rows.length - 1]);
  }
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  return rows;
}
