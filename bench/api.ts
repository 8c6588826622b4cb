// `npm run bench -- api [records]`: a REST API on loopback (default 200,000 records, 100 per page → 2,000 pages,
// offset pagination) that enforces 400 requests/s over any one-second window and 8 concurrent requests, read by
// `sluice run` into the embedded DuckDB. Two passes:
//   clean   no faults: records/s, the server-observed peak requests/s and concurrency (never above the limits);
//   faults  20% of requests fail (500s, 429s — some with Retry-After — and timeouts): every record arrives exactly
//           once (`write: append`, no dedupe, so a page yielded twice would show as extra rows).
// Set SLUICE_BENCH_BIN to run another build of the CLI.
import { rmSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { measureSluice, type Measurement } from './measure.js';
import { offsetPage, seededRandom, startFaultServer, type Fault } from '../test/support/fault-server.js';

const root = resolve(import.meta.dirname, '..', '..');
const RPS = 400;
const CONCURRENCY = 8;
const PAGE = 100;
/**
 * Pages requested ahead of the one being loaded. Pages are committed in order, so a page stuck in a timeout holds up
 * the ones behind it; a deep window keeps the 8 connections busy meanwhile (128 pages of 100 records ≈ 1.3 MB).
 */
const PREFETCH = Number(process.env.BENCH_API_PREFETCH ?? 128);

interface Pass {
  name: string;
  m: Measurement;
  records: number;
  requests: number;
  retries: number;
  faults: number;
  overLimit: number;
  peakPerSecond: number;
  peakConcurrency: number;
  rows: number;
  distinct: number;
}

export async function benchApi(args: string[]): Promise<void> {
  const total = Number(args[0] ?? 200_000);
  const dir = join(root, 'bench', '.data', 'api');
  mkdirSync(dir, { recursive: true });
  const passes: Pass[] = [];
  for (const faulty of [false, true]) {
    const random = seededRandom(42);
    const server = await startFaultServer({
      limit: { requestsPerSecond: RPS, concurrency: CONCURRENCY },
      route: (req) => {
        const offset = Number(req.url.searchParams.get('offset') ?? 0);
        const limit = Number(req.url.searchParams.get('limit') ?? PAGE);
        return { body: { data: offsetPage(total, offset, limit), meta: { offset, limit } } };
      },
      fault: faulty ? () => pickFault(random()) : undefined,
    });
    const distinctUrls = new Set<string>();
    const home = join(dir, `home-${faulty ? 'faults' : 'clean'}`);
    rmSync(home, { recursive: true, force: true });
    const pipeline = join(dir, 'bench-api.yaml');
    writeFileSync(pipeline, `pipeline: bench-api
batch_size: 1000
sources:
  - name: api
    type: rest
    base_url: ${server.url}
    rate_limit: { requests_per_second: ${RPS}, concurrency: ${CONCURRENCY} }
    retry: { attempts: 10, initial_ms: 50, max_ms: 2000 }
    timeout_ms: 500
    circuit_breaker: { failures: 20, reset_ms: 1000 }
    streams:
      - name: records
        path: /records
        records: data
        paginate: { type: offset, limit: ${PAGE} }
        prefetch_pages: ${PREFETCH}
        primary_key: [id]
        dedupe: false
        write: append
        columns: { id: bigint, name: text, updated_at: timestamp }
`);
    console.log(`${faulty ? 'faults' : 'clean '}: ${total.toLocaleString('en-US')} records over ${Math.ceil(total / PAGE).toLocaleString('en-US')} pages, server limit ${RPS} req/s and ${CONCURRENCY} concurrent, ${PREFETCH} pages prefetched…`);
    const m = await measureSluice(['run', pipeline, '--json'], { SLUICE_HOME: home, SLUICE_LOG_LEVEL: 'warn' });
    for (const q of server.stats.log) distinctUrls.add(q.url.search);
    const stats = { ...server.stats };
    await server.close();
    if (m.code !== 0) throw new Error(`sluice failed (${m.code}): ${m.stderr.slice(-2000)}`);
    const summary = JSON.parse(m.stdout);
    const [counts] = await duckRows(join(home, 'warehouse.duckdb'), 'SELECT count(*)::BIGINT AS n, count(DISTINCT id)::BIGINT AS d FROM records');
    passes.push({
      name: faulty ? 'sluice rest → DuckDB, 20% of requests failing' : 'sluice rest → DuckDB, no faults',
      m, records: summary.streams.records.loaded, requests: stats.requests, retries: stats.requests - distinctUrls.size,
      faults: stats.faults, overLimit: stats.overLimit, peakPerSecond: stats.peakPerSecond, peakConcurrency: stats.peakConcurrency,
      rows: Number(counts.n), distinct: Number(counts.d),
    });
  }
  console.log();
  console.log(`${'pass'.padEnd(46)} ${'records/s'.padStart(10)} ${'seconds'.padStart(8)} ${'peak RSS'.padStart(9)} ${'requests'.padStart(9)} ${'retries'.padStart(8)} ${'faults'.padStart(7)} ${'peak req/s'.padStart(11)} ${'peak conc'.padStart(10)} ${'over limit'.padStart(11)} ${'rows'.padStart(8)} ${'distinct'.padStart(9)}`);
  for (const p of passes) {
    const rss = p.m.peakRssMb === null ? '-' : `${p.m.peakRssMb.toFixed(0)} MB`;
    console.log(`${p.name.padEnd(46)} ${Math.round(p.records / p.m.seconds).toLocaleString('en-US').padStart(10)} ${p.m.seconds.toFixed(2).padStart(8)} ${rss.padStart(9)} ${String(p.requests).padStart(9)} ${String(p.retries).padStart(8)} ${String(p.faults).padStart(7)} ${`${p.peakPerSecond} / ${RPS}`.padStart(11)} ${`${p.peakConcurrency} / ${CONCURRENCY}`.padStart(10)} ${String(p.overLimit).padStart(11)} ${String(p.rows).padStart(8)} ${String(p.distinct).padStart(9)}`);
  }
  const bad = passes.filter((p) => p.rows !== total || p.distinct !== total || p.peakPerSecond > RPS || p.peakConcurrency > CONCURRENCY || p.overLimit > 0);
  if (bad.length) throw new Error(`not exactly once or over the limit: ${bad.map((p) => p.name).join(', ')}`);
  console.log(`\nevery record exactly once in both passes (${total.toLocaleString('en-US')} rows, ${total.toLocaleString('en-US')} distinct ids); the limits were never exceeded.`);
}

/** 20% of requests fail: 8% HTTP 500, 6% timeouts, 6% HTTP 429 (one in five of them with `Retry-After: 1`). */
function pickFault(r: number): Fault | undefined {
  if (r < 0.08) return { kind: 'status', status: 500 };
  if (r < 0.14) return { kind: 'slow', ms: 2000 };
  if (r < 0.188) return { kind: 'status', status: 429 };
  if (r < 0.2) return { kind: 'status', status: 429, retryAfter: '1' };
  return undefined;
}

async function duckRows(file: string, sql: string): Promise<Record<string, unknown>[]> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const db = await DuckDBInstance.create(file);
  const conn = await db.connect();
  try {
    return (await conn.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}
