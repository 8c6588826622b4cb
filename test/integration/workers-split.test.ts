// One stream of many files spread over `sluice worker` processes: the run cuts what is left to read into slices, one
// task per file, each committing its rows with its own slice state. Every row lands once, the run counts the stream
// once, the slices' progress is folded into the stream's state (no slice state is left), a re-run reads only new
// files, and a worker SIGKILLed in the middle of a slice loses nothing: its slice is taken over and resumes from its
// own last commit.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PG_URL, pgQuery, sluice, sluiceBin, tempDir, until } from '../helpers.js';

const tag = randomBytes(4).toString('hex');
const schema = `split_${tag}`;
const control = `split_ctl_${tag}`;
const queue = `sluice-split-${tag}`;
const { dir, cleanup } = tempDir('sluice-split-');
const env = { SLUICE_CONTROL_URL: `${PG_URL}?schema=${control}`, SLUICE_QUEUE: queue };
const workers: { child: ChildProcess; log: string[] }[] = [];

/** Part file `n` with `rows` rows; ids are unique across files (n × 1,000,000 + i). */
function writePart(n: number, rows: number): void {
  const lines = Array.from({ length: rows }, (_, i) => `${n * 1_000_000 + i},part ${n} row ${i},${(i % 997) / 10}`);
  writeFileSync(join(dir, 'parts', `p${n}.csv`), `id,label,amount\n${lines.join('\n')}\n`);
}

before(() => {
  mkdirSync(join(dir, 'parts'));
  for (let n = 1; n <= 6; n++) writePart(n, 20_000);
  writeFileSync(join(dir, 'pipeline.yaml'), `pipeline: split
checkpoint_rows: 2000
sources:
  - name: files
    type: csv
    streams:
      - { name: events, path: "parts/*.csv", write: append, columns: { id: integer } }
destination: { type: postgres, url: "${PG_URL}", schema: ${schema} }
`);
});

after(async () => {
  for (const w of workers) w.child.kill('SIGKILL');
  await pgQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE; DROP SCHEMA IF EXISTS ${control} CASCADE`);
  const { Queue } = await import('bullmq');
  const q = new Queue(queue, { connection: { url: 'redis://127.0.0.1:6379' } });
  await q.obliterate({ force: true }).catch(() => undefined);
  await q.close();
  cleanup();
});

function startWorker(n: number): (typeof workers)[number] {
  const child = spawn(process.execPath, [sluiceBin, 'worker', '--lock-ms', '1500', '--concurrency', '2'], {
    env: { ...process.env, ...env, SLUICE_HOME: join(dir, `worker-${n}`) }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  const log: string[] = [];
  child.stderr!.on('data', (d: Buffer) => log.push(...d.toString().split('\n').filter(Boolean)));
  const w = { child, log };
  workers.push(w);
  return w;
}

interface Summary { status: string; streams: Record<string, { extracted: number; loaded: number; inserted: number; dead_lettered: number; filtered: number }> }

const run = async (): Promise<Summary> => {
  const r = await sluice(['run', join(dir, 'pipeline.yaml'), '--workers', '--json'], { home: dir, env });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Summary;
};

const counts = async () => {
  const [r] = await pgQuery(`SELECT count(*) AS n, count(DISTINCT id) AS d FROM ${schema}.events`);
  return { rows: Number(r.n), distinct: Number(r.d) };
};

/** Slice states still in the destination, and the files the stream's own newest state records as done. */
const stateOf = async () => {
  // A folded slice keeps only a marker version (the fence for a late task of it): not a slice state left.
  const slices = await pgQuery(`SELECT DISTINCT stream FROM ${schema}._sluice_state WHERE stream LIKE 'events#%' AND NOT state ? 'folded'`);
  const [own] = await pgQuery(`SELECT state FROM ${schema}._sluice_state WHERE pipeline = 'split' AND stream = 'events' ORDER BY version DESC LIMIT 1`);
  const files = (own?.state as { files?: Record<string, { done: boolean; records: number }> } | undefined)?.files ?? {};
  return { slices: slices.length, done: Object.entries(files).filter(([, f]) => f.done).map(([k]) => k).sort() };
};

const sliceLines = (w: (typeof workers)[number], what: string) => w.log.filter((l) => l.includes('"slice":') && l.includes(what));

test('a stream of six files runs as six slices over two workers, each row once; a re-run reads only new files', async () => {
  const pool = [startWorker(1), startWorker(2)];
  await until('two workers connected', () => pool.every((w) => w.log.some((l) => l.includes('worker ready'))));

  const first = await run();
  assert.equal(first.status, 'success');
  assert.deepEqual(first.streams.events, { extracted: 120_000, loaded: 120_000, inserted: 120_000, updated: 0, deleted: 0, dead_lettered: 0, filtered: 0 });
  assert.deepEqual(await counts(), { rows: 120_000, distinct: 120_000 });
  // Each file was its own task, and both workers took some.
  assert.equal(pool.reduce((n, w) => n + sliceLines(w, 'task finished').length, 0), 6);
  assert.ok(pool.every((w) => sliceLines(w, 'task finished').length > 0), 'both workers loaded slices');
  // The slices' progress is the stream's now: no slice state is left, every file is recorded as read.
  assert.deepEqual(await stateOf(), { slices: 0, done: [1, 2, 3, 4, 5, 6].map((n) => `parts/p${n}.csv`) });

  const again = await run();
  assert.equal(again.streams.events.extracted, 0, 'nothing new to read');
  assert.equal((await counts()).rows, 120_000);

  // New files, larger, and a worker SIGKILLed while it loads one of them.
  for (let n = 7; n <= 9; n++) writePart(n, 150_000);
  const third = run();
  // A worker that started more slices than it finished is loading one now.
  let victim: (typeof workers)[number] | undefined;
  const end = Date.now() + 30_000;
  while (!victim && Date.now() < end) {
    victim = pool.find((w) => sliceLines(w, 'task started').length > sliceLines(w, 'task finished').length);
    if (!victim) await new Promise((r) => setTimeout(r, 10));
  }
  assert.ok(victim, 'a worker was caught loading a slice');
  victim.child.kill('SIGKILL');
  const caught = /"slice":\["([^"]+)"\]/.exec(sliceLines(victim, 'task started').at(-1)!)![1];
  const summary = await third;
  // Unless it finished in the instant before the kill, its slice was taken over by the other worker.
  if (!sliceLines(victim, 'task finished').some((l) => l.includes(caught))) {
    const other = pool.find((w) => w !== victim)!;
    assert.ok(sliceLines(other, 'task finished').some((l) => l.includes(caught)), `the other worker finished ${caught}`);
  }
  assert.equal(summary.status, 'success');
  assert.equal(summary.streams.events.loaded, 450_000);
  assert.deepEqual(await counts(), { rows: 570_000, distinct: 570_000 });
  assert.deepEqual(await stateOf(), { slices: 0, done: [1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => `parts/p${n}.csv`) });
});

test('slices left unfolded (their dispatching run died) are folded by the next task of the stream, which reads only the rest', async () => {
  const { loadPipelineFile } = await import('../../src/config/load.js');
  const { planTasks } = await import('../../src/engine/runner.js');
  const { openRunParts } = await import('../../src/engine/run-parts.js');
  const { runStreamTask } = await import('../../src/engine/stream-task.js');
  const { openControlStore } = await import('../../src/control/open.js');
  const { silentLogger } = await import('../../src/core/logger.js');
  const sub = join(dir, 'leftover');
  mkdirSync(join(sub, 'in'), { recursive: true });
  for (let n = 1; n <= 4; n++) writeFileSync(join(sub, 'in', `f${n}.csv`), `id\n${Array.from({ length: 1000 }, (_, i) => n * 10_000 + i).join('\n')}\n`);
  const file = join(sub, 'pipeline.yaml');
  writeFileSync(file, `pipeline: leftover
sources:
  - { name: files, type: csv, streams: [{ name: rows, path: "in/*.csv", write: append, columns: { id: integer } }] }
destination: { type: postgres, url: "${PG_URL}", schema: ${schema} }
`);
  const loaded = await loadPipelineFile(file);
  const [task] = planTasks(loaded, {}, 'r-died');
  const ctx = { pipeline: 'leftover', runId: 'r-died', logger: silentLogger(), signal: new AbortController().signal, baseDir: sub, home: sub, batchSize: 500 };
  const parts = await openRunParts(loaded, [task], ctx);
  const store = openControlStore(sub);
  try {
    const source = parts.sources.get('files')!;
    const slices = (await source.slices!(task.stream, undefined, ctx))!;
    assert.deepEqual(slices.map((s) => s.files), [['in/f1.csv'], ['in/f2.csv'], ['in/f3.csv'], ['in/f4.csv']]);
    assert.deepEqual((await source.slices!(task.stream, undefined, ctx))!.map((s) => s.id), slices.map((s) => s.id), 'a file is the same slice on every plan');
    // Two slices load, then their run dies before folding them.
    for (const slice of slices.slice(0, 2)) {
      const r = await runStreamTask({ ...task, slice }, { source, destination: parts.destination, store, ctx });
      assert.equal(r.counts.loaded, 1000);
    }
    assert.equal((await parts.destination.sliceStates!('leftover', 'rows')).size, 2);
    assert.equal(await parts.destination.readState('leftover', 'rows'), undefined);
  } finally {
    await parts.close();
    await store.close();
  }
  // The next run, here one process without workers, reads the two files the slices did not.
  const r = await sluice(['run', file, '--json'], { home: sub, env: { SLUICE_CONTROL_URL: '' } });
  assert.equal(r.code, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout) as Summary).streams.rows.loaded, 2000);
  const [c] = await pgQuery(`SELECT count(*) AS n, count(DISTINCT id) AS d FROM ${schema}.rows`);
  assert.deepEqual([Number(c.n), Number(c.d)], [4000, 4000]);
  assert.equal((await pgQuery(`SELECT 1 FROM ${schema}._sluice_state WHERE stream LIKE 'rows#%' AND NOT state ? 'folded'`)).length, 0, 'no slice state left');
});

test('a large table is split into ranges of its key, one task each, merged once', async () => {
  const src = `split_src_${tag}`;
  await pgQuery(`DROP SCHEMA IF EXISTS ${src} CASCADE; CREATE SCHEMA ${src};
    CREATE TABLE ${src}.accounts (id bigint PRIMARY KEY, name text, balance numeric(12,2));
    INSERT INTO ${src}.accounts SELECT g, 'account ' || g, g * 1.5 FROM generate_series(1, 10000) g;
    ANALYZE ${src}.accounts`);
  try {
    const pool = [startWorker(3), startWorker(4)];
    await until('two more workers connected', () => pool.every((w) => w.log.some((l) => l.includes('worker ready'))));
    const file = join(dir, 'table.yaml');
    writeFileSync(file, `pipeline: split-table
sources:
  - name: db
    type: postgres
    url: "${PG_URL}"
    streams:
      - { name: accounts, table: ${src}.accounts, primary_key: [id], write: merge, slice_rows: 2000 }
destination: { type: postgres, url: "${PG_URL}", schema: ${schema} }
`);
    const runTable = async () => {
      const r = await sluice(['run', file, '--workers', '--json'], { home: dir, env });
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as Summary;
    };
    const tasks = () => workers.reduce((n, w) => n + w.log.filter((l) => l.includes('"stream":"accounts"') && l.includes('"slice":') && l.includes('task finished')).length, 0);
    const first = await runTable();
    assert.equal(first.status, 'success');
    assert.equal(first.streams.accounts.loaded, 10_000);
    assert.equal(tasks(), 5, '10,000 rows by 2,000: five ranges of the key, a task each');
    const [c] = await pgQuery(`SELECT count(*) AS n, count(DISTINCT id) AS d, sum(balance)::text AS s FROM ${schema}.accounts`);
    assert.deepEqual([Number(c.n), Number(c.d), c.s], [10_000, 10_000, '75007500.00']);

    // The next run reads the table whole again and merges: changed rows change, none doubles.
    await pgQuery(`UPDATE ${src}.accounts SET balance = 0 WHERE id % 1000 = 0`);
    const second = await runTable();
    assert.equal(second.streams.accounts.loaded, 10_000);
    assert.equal(tasks(), 10);
    const [d] = await pgQuery(`SELECT count(*) AS n, count(*) FILTER (WHERE balance = 0) AS z FROM ${schema}.accounts`);
    assert.deepEqual([Number(d.n), Number(d.z)], [10_000, 10]);
    assert.equal((await pgQuery(`SELECT 1 FROM ${schema}._sluice_state WHERE stream LIKE 'accounts#%' AND NOT state ? 'folded'`)).length, 0, 'no slice state left');
  } finally {
    await pgQuery(`DROP SCHEMA IF EXISTS ${src} CASCADE`);
  }
});

test('MariaDB and SQLite tables split into key ranges too, each row once', async () => {
  const { TARGETS } = await import('../conformance/targets.js');
  const { openDatabase } = await import('../../src/core/sqlite-driver.js');
  const maria = await TARGETS.find((t) => t.name === 'mysql')!.create();
  try {
    const url = /url: (\S+)/.exec(maria.destination)![1];
    await maria.query('CREATE TABLE people (id BIGINT PRIMARY KEY, name VARCHAR(40))');
    await maria.query(`INSERT INTO people VALUES ${Array.from({ length: 6000 }, (_, i) => `(${i + 1}, 'person ${i + 1}')`).join(', ')}`);
    await maria.query('ANALYZE TABLE people');
    const lite = join(dir, 'shop.sqlite');
    const db = openDatabase(lite);
    db.exec(`CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT);
      WITH RECURSIVE g(n) AS (SELECT -2999 UNION ALL SELECT n + 1 FROM g WHERE n < 3000) INSERT INTO items SELECT n, 'item ' || n FROM g`);
    db.close();
    const file = join(dir, 'tables.yaml');
    writeFileSync(file, `pipeline: split-tables
sources:
  - name: maria
    type: mysql
    url: ${url}
    streams:
      - { name: people, primary_key: [id], write: merge, slice_rows: 1500 }
  - name: lite
    type: sqlite
    path: shop.sqlite
    streams:
      - { name: items, primary_key: [id], write: append, slice_rows: 2000 }
destination: { type: postgres, url: "${PG_URL}", schema: ${schema} }
`);
    const tasks = (stream: string) => workers.reduce((n, w) => n + w.log.filter((l) => l.includes(`"stream":"${stream}"`) && l.includes('"slice":') && l.includes('task finished')).length, 0);
    const r = await sluice(['run', file, '--workers', '--json'], { home: dir, env });
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout) as Summary;
    assert.equal(summary.streams.people.loaded, 6000);
    assert.equal(summary.streams.items.loaded, 6000);
    // InnoDB's row estimate is near, not exact: about four ranges of 1,500.
    assert.ok(tasks('people') >= 3, `people in ${tasks('people')} ranges`);
    assert.equal(tasks('items'), 3, '6,000 rows (negative keys too) by 2,000');
    for (const [table, lo, hi] of [['people', 1, 6000], ['items', -2999, 3000]] as const) {
      const [c] = await pgQuery(`SELECT count(*) AS n, count(DISTINCT id) AS d, min(id) AS lo, max(id) AS hi FROM ${schema}.${table}`);
      assert.deepEqual([Number(c.n), Number(c.d), Number(c.lo), Number(c.hi)], [6000, 6000, lo, hi], table);
    }
  } finally {
    await maria.cleanup();
  }
});

test('a child API stream is split into shares of its parents, a task each, every child fetched once', async () => {
  const { createServer } = await import('node:http');
  const hits = new Map<string, number>();
  const server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    const page = Number(url.searchParams.get('page') ?? '1');
    const votes = /^\/bills\/(\d+)\/votes$/.exec(url.pathname);
    if (votes) hits.set(votes[1], (hits.get(votes[1]) ?? 0) + 1);
    const body = votes
      ? { items: Array.from({ length: 20 }, (_, i) => ({ id: Number(votes[1]) * 100 + i, bill: Number(votes[1]) })) }
      : { items: page > 3 ? [] : Array.from({ length: 10 }, (_, i) => ({ id: (page - 1) * 10 + i + 1 })) };
    setTimeout(() => res.end(JSON.stringify(body)), 20);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const file = join(dir, 'api.yaml');
    writeFileSync(file, `pipeline: split-api
sources:
  - name: api
    type: rest
    base_url: http://127.0.0.1:${(server.address() as { port: number }).port}
    streams:
      - { name: bills, path: /bills, records: items, paginate: { type: page, param: page, start: 1 }, primary_key: [id] }
      - { name: votes, path: "/bills/{{parent.id}}/votes", parent: bills, records: items, primary_key: [id], write: merge, parent_slices: 3 }
destination: { type: postgres, url: "${PG_URL}", schema: ${schema} }
`);
    const r = await sluice(['run', file, '--workers', '--json'], { home: dir, env });
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout) as Summary;
    assert.equal(summary.streams.bills.loaded, 30);
    assert.equal(summary.streams.votes.loaded, 600);
    const tasks = workers.reduce((n, w) => n + w.log.filter((l) => l.includes('"stream":"votes"') && l.includes('"slice":') && l.includes('task finished')).length, 0);
    assert.equal(tasks, 3, 'three shares of the parents, a task each');
    // Each share listed the parents itself, but every parent's children were fetched by one task only.
    assert.equal(hits.size, 30);
    assert.ok([...hits.values()].every((n) => n === 1), JSON.stringify([...hits]));
    const [c] = await pgQuery(`SELECT count(*) AS n, count(DISTINCT id) AS d, count(DISTINCT bill) AS b FROM ${schema}.votes`);
    assert.deepEqual([Number(c.n), Number(c.d), Number(c.b)], [600, 600, 30]);
  } finally {
    server.close();
  }
});
