// `npm run bench -- workers [csv-rows] [pages]`: one run spread over 1, 2 and 4 `sluice worker` processes (BullMQ on
// the local Redis, the shared control store and the destination on the local PostgreSQL), beside the same run in one
// process. Two shapes:
// - I/O-bound: a local API answering each page after 50 ms, `pages` pages (default 2,000) of 100 records, spread over
//   8 streams (one task per stream: a single paged stream is not split across workers yet);
// - CPU-bound: `csv-rows` rows (default 10M) in 8 CSV files read by ONE stream (a glob), with a derive step (so the
//   engine parses and transforms every row rather than handing the file to the database): on workers the stream is
//   split into one slice per file.
// Prints records/s, the speed-up over one worker, peak RSS of the run and of the busiest worker, and the dispatch
// overhead per task (a task of one row, end to end, minus the same stream run in-process). The machine has
// `nproc` cores: the CPU-bound speed-up cannot pass that.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { measureSluice, sluiceBin, type Measurement } from './measure.js';
import { postgresDestination, psql } from './postgres.js';
import { writeLines } from './write-lines.js';

// Beside the other benches' generated data (git-ignored), wherever the bench is started from.
const dir = resolve(import.meta.dirname, '..', '..', 'bench', '.data', 'workers');
const STREAMS = 8;
const PER_PAGE = 100;
const schema = 'bench_workers';
const control = 'bench_workers_control';
const queue = `bench-workers-${process.pid}`;
const env = { SLUICE_CONTROL_URL: `postgres://postgres@127.0.0.1:5432/test?schema=${control}`, SLUICE_QUEUE: queue, SLUICE_HOME: join(dir, 'home') };

interface Worker { child: ChildProcess; peakMb: number }

function startWorkers(n: number): Promise<Worker[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => new Promise<Worker>((ready, fail) => {
    const child = spawn(process.execPath, [sluiceBin, 'worker'], { env: { ...process.env, ...env, SLUICE_HOME: join(dir, `worker-${i}`) }, stdio: ['ignore', 'ignore', 'pipe'] });
    const w = { child, peakMb: 0 };
    let log = '';
    child.stderr!.on('data', (d: Buffer) => {
      log += d.toString();
      if (log.includes('worker ready')) ready(w);
    });
    child.on('close', (code) => fail(new Error(`worker exited (${code}): ${log}`)));
  })));
}

async function stopWorkers(workers: Worker[]): Promise<void> {
  for (const w of workers) {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${w.child.pid}/status`, 'utf8'));
    w.peakMb = m ? Number(m[1]) / 1024 : 0;
    w.child.removeAllListeners('close');
    w.child.kill('SIGTERM');
  }
  await Promise.all(workers.map((w) => new Promise((r) => w.child.once('close', r))));
}

async function run(file: string, args: string[]): Promise<Measurement> {
  const m = await measureSluice(['run', file, '--json', ...args], env);
  if (m.code !== 0) throw new Error(`sluice run failed (${m.code}): ${m.stderr.slice(-2000)}`);
  return m;
}

export async function benchWorkers(args: string[]): Promise<void> {
  const csvRows = Number(args[0] ?? 10_000_000);
  const pages = Number(args[1] ?? 2_000);
  // Generated files stay for the next run (writeLines skips a file that exists); homes start empty.
  mkdirSync(dir, { recursive: true });
  for (const home of ['home', ...Array.from({ length: 4 }, (_, i) => `worker-${i}`)]) rmSync(join(dir, home), { recursive: true, force: true });
  const server = createServer((req, res) => {
    const page = Number(new URL(req.url!, 'http://x').searchParams.get('page') ?? '1');
    const last = pages / STREAMS;
    const items = page > last ? [] : Array.from({ length: PER_PAGE }, (_, i) => ({ id: (page - 1) * PER_PAGE + i + 1, name: `item ${i}`, amount: i * 1.5 }));
    setTimeout(() => res.end(JSON.stringify({ items })), 50);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const perFile = Math.floor(csvRows / STREAMS);
  for (let f = 0; f < STREAMS; f++) {
    await writeLines(join(dir, `part-${f}-${perFile}.csv`), 'id,name,amount,updated_at', perFile, (i) => `${f * perFile + i},name ${i},${(i % 1000) / 10},2024-01-01T00:00:${String(i % 60).padStart(2, '0')}Z`);
  }
  writeFileSync(join(dir, 'one.csv'), 'id,name\n1,one\n');
  const pipeline = (name: string, streams: string, extra = '') => {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, `pipeline: bench-workers-${name}\nconcurrency: 1\n${extra}sources:\n${streams}${postgresDestination(schema)}`);
    return file;
  };
  const io = pipeline('io', `  - name: api\n    type: rest\n    base_url: ${base}\n    streams:\n${Array.from({ length: STREAMS }, (_, i) => `      - { name: api_${i}, path: /items, records: items, paginate: { type: page, param: page, start: 1 }, write: append }\n`).join('')}`, 'checkpoint_rows: 5000\n');
  const cpu = pipeline('cpu', `  - name: files\n    type: csv\n    streams:\n      - { name: csv, path: "part-*-${perFile}.csv", write: append, columns: { id: bigint } }\n`,
    'transforms:\n  csv:\n    - derive: { total: "amount * 2" }\n');
  const tiny = pipeline('tiny', `  - name: files\n    type: csv\n    streams:\n${Array.from({ length: 20 }, (_, i) => `      - { name: tiny_${i}, path: one.csv, write: append }\n`).join('')}`);

  const fresh = () => psql(`DROP SCHEMA IF EXISTS ${schema} CASCADE; DROP SCHEMA IF EXISTS ${control} CASCADE`);
  try {
    console.log(`workers bench: ${availableParallelism()} cores; I/O-bound ${pages} pages × ${PER_PAGE} records at 50 ms a page over ${STREAMS} streams; CPU-bound ${(perFile * STREAMS).toLocaleString('en-US')} rows in ${STREAMS} CSV files of one stream`);
    for (const [shape, file, records] of [['I/O-bound (API)', io, pages * PER_PAGE], ['CPU-bound (CSV)', cpu, perFile * STREAMS]] as const) {
      console.log(`\n${shape}`);
      console.log(`${'run'.padEnd(24)} ${'records/s'.padStart(12)} ${'speed-up'.padStart(9)} ${'seconds'.padStart(8)} ${'run RSS'.padStart(9)} ${'worker RSS'.padStart(11)}`);
      await fresh();
      const local = await run(file, []);
      console.log(`${'one process'.padEnd(24)} ${Math.round(records / local.seconds).toLocaleString('en-US').padStart(12)} ${'-'.padStart(9)} ${local.seconds.toFixed(2).padStart(8)} ${`${local.peakRssMb?.toFixed(0)} MB`.padStart(9)} ${'-'.padStart(11)}`);
      let one = 0;
      for (const n of [1, 2, 4]) {
        await fresh();
        const workers = await startWorkers(n);
        const m = await run(file, ['--workers']);
        await stopWorkers(workers);
        if (n === 1) one = m.seconds;
        const peak = Math.max(...workers.map((w) => w.peakMb));
        console.log(`${`${n} worker${n > 1 ? 's' : ''}`.padEnd(24)} ${Math.round(records / m.seconds).toLocaleString('en-US').padStart(12)} ${`${(one / m.seconds).toFixed(2)}×`.padStart(9)} ${m.seconds.toFixed(2).padStart(8)} ${`${m.peakRssMb?.toFixed(0)} MB`.padStart(9)} ${`${peak.toFixed(0)} MB`.padStart(11)}`);
      }
    }
    // Dispatch overhead: 20 one-row streams on one worker against the same in one process, per task.
    await fresh();
    const local = await run(tiny, []);
    await fresh();
    const workers = await startWorkers(1);
    const dispatched = await run(tiny, ['--workers']);
    await stopWorkers(workers);
    console.log(`\ndispatch overhead per task (20 one-row streams, 1 worker vs one process): ${(((dispatched.seconds - local.seconds) / 20) * 1000).toFixed(1)} ms`);
  } finally {
    server.close();
    await fresh();
  }
}
