// One run spread over `sluice worker` processes on the local Redis (BullMQ) and PostgreSQL, as users start them:
// every stream is a task, the run's --json is the local run's, and a worker SIGKILLed in the middle of a task loses
// nothing: another takes the task over when its lock lapses and goes on from its last commit, so each row lands once
// and the run still counts the stream's rows once. A worker stopped (SIGSTOP) past its lock loses its task the same
// way and, woken, commits nothing more: the worker that took over claimed the stream's state (the fence). A worker
// stopped with SIGTERM finishes its task first. `sluice serve --workers` runs its pipelines the same way. A queue on a
// Redis that may evict keys, or a run without the shared control store, is refused before any work.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PG_URL, pgQuery, sluice, sluiceBin, tempDir, until } from '../helpers.js';
import { TOKEN, api, serve } from '../support/serve-process.js';

const tag = randomBytes(4).toString('hex');
const schema = `workers_${tag}`;
const control = `workers_ctl_${tag}`;
const queue = `sluice-test-${tag}`;
const PAGES = 40;
const PER_PAGE = 50;
const { dir, cleanup } = tempDir('sluice-workers-');
const env = { SLUICE_CONTROL_URL: `${PG_URL}?schema=${control}`, SLUICE_QUEUE: queue };
let server: Server;
let base = '';
const workers: { child: ChildProcess; log: string[]; exited: Promise<number | null> }[] = [];

/** A slow paged API: PAGES pages of PER_PAGE items, each answered after 80 ms, an empty page at the end. */
before(async () => {
  server = createServer((req, res) => {
    const page = Number(new URL(req.url!, 'http://x').searchParams.get('page') ?? '1');
    const items = page > PAGES ? [] : Array.from({ length: PER_PAGE }, (_, i) => ({ id: (page - 1) * PER_PAGE + i + 1, page }));
    setTimeout(() => res.end(JSON.stringify({ items })), 80);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  writeFileSync(join(dir, 'a.csv'), 'id,name\n' + Array.from({ length: 3000 }, (_, i) => `${i + 1},a${i + 1}`).join('\n') + '\n');
  writeFileSync(join(dir, 'b.csv'), 'id,name\n' + Array.from({ length: 2000 }, (_, i) => `${i + 1},b${i + 1}`).join('\n') + '\n');
  writeFileSync(join(dir, 'pipeline.yaml'), apiPipeline('spread', 'write: append', `  - name: files
    type: csv
    streams:
      - { name: a, path: a.csv, primary_key: [id], write: merge, columns: { id: integer } }
      - { name: b, path: b.csv, write: append, columns: { id: integer } }
`));
});

after(async () => {
  for (const w of workers) w.child.kill('SIGKILL');
  server?.close();
  await pgQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE; DROP SCHEMA IF EXISTS ${control} CASCADE`);
  const { Queue } = await import('bullmq');
  const q = new Queue(queue, { connection: { url: 'redis://127.0.0.1:6379' } });
  const q2 = new Queue(`${queue}-serve`, { connection: { url: 'redis://127.0.0.1:6379' } });
  await q.obliterate({ force: true }).catch(() => undefined);
  await q2.obliterate({ force: true }).catch(() => undefined);
  await q.close();
  await q2.close();
  cleanup();
});

function startWorker(n: number, own: NodeJS.ProcessEnv = {}): (typeof workers)[number] {
  const child = spawn(process.execPath, [sluiceBin, 'worker', '--lock-ms', '1500'], {
    env: { ...process.env, ...env, ...own, SLUICE_HOME: join(dir, `worker-${n}`) }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  const log: string[] = [];
  child.stderr!.on('data', (d: Buffer) => log.push(...d.toString().split('\n').filter(Boolean)));
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  const w = { child, log, exited };
  workers.push(w);
  return w;
}

/**
 * A pipeline whose stream `items` reads the slow API, committing every page (`keys`: the stream's other keys), then
 * `more` sources, into this test's schema.
 */
const apiPipeline = (name: string, keys: string, more = ''): string => `pipeline: ${name}
checkpoint_rows: 50
sources:
  - name: api
    type: rest
    base_url: ${base}
    # One request at a time: the task lasts its 40 pages × 80 ms, long enough to be caught in the middle.
    rate_limit: { concurrency: 1 }
    streams:
      - { name: items, path: /items, records: items, paginate: { type: page, param: page, start: 1 }, ${keys} }
${more}destination: { type: postgres, url: "${PG_URL}", schema: ${schema} }
`;

const count = async (table: string) => Number((await pgQuery(`SELECT count(*) AS n, count(DISTINCT id) AS d FROM ${schema}.${table}`))[0].n);

test('three workers run the streams of one run; a worker killed mid-task loses nothing; SIGTERM lets a task finish', async () => {
  const pool = [startWorker(1), startWorker(2), startWorker(3)];
  await until('three workers connected', async () => {
    const r = await sluice(['workers', '--json'], { home: dir, env });
    return (JSON.parse(r.stdout) as { workers: unknown[] }).workers.length === 3;
  });

  const run = sluice(['run', join(dir, 'pipeline.yaml'), '--workers', '--json'], { home: dir, env });
  // Once the API task has committed a few pages, kill the worker running it.
  let victim: (typeof workers)[number] | undefined;
  await until('the items task is running and has committed pages', async () => {
    victim = pool.find((w) => w.log.some((l) => l.includes('"stream":"items"') && l.includes('task started')));
    return !!victim && (await pgQuery(`SELECT to_regclass('${schema}.items') AS t`))[0].t !== null && await count('items') >= 5 * PER_PAGE;
  });
  const listed = JSON.parse((await sluice(['workers', '--json'], { home: dir, env })).stdout) as { tasks: { stream: string; state: string; worker: string }[] };
  assert.ok(listed.tasks.some((t) => t.stream === 'items' && t.state === 'running' && t.worker.endsWith(`:${victim!.child.pid}`)), JSON.stringify(listed));
  victim!.child.kill('SIGKILL');

  const r = await run;
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout) as { status: string; streams: Record<string, { extracted: number; loaded: number; dead_lettered: number; filtered: number; inserted: number }> };
  assert.equal(summary.status, 'success');
  assert.deepEqual(Object.keys(summary.streams).sort(), ['a', 'b', 'items']);
  // Every row once, and the run counts the items once, though two workers loaded them.
  assert.equal(await count('items'), PAGES * PER_PAGE);
  assert.equal(Number((await pgQuery(`SELECT count(DISTINCT id) AS d FROM ${schema}.items`))[0].d), PAGES * PER_PAGE);
  assert.equal(summary.streams.items.loaded, PAGES * PER_PAGE);
  assert.equal(summary.streams.items.extracted, PAGES * PER_PAGE);
  assert.equal(summary.streams.items.inserted, PAGES * PER_PAGE);
  assert.equal(await count('a'), 3000);
  assert.equal(await count('b'), 2000);
  const takers = pool.filter((w) => w !== victim && w.log.some((l) => l.includes('"stream":"items"') && l.includes('task finished')));
  assert.equal(takers.length, 1, 'another worker finished the task');
  // The run is recorded in the shared control store like a local one.
  const { runs } = JSON.parse((await sluice(['runs', '--pipeline', 'spread', '--json'], { home: dir, env })).stdout) as { runs: { run_id: string; status: string }[] };
  assert.deepEqual(runs.map((x) => x.status), ['success']);

  // A second run: nothing new to read for the files; the API stream (no cursor) appends its pages again.
  // SIGTERM the worker running `items` this time: it finishes the task before it exits.
  const alive = pool.filter((w) => w !== victim);
  const lines = (w: (typeof workers)[number], what: string) => w.log.filter((l) => l.includes('"stream":"items"') && l.includes(what)).length;
  const startedBefore = new Map(alive.map((w) => [w, lines(w, 'task started')]));
  const finishedBefore = new Map(alive.map((w) => [w, lines(w, 'task finished')]));
  const second = sluice(['run', join(dir, 'pipeline.yaml'), '--workers', '--json', '--stream', 'items'], { home: dir, env });
  let stopping: (typeof workers)[number] | undefined;
  await until('the second items task is running', () => {
    stopping = alive.find((w) => lines(w, 'task started') > startedBefore.get(w)!);
    return !!stopping;
  });
  stopping!.child.kill('SIGTERM');
  const r2 = await second;
  assert.equal(r2.code, 0, r2.stderr);
  assert.equal(await stopping!.exited, 0, 'the stopped worker exits cleanly');
  assert.equal(lines(stopping!, 'task finished'), finishedBefore.get(stopping!)! + 1, 'it finished the task it had');
  assert.equal(await count('items'), 2 * PAGES * PER_PAGE);
  // The rest stop too, so the next test's workers are the only ones on the queue.
  for (const w of alive) w.child.kill('SIGTERM');
  await Promise.all(alive.map((w) => w.exited));
});

test('a worker stalled past its lock loses its task and, woken, commits nothing: every row once', async () => {
  writeFileSync(join(dir, 'stalled.yaml'), apiPipeline('stalled', 'destination_table: items_stalled, write: append'));
  const pair = [startWorker(11), startWorker(12)];
  const started = (w: (typeof workers)[number]) => w.log.some((l) => l.includes('"stream":"items"') && l.includes('task started'));
  await until('two more workers connected', async () => pair.every((w) => w.log.some((l) => l.includes('worker ready'))));
  const run = sluice(['run', join(dir, 'stalled.yaml'), '--workers', '--json'], { home: dir, env });
  let victim: (typeof workers)[number] | undefined;
  await until('the task has committed pages', async () => {
    victim = pair.find(started);
    return !!victim && (await pgQuery(`SELECT to_regclass('${schema}.items_stalled') AS t`))[0].t !== null && await count('items_stalled') >= 5 * PER_PAGE;
  });
  victim!.child.kill('SIGSTOP');
  const other = pair.find((w) => w !== victim)!;
  // The other worker takes the task over and commits pages of its own before the stalled one wakes.
  await until('the task is taken over', () => started(other));
  const before = await count('items_stalled');
  await until('the new worker commits', async () => await count('items_stalled') > before + PER_PAGE);
  victim!.child.kill('SIGCONT');
  const r = await run;
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout) as { streams: Record<string, { extracted: number; loaded: number }> };
  assert.equal(await count('items_stalled'), PAGES * PER_PAGE);
  assert.equal(Number((await pgQuery(`SELECT count(DISTINCT id) AS d FROM ${schema}.items_stalled`))[0].d), PAGES * PER_PAGE);
  assert.equal(summary.streams.items.loaded, PAGES * PER_PAGE);
  // Woken, the stalled worker finds its session ended by the claim (what it had not committed rolled back) or, had it
  // been between transactions, its next commit refused.
  await until('the stalled worker reports it was fenced off', () => victim!.log.some((l) => l.includes('task finished') && /took this task over|its task was taken over/.test(l)))
    .catch((e: Error) => assert.fail(`${e.message}; its log ends: ${victim!.log.slice(-25).join('\n')}`));
  for (const w of pair) w.child.kill('SIGTERM');
  await Promise.all(pair.map((w) => w.exited));
});

test('the queue\'s Redis restarted mid-run: the run ends, failed, saying so; the next run completes it', async () => {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const url = `redis://127.0.0.1:${port}`;
  const startRedis = () => spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  let redis = startRedis();
  const ping = async () => (await sluice(['workers', '--redis', url, '--json'], { home: dir, env })).code === 0;
  writeFileSync(join(dir, 'restart.yaml'), apiPipeline('restart', 'destination_table: items_restart, primary_key: [id], write: merge'));
  try {
    await until('the private Redis answers', ping);
    const worker = spawn(process.execPath, [sluiceBin, 'worker', '--redis', url, '--lock-ms', '1500', '--metrics-port', '0'], {
      env: { ...process.env, ...env, SLUICE_HOME: join(dir, 'worker-restart') }, stdio: ['ignore', 'ignore', 'pipe'],
    });
    const log: string[] = [];
    worker.stderr!.on('data', (d: Buffer) => log.push(...d.toString().split('\n').filter(Boolean)));
    workers.push({ child: worker, log, exited: new Promise((r) => worker.on('close', r)) });
    const run = sluice(['run', join(dir, 'restart.yaml'), '--workers', '--redis', url, '--json'], { home: dir, env });
    await until('pages committed', async () => (await pgQuery(`SELECT to_regclass('${schema}.items_restart') AS t`))[0].t !== null && await count('items_restart') >= 3 * PER_PAGE);
    redis.kill('SIGKILL');
    await new Promise((r) => redis.once('close', r));
    redis = startRedis();
    const r = await run;
    assert.equal(r.code, 1, r.stderr);
    assert.match(JSON.parse(r.stdout).error, /items: on a worker: the task is no longer in the queue \(was its Redis restarted or flushed\?\)/);
    await until('the worker is back on the queue', ping);
    const again = await sluice(['run', join(dir, 'restart.yaml'), '--workers', '--redis', url, '--json'], { home: dir, env });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(await count('items_restart'), PAGES * PER_PAGE);
    assert.equal(Number((await pgQuery(`SELECT count(DISTINCT id) AS d FROM ${schema}.items_restart`))[0].d), PAGES * PER_PAGE);

    // The worker's own metrics: its tasks by status, the rows they moved, none running now; valid exposition.
    const ready = JSON.parse(log.find((l) => l.includes('worker ready'))!) as { metrics_port: number; worker: string };
    const metrics = await (await fetch(`http://127.0.0.1:${ready.metrics_port}/metrics`)).text();
    assert.match(metrics, /^sluice_worker_tasks_total\{pipeline="restart",status="success"\} [1-9]/m);
    assert.match(metrics, /^sluice_worker_rows_total\{pipeline="restart",stream="items",outcome="loaded"\} [1-9]\d*/m);
    assert.match(metrics, /^sluice_worker_tasks_running 0$/m);
    assert.match(metrics, /^sluice_worker_task_duration_seconds_count\{pipeline="restart"\} [1-9]/m);
    const checked = spawnSync('promtool', ['check', 'metrics'], { input: metrics, encoding: 'utf8' });
    assert.equal(checked.status, 0, checked.stderr + checked.stdout);
    assert.deepEqual(await (await fetch(`http://127.0.0.1:${ready.metrics_port}/health`)).json(), { worker: ready.worker, tasks_running: 0 });
  } finally {
    redis.kill('SIGKILL');
  }
});

test('sluice serve --workers: a run it starts runs its streams on the workers', async () => {
  const served = join(dir, 'served');
  mkdirSync(served, { recursive: true });
  writeFileSync(join(served, 'tokens.txt'), `ops: ${TOKEN}\n`);
  writeFileSync(join(served, 'a.csv'), 'id,name\n1,x\n2,y\n3,z\n');
  writeFileSync(join(served, 'served.yaml'), `pipeline: served
sources:
  - { name: f, type: csv, streams: [{ name: letters, path: a.csv, primary_key: [id], write: merge }] }
destination: { type: postgres, url: "${PG_URL}", schema: ${schema} }
`);
  // A queue of its own: the workers of the tests before are not to take this run's task.
  const own = { ...env, SLUICE_QUEUE: `${queue}-serve` };
  const w = startWorker(21, own);
  await until('the worker is ready', () => w.log.some((l) => l.includes('worker ready')));
  const s = serve(served, join(dir, 'serve-home'), 'serve --workers', ['--workers'], own);
  workers.push({ child: s.child, log: [], exited: new Promise((r) => s.child.on('close', r)) });
  const url = await s.url;
  assert.equal((await api(url, '/api/pipelines/served/runs', { method: 'POST' })).status, 202);
  let run: { run_id: string; status: string } | undefined;
  await until('the run is over', async () => {
    run = ((await api(url, '/api/runs?pipeline=served')).body.runs as { run_id: string; status: string }[]).find((r) => r.status !== 'running');
    return !!run;
  });
  assert.equal(run!.status, 'success', s.log());
  await until('the worker says it ran the stream', () => w.log.some((l) => l.includes(run!.run_id) && l.includes('"stream":"letters"') && l.includes('task finished')), 5000);
  assert.equal(Number((await pgQuery(`SELECT count(*) AS n FROM ${schema}.letters`))[0].n), 3);
  s.child.kill('SIGTERM');
});

test('refused before any work: a queue Redis that may evict keys; a run without the shared control store; an embedded destination', async () => {
  // A Redis of this test's own, evicting keys under memory pressure.
  const port = 20000 + Math.floor(Math.random() * 20000);
  const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'allkeys-lru'], { stdio: 'ignore' });
  try {
    await until('the test Redis answers', async () => (await sluice(['workers', '--redis', `redis://127.0.0.1:${port}`, '--json'], { home: dir, env })).code === 0);
    const evicting = await sluice(['run', join(dir, 'pipeline.yaml'), '--workers', '--redis', `redis://127.0.0.1:${port}`], { home: dir, env });
    assert.equal(evicting.code, 2);
    assert.match(evicting.stderr, /maxmemory-policy allkeys-lru: it may evict queued tasks and their locks; set `maxmemory-policy noeviction`/);
    const worker = await sluice(['worker', '--redis', `redis://127.0.0.1:${port}`], { home: dir, env });
    assert.equal(worker.code, 2);
    assert.match(worker.stderr, /maxmemory-policy allkeys-lru/);
  } finally {
    redis.kill('SIGKILL');
  }
  const local = await sluice(['run', join(dir, 'pipeline.yaml'), '--workers'], { home: dir, env: { SLUICE_CONTROL_URL: '' } });
  assert.equal(local.code, 2);
  assert.match(local.stderr, /workers share the control store: set SLUICE_CONTROL_URL to a postgres:\/\/ URL/);
  writeFileSync(join(dir, 'embedded.yaml'), 'pipeline: embedded\nsources:\n  - { name: f, type: csv, streams: [{ name: a, path: a.csv }] }\n');
  const embedded = await sluice(['run', join(dir, 'embedded.yaml'), '--workers'], { home: dir, env });
  assert.equal(embedded.code, 2);
  assert.match(embedded.stderr, /--workers needs a destination every worker reaches and writes at once \(postgres, mysql\); this pipeline writes to duckdb/);
});
