// The `rest` source end to end through the real `sluice` CLI: the verbatim OpenParliament bill pages (12 pages at
// limit 500 that repeat 497 bills across pages) served on loopback and followed by `pagination.next_url` into the
// embedded DuckDB with merge; an incremental second run; and no secret in --json output, stderr or the run ledger.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { duckQuery, sluice, tempDir } from '../helpers.js';
import { startFaultServer, type FaultServer, type Request } from '../support/fault-server.js';

const BILLS = '/work/shared/fixtures/openparliament/2014-annieying-bills-limit500';
const TOKEN = 'op-secret-token-7f3a9c';

const servers: FaultServer[] = [];
const cleanups: (() => void)[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  cleanups.forEach((c) => c());
});

function project(yaml: string) {
  const t = tempDir();
  cleanups.push(t.cleanup);
  const file = join(t.dir, 'pipeline.yaml');
  writeFileSync(file, yaml);
  return { dir: t.dir, file, home: join(t.dir, '.sluice'), warehouse: join(t.dir, '.sluice', 'warehouse.duckdb') };
}

/** The recorded pages, byte for byte: `/bills/?limit=500&offset=K` is page K/500+1. */
function billsRoute(req: Request) {
  if (req.headers.authorization !== `Bearer ${TOKEN}`) return { status: 403, body: { detail: `token ${req.headers.authorization} rejected` } };
  if (req.url.pathname !== '/bills/' || req.url.searchParams.get('limit') !== '500') return { status: 400, body: 'bad request' };
  const page = Number(req.url.searchParams.get('offset') ?? 0) / 500 + 1;
  return { body: readFileSync(join(BILLS, `bills-p${String(page).padStart(2, '0')}.json`), 'utf8') };
}

const billsPipeline = (url: string, token = '${OP_TOKEN}') => `pipeline: civic-bills
sources:
  - name: openparliament
    type: rest
    base_url: ${url}
    headers: { API-Version: v1 }
    auth: { type: bearer, token: "${token}" }
    rate_limit: { requests_per_second: 50, concurrency: 2 }
    retry: { attempts: 4, initial_ms: 10, max_ms: 100 }
    streams:
      - name: bills
        path: /bills/
        params: { limit: 500 }
        records: objects
        paginate: { type: next_url, path: pagination.next_url }
        primary_key: [url]
        write: merge
`;

test('OpenParliament bill pages via next_url: 5,266 distinct bills merged into DuckDB; no secret anywhere', async () => {
  let n = 0;
  // Page 3's first attempt fails: the retry must not duplicate or lose a bill.
  const s = await startFaultServer({ route: billsRoute, fault: (req) => (req.url.searchParams.get('offset') === '1000' && n++ === 0 ? { kind: 'status', status: 500 } : undefined) });
  servers.push(s);
  const p = project(billsPipeline(s.url));
  const env = { OP_TOKEN: TOKEN, SLUICE_LOG_LEVEL: 'info' };
  const run = await sluice(['run', p.file, '--json'], { home: p.home, env, cwd: p.dir });
  assert.equal(run.code, 0, run.stderr);
  const summary = JSON.parse(run.stdout);
  assert.equal(summary.status, 'success');
  // 5,763 objects on the pages, 497 of them repeats of a bill on another page.
  assert.equal(summary.streams.bills.loaded, 5266);
  assert.equal(summary.streams.bills.extracted, 5266);
  assert.equal(s.stats.requests, 13, '12 pages and one retry');
  assert.equal(s.stats.log[0].headers['api-version'], 'v1');
  const [counts] = await duckQuery(p.warehouse, 'SELECT count(*)::INT AS n, count(DISTINCT url)::INT AS d FROM bills');
  assert.deepEqual(counts, { n: 5266, d: 5266 });
  const [c2] = await duckQuery(p.warehouse, "SELECT number, session, introduced::VARCHAR AS introduced, legisinfo_id::INT AS l, name::VARCHAR AS name FROM bills WHERE url = '/bills/37-1/C-2/'");
  assert.equal(c2.number, 'C-2');
  assert.equal(c2.session, '37-1');
  assert.equal(c2.introduced, '2001-02-02');
  assert.equal(c2.l, 9992);
  assert.match(String(c2.name), /Loi modifiant la Loi sur l'assurance-emploi et le Règlement sur l'assurance-emploi \(pêche\)/);
  const [nulls] = await duckQuery(p.warehouse, 'SELECT count(*)::INT AS n FROM bills WHERE legisinfo_id IS NULL');
  assert.ok(Number(nulls.n) > 0 && Number(nulls.n) <= 88);

  // The token went to the server on every request, and nowhere else.
  assert.ok(s.stats.log.every((q) => q.headers.authorization === `Bearer ${TOKEN}`));
  const show = await sluice(['runs', 'show', summary.run_id, '--json'], { home: p.home, env, cwd: p.dir });
  assert.equal(show.code, 0, show.stderr);
  for (const text of [run.stdout, run.stderr, show.stdout, show.stderr]) assert.ok(!text.includes(TOKEN), 'token leaked');

  // A second run re-reads the same pages and merges: still 5,266 rows.
  const again = await sluice(['run', p.file, '--json'], { home: p.home, env, cwd: p.dir });
  assert.equal(again.code, 0, again.stderr);
  const [after2] = await duckQuery(p.warehouse, 'SELECT count(*)::INT AS n FROM bills');
  assert.equal(after2.n, 5266);
});

test('a server echoing the token in an error: the run fails, and the token is masked in output, logs and ledger', async () => {
  const s = await startFaultServer({ route: (req) => ({ status: 401, body: { detail: `invalid credentials: ${req.headers.authorization}` } }) });
  servers.push(s);
  const p = project(billsPipeline(s.url));
  const env = { OP_TOKEN: TOKEN, SLUICE_LOG_LEVEL: 'debug' };
  const run = await sluice(['run', p.file, '--json'], { home: p.home, env, cwd: p.dir });
  assert.equal(run.code, 1, run.stderr);
  const summary = JSON.parse(run.stdout);
  assert.equal(summary.status, 'failed');
  assert.match(JSON.stringify(summary), /answered HTTP 401: \{\\"detail\\":\\"invalid credentials: Bearer \*\*\*\\"\}/);
  const show = await sluice(['runs', 'show', summary.run_id, '--json'], { home: p.home, env, cwd: p.dir });
  assert.match(show.stdout, /invalid credentials: Bearer \*\*\*/);
  for (const text of [run.stdout, run.stderr, show.stdout, show.stderr]) assert.ok(!text.includes(TOKEN), 'token leaked');
});

test('incremental through the CLI: the second run sends the stored cursor and loads only new rows', async () => {
  const records = Array.from({ length: 30 }, (_, i) => ({ id: i + 1, title: `item ${i + 1}`, updated_at: new Date(Date.UTC(2024, 0, 1, 0, i)).toISOString() }));
  const s = await startFaultServer({
    route: (req) => {
      const since = req.url.searchParams.get('updated_since');
      const page = Number(req.url.searchParams.get('page') ?? 1);
      // A strict filter (`updated_at > since`), 8 records per page.
      const matching = records.filter((r) => !since || Date.parse(r.updated_at) > Date.parse(since));
      return { body: { items: matching.slice((page - 1) * 8, page * 8), page } };
    },
  });
  servers.push(s);
  const p = project(`pipeline: incremental-api
sources:
  - name: api
    type: rest
    base_url: ${s.url}
    streams:
      - name: items
        path: /items
        records: items
        paginate: { type: page, size: 8 }
        primary_key: [id]
        cursor: updated_at
        incremental: { param: updated_since }
        write: merge
`);
  const first = await sluice(['run', p.file, '--json'], { home: p.home, cwd: p.dir });
  assert.equal(first.code, 0, first.stderr);
  assert.equal(JSON.parse(first.stdout).streams.items.loaded, 30);
  assert.ok(s.stats.log.every((q) => !q.url.searchParams.has('updated_since')), 'no cursor on a first run');
  records.push(...Array.from({ length: 5 }, (_, i) => ({ id: 31 + i, title: `new ${i}`, updated_at: new Date(Date.UTC(2024, 0, 2, 0, i)).toISOString() })));
  records[0].title = 'item 1 (old, edited without touching updated_at)';
  s.reset();
  const second = await sluice(['run', p.file, '--json'], { home: p.home, cwd: p.dir });
  assert.equal(second.code, 0, second.stderr);
  const streams = JSON.parse(second.stdout).streams.items;
  assert.equal(streams.loaded, 5);
  assert.equal(streams.inserted, 5);
  assert.equal(Date.parse(s.stats.log[0].url.searchParams.get('updated_since')!), Date.parse(records[29].updated_at));
  const [c] = await duckQuery(p.warehouse, "SELECT count(*)::INT AS n, max(id)::INT AS m, count(*) FILTER (WHERE title LIKE '%edited%')::INT AS e FROM items");
  assert.deepEqual(c, { n: 35, m: 35, e: 0 });
});

test('a run that fails mid-pagination resumes at the first uncommitted page: every record exactly once (append)', async () => {
  let broken = true;
  const s = await startFaultServer({
    route: (req) => {
      const offset = Number(req.url.searchParams.get('offset'));
      if (broken && offset === 400) return { status: 404, body: { detail: 'gone for now' } };
      return { body: { data: Array.from({ length: Math.max(0, Math.min(100, 950 - offset)) }, (_, i) => ({ id: offset + i + 1 })) } };
    },
  });
  servers.push(s);
  const p = project(`pipeline: resume-api
checkpoint_rows: 1
sources:
  - name: api
    type: rest
    base_url: ${s.url}
    streams:
      - name: items
        path: /items
        paginate: { type: offset, limit: 100 }
        prefetch_pages: 1
        primary_key: [id]
        write: append
`);
  const first = await sluice(['run', p.file, '--json'], { home: p.home, cwd: p.dir });
  assert.equal(first.code, 1, first.stderr);
  assert.match(JSON.parse(first.stdout).error ?? JSON.stringify(JSON.parse(first.stdout).streams), /HTTP 404/);
  const [partial] = await duckQuery(p.warehouse, 'SELECT count(*)::INT AS n FROM items');
  assert.equal(partial.n, 400, 'pages 1-4 committed with their checkpoints');
  broken = false;
  s.reset();
  const second = await sluice(['run', p.file, '--json'], { home: p.home, cwd: p.dir });
  assert.equal(second.code, 0, second.stderr);
  assert.equal(s.stats.log[0].url.searchParams.get('offset'), '400', 'resumed at the page that failed');
  assert.equal(JSON.parse(second.stdout).streams.items.loaded, 550);
  const [all] = await duckQuery(p.warehouse, 'SELECT count(*)::INT AS n, count(DISTINCT id)::INT AS d, max(id)::INT AS m FROM items');
  assert.deepEqual(all, { n: 950, d: 950, m: 950 });
  // The finished run keeps no pagination in state: a third run starts from the beginning again.
  s.reset();
  const third = await sluice(['run', p.file, '--json'], { home: p.home, cwd: p.dir });
  assert.equal(third.code, 0, third.stderr);
  assert.equal(s.stats.log[0].url.searchParams.get('offset'), '0');
});
