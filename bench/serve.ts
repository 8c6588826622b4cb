// `npm run bench -- serve [pipelines] [seconds]`: `sluice serve` with 1,000 tiny scheduled pipelines (CSV → SQLite).
//   busy   pipeline i is due at second i % 60 of every minute (about 17 runs a second): schedule lag (start minus
//          due time) p50/p99/max over every run in the window, from the control store's scheduled runs;
//          `/metrics` scrape time with every pipeline's history (uncached scrapes, 1.1 s apart).
//   idle   the same pipelines due once a year, on a copy of the busy run's control store (their history): CPU (utime +
//          stime from /proc) and RSS over 30 s of doing nothing, then the scrape time of a service at rest.
// Bars (issue 15): lag p99 < 1 s, idle < 1% CPU and < 150 MB RSS, scrape < 100 ms.
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openDatabase } from '../src/core/sqlite-driver.js';
import { sluiceBin } from './measure.js';

const root = resolve(import.meta.dirname, '..', '..');
const TOKEN = 'bench-token-0123456789';
// USER_HZ: the unit of utime and stime in /proc/<pid>/stat (100 on Linux).
const TICKS = 100;

function writePipelines(dir: string, n: number, cron: (i: number) => string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'out'), { recursive: true });
  writeFileSync(join(dir, 'tiny.csv'), 'id,name,amount\n1,a,1.5\n2,b,2.5\n3,c,3.5\n');
  for (let i = 0; i < n; i++) {
    writeFileSync(join(dir, `p${i}.yaml`), `pipeline: tiny-${i}
sources:
  - name: files
    type: csv
    streams:
      - name: rows
        path: tiny.csv
        primary_key: id
        write: merge
destination: { type: sqlite, path: out/p${i}.db }
schedule: { cron: "${cron(i)}" }
`);
  }
}

async function serve(dir: string, home: string, extra: string[] = []): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [sluiceBin, 'serve', dir, '--port', '0', ...extra], {
    env: { ...process.env, SLUICE_HOME: home, SLUICE_TOKEN: TOKEN, SLUICE_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  const url = await new Promise<string>((done, fail) => {
    child.stderr!.on('data', (d: Buffer) => {
      log += d.toString();
      const m = /API on (http:\/\/\S+)/.exec(log);
      if (m) done(m[1]);
    });
    child.once('exit', (code) => fail(new Error(`serve exited ${code}: ${log}`)));
  });
  return { child, url };
}

/**
 * Time to the last byte of a response, read as bytes (as Prometheus's scraper does). Node's fetch and a text decode of
 * 4 MB cost this client 50 ms more than the server took (measured beside node:http and curl).
 */
const get = (url: string): Promise<number> => new Promise((done, fail) => {
  httpGet(url, { headers: { authorization: `Bearer ${TOKEN}` } }, (res) => {
    let size = 0;
    res.on('data', (d: Buffer) => { size += d.length; });
    res.on('end', () => (res.statusCode === 200 ? done(size) : fail(new Error(`${url}: HTTP ${res.statusCode}`))));
  }).on('error', fail);
});

const cpuTicks = (pid: number): number => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
};
const rssMb = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const stop = async (child: ChildProcess) => {
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
};

export async function benchServe(args: string[]): Promise<void> {
  const n = Number(args[0] ?? 1000);
  const seconds = Number(args[1] ?? 75);
  const base = join(root, 'bench', '.data', 'serve');

  // busy
  const busyDir = join(base, 'busy');
  writePipelines(busyDir, n, (i) => `${i % 60} * * * * *`);
  rmSync(join(base, 'home-busy'), { recursive: true, force: true });
  const busy = await serve(busyDir, join(base, 'home-busy'), ['--max-concurrent', '4']);
  const started = Date.now();
  console.log(`busy: ${n} pipelines, each due once a minute at its own second, for ${seconds} s …`);
  await sleep(seconds * 1000);
  const scrapes: number[] = [];
  let size = 0;
  for (let i = 0; i < 10; i++) {
    await sleep(1100);
    const t0 = performance.now();
    size = await get(`${busy.url}/metrics`);
    scrapes.push(performance.now() - t0);
  }
  const busyRss = rssMb(busy.child.pid!);
  await stop(busy.child);
  const db = openDatabase(join(base, 'home-busy', 'control.db'), { readonly: true });
  const rows = db.prepare('SELECT scheduled_for, started_at, status FROM scheduled_runs WHERE scheduled_for >= ?').all(started) as { scheduled_for: number; started_at: number | null; status: string }[];
  db.close();
  const lags = rows.filter((r) => r.started_at !== null).map((r) => (r.started_at! - r.scheduled_for) / 1000).sort((a, b) => a - b);
  const statuses: Record<string, number> = {};
  for (const r of rows) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
  scrapes.sort((a, b) => a - b);

  // idle
  const idleDir = join(base, 'idle');
  writePipelines(idleDir, n, () => '0 0 1 1 *');
  rmSync(join(base, 'home-idle'), { recursive: true, force: true });
  cpSync(join(base, 'home-busy'), join(base, 'home-idle'), { recursive: true });
  const idle = await serve(idleDir, join(base, 'home-idle'));
  await sleep(10_000); // start-up done (1,000 files read, each audited)
  const t0 = cpuTicks(idle.child.pid!);
  const w0 = performance.now();
  await sleep(30_000);
  const cpu = ((cpuTicks(idle.child.pid!) - t0) / TICKS) / ((performance.now() - w0) / 1000) * 100;
  const idleRss = rssMb(idle.child.pid!);
  const restScrapes: number[] = [];
  for (let i = 0; i < 10; i++) {
    await sleep(1100);
    const t = performance.now();
    await get(`${idle.url}/metrics`);
    restScrapes.push(performance.now() - t);
  }
  restScrapes.sort((a, b) => a - b);
  await stop(idle.child);

  const row = (what: string, value: string, bar: string, ok: boolean) => console.log(`${what.padEnd(40)} ${value.padStart(16)}   bar ${bar.padEnd(10)} ${ok ? 'met' : 'NOT MET'}`);
  console.log(`\nruns started in the window: ${lags.length} (scheduled-run statuses: ${JSON.stringify(statuses)})`);
  row('schedule lag p50', `${(pct(lags, 50) * 1000).toFixed(0)} ms`, '-', true);
  row('schedule lag p99', `${(pct(lags, 99) * 1000).toFixed(0)} ms`, '< 1 s', pct(lags, 99) < 1);
  row('schedule lag max', `${(lags.at(-1)! * 1000).toFixed(0)} ms`, '-', true);
  row(`/metrics scrape while busy (${(size / 1024).toFixed(0)} KB) median`, `${pct(scrapes, 50).toFixed(1)} ms`, '< 100 ms', pct(scrapes, 50) < 100);
  row('/metrics scrape max', `${scrapes.at(-1)!.toFixed(1)} ms`, '< 100 ms', scrapes.at(-1)! < 100);
  row('/metrics scrape at rest (history) median', `${pct(restScrapes, 50).toFixed(1)} ms`, '< 100 ms', pct(restScrapes, 50) < 100);
  row('/metrics scrape at rest max', `${restScrapes.at(-1)!.toFixed(1)} ms`, '< 100 ms', restScrapes.at(-1)! < 100);
  row('RSS while busy', `${busyRss.toFixed(0)} MB`, '-', true);
  row('idle CPU (30 s)', `${cpu.toFixed(2)} %`, '< 1 %', cpu < 1);
  row('idle RSS', `${idleRss.toFixed(0)} MB`, '< 150 MB', idleRss < 150);
}
