// examples/civic run as its README says: the replay server (a child process on a free port, recorded OpenParliament
// and Represent responses with the real APIs' pagination) and the real `sluice` CLI with the base URLs pointed at it.
// Proves: every stream lands in its unified table; counts add up; the bills repeated across the recorded offset pages
// are loaded once; ballots link to votes and MPs; the four councils' councillors carry their jurisdiction; the
// injected bad records (an MP with province "PQ", a councillor without a name) and the untitled real bills end in
// the DLQ with the check's reason; a second run is idempotent (merge: no new rows); publish.yaml puts MPs and bills in
// Redis, once however often it runs. The commented PostgreSQL destination block of the pipeline, uncommented, loads
// the same model into PostgreSQL, idempotently too, and makes MPs and bills searchable (`sluice search`).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { duckQuery, repoRoot, sluice, tempDir } from '../helpers.js';

const example = join(repoRoot, 'examples', 'civic');
const data = join(example, 'replay', 'data');

let server: ChildProcess | undefined;
let baseUrl = '';
const cleanups: (() => void)[] = [];

before(async () => {
  server = spawn(process.execPath, [join(example, 'replay', 'server.js'), '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  baseUrl = await new Promise<string>((resolve, reject) => {
    let out = '';
    let err = '';
    server!.stdout!.on('data', (d) => {
      out += d;
      const line = out.split('\n')[0];
      if (out.includes('\n')) resolve(line.trim());
    });
    server!.stderr!.on('data', (d) => (err += d));
    server!.on('exit', (code) => reject(new Error(`replay server exited (${code}): ${err}`)));
  });
});

after(() => {
  server?.kill('SIGTERM');
  cleanups.forEach((c) => c());
});

type Counts = { extracted: number; loaded: number; dead_lettered: number; filtered: number; inserted: number; updated: number };
type Summary = { status: string; streams: Record<string, Counts>; error?: string };

const STREAMS = ['politicians', 'memberships', 'bills', 'votes', 'ballots', 'debates', 'committees', 'sessions', 'jurisdictions', 'councillors'];

/** What the recordings hold, computed from the files themselves (so the test follows the data, not magic numbers). */
function recorded() {
  const op = (f: string) => JSON.parse(readFileSync(join(data, 'openparliament', f), 'utf8'));
  const bills = readdirSync(join(data, 'openparliament')).filter((f) => f.startsWith('bills-p')).flatMap((f) => op(f).objects as { url: string; name: { en: string } }[]);
  const distinct = new Map(bills.map((b) => [b.url, b]));
  const votes = [...op('votes_list_offset0_limit20.json').objects, ...op('votes-extra.json')];
  const ballots = [...op('ballots_list_offset0_limit20.json').objects, ...op('ballots-extra.json')];
  // One detail page per listed MP (verbatim or hand-made); each lists the MP's memberships.
  const details = (op('politicians.json') as { url: string }[]).map((p) => {
    const slug = p.url.split('/')[2];
    const files = readdirSync(join(data, 'openparliament')).filter((f) => f === `politician_detail_${slug}.json` || f === `politician_generated_${slug}.json`);
    assert.equal(files.length, 1, `one detail page for ${slug}`);
    return op(files[0]) as { memberships: unknown[] };
  });
  return {
    memberships: details.reduce((n, d) => n + d.memberships.length, 0),
    billRecords: bills.length,
    distinctBills: distinct.size,
    untitledBills: [...distinct.values()].filter((b) => !b.name.en).length,
    sessions: new Set(bills.map((b) => (b as unknown as { session: string }).session)).size,
    votes: votes.length,
    ballots: ballots.length,
  };
}

test('civic example: OpenParliament + Represent replayed into the unified model, checked, merged idempotently', async () => {
  const { dir, cleanup } = tempDir('sluice-civic-');
  cleanups.push(cleanup);
  const home = join(dir, '.sluice');
  const warehouse = join(home, 'warehouse.duckdb');
  const env = {
    OPENPARLIAMENT_URL: baseUrl, REPRESENT_URL: baseUrl,
    // Politeness limits are for the real APIs; the replay server can take it. Small Represent pages walk meta.next.
    OPENPARLIAMENT_RPS: '500', REPRESENT_RPS: '500', REPRESENT_PAGE_SIZE: '7',
  };
  const run = async (): Promise<{ code: number | null; s: Summary; stderr: string }> => {
    const r = await sluice(['run', join(example, 'pipeline.yaml'), '--json'], { home, env });
    let s: Summary;
    try {
      s = JSON.parse(r.stdout) as Summary;
    } catch {
      assert.fail(`no JSON summary (exit ${r.code}): ${r.stderr}`);
    }
    for (const name of STREAMS) {
      const c = s.streams[name];
      assert.ok(c, `stream ${name} ran`);
      assert.equal(c.extracted, c.loaded + c.dead_lettered + c.filtered, `${name}: ${JSON.stringify(c)}`);
    }
    return { code: r.code, s, stderr: r.stderr };
  };
  const q = (sql: string) => duckQuery(warehouse, sql);
  const n = async (sql: string) => Number((await q(sql))[0].n);
  const rec = recorded();

  const first = await run();
  assert.equal(first.code, 3, `partial success expected (bad records dead-lettered): ${first.s.error ?? first.stderr}`);
  for (const name of STREAMS) assert.ok(first.s.streams[name].loaded > 0, `${name} loaded rows`);

  // Bills: every record extracted, the repeats filtered, the untitled ones (real data) dead-lettered by the seed rule.
  const bills = first.s.streams.bills;
  assert.equal(bills.extracted, rec.billRecords);
  assert.equal(bills.filtered, rec.billRecords - rec.distinctBills);
  assert.equal(bills.dead_lettered, rec.untitledBills);
  assert.ok(rec.billRecords - rec.distinctBills > 400 && rec.untitledBills > 0, 'the recordings hold the traps');
  assert.equal(await n('SELECT count(*) AS n FROM bills'), rec.distinctBills - rec.untitledBills);
  assert.equal(await n('SELECT count(DISTINCT bill_id) AS n FROM bills'), rec.distinctBills - rec.untitledBills);
  const c2 = (await q("SELECT title, title_fr, session_id, source, source_id FROM bills WHERE bill_id = '/bills/37-3/C-235/'"))[0];
  assert.deepEqual([c2.title_fr, c2.session_id, c2.source, c2.source_id], [null, '37-3', 'openparliament', '/bills/37-3/C-235/'], 'name.fr "" becomes null');

  // Sessions: derived from the bill list, one per session code, distinct bills per session add up to all bills.
  assert.equal(await n('SELECT count(*) AS n FROM sessions'), rec.sessions);
  assert.equal(await n('SELECT sum(bills) AS n FROM sessions'), rec.distinctBills);
  assert.equal(await n("SELECT parliament * 10 + session_number AS n FROM sessions WHERE session_id = '41-1'"), 411);

  // Votes and ballots: both pages of votes, every ballot linked to a loaded vote; all but one to a loaded MP.
  assert.equal(await n('SELECT count(*) AS n FROM votes'), rec.votes);
  assert.equal(await n('SELECT count(*) AS n FROM ballots'), rec.ballots);
  assert.equal(await n('SELECT count(*) AS n FROM ballots b LEFT JOIN votes v USING (vote_id) WHERE v.vote_id IS NULL'), 0);
  assert.equal(await n('SELECT count(*) AS n FROM votes v JOIN bills b USING (bill_id)'), await n('SELECT count(*) AS n FROM votes WHERE bill_id IS NOT NULL'));
  assert.equal(await n("SELECT count(*) AS n FROM votes WHERE outcome NOT IN ('passed', 'failed', 'tied')"), 0);
  const orphans = await q('SELECT b.mp_id FROM ballots b LEFT JOIN mps m USING (mp_id) WHERE m.mp_id IS NULL');
  assert.deepEqual(orphans.map((r) => r.mp_id), ['/politicians/bob-rae/'], 'a former MP\'s ballot loads (warn), the rest join mps');
  const harper = (await q("SELECT v.bill_id, b.ballot FROM ballots b JOIN mps m USING (mp_id) JOIN votes v USING (vote_id) WHERE m.name = 'Stephen Harper' AND v.vote_id = '/votes/41-1/758/'"))[0];
  assert.equal(harper.bill_id, '/bills/41-1/C-49/');

  // Memberships: every MP's detail page (child stream), its party/riding history; ballots point at them.
  assert.equal(await n('SELECT count(*) AS n FROM memberships'), rec.memberships);
  assert.deepEqual((await q("SELECT party FROM memberships WHERE mp_id = '/politicians/stephen-harper/' ORDER BY start_date")).map((r) => r.party),
    ['Reform', 'Canadian Alliance', 'Conservative'], 'the verbatim detail page\'s history');
  assert.equal(await n('SELECT count(*) AS n FROM ballots b JOIN memberships m USING (membership_id, mp_id)'), rec.ballots - 1);
  assert.equal(await n(`SELECT count(*) AS n FROM mps p JOIN memberships m USING (mp_id)
    WHERE m.end_date IS NULL AND (m.province IS DISTINCT FROM p.province OR m.riding IS DISTINCT FROM p.riding)`), 0, 'list and detail agree');

  // MPs: the injected "PQ" province is in the DLQ, not the table; every MP points at the federal jurisdiction.
  assert.equal(first.s.streams.politicians.dead_lettered, 1);
  assert.equal(await n("SELECT count(*) AS n FROM mps WHERE mp_id = '/politicians/jean-rousseau/'"), 0);
  assert.equal(await n("SELECT count(*) AS n FROM mps m JOIN jurisdictions j USING (jurisdiction_id) WHERE j.type = 'federal'"), await n('SELECT count(*) AS n FROM mps'));
  assert.equal((await q("SELECT photo_url FROM mps WHERE mp_id = '/politicians/erin-otoole/'"))[0].photo_url, null, 'image: null stays null');

  // Jurisdictions and councillors: the federal House and the four councils, each councillor with its jurisdiction.
  const juris = await q('SELECT jurisdiction_id, type, province FROM jurisdictions ORDER BY jurisdiction_id');
  assert.deepEqual(juris.map((r) => [r.jurisdiction_id, r.type, r.province]), [
    ['calgary-city-council', 'municipal', 'AB'], ['house-of-commons', 'federal', null], ['ottawa-city-council', 'municipal', 'ON'],
    ['toronto-city-council', 'municipal', 'ON'], ['vancouver-city-council', 'municipal', 'BC'],
  ]);
  const councils = await q(`SELECT j.name, j.province, count(*)::INT AS n, count(c.email)::INT AS emails
    FROM councillors c JOIN jurisdictions j USING (jurisdiction_id) GROUP BY j.name, j.province ORDER BY j.name`);
  assert.deepEqual(councils.map((r) => [r.name, r.province, r.n]), [
    ['Calgary City Council', 'AB', 5], ['Ottawa City Council', 'ON', 5], ['Toronto City Council', 'ON', 6], ['Vancouver City Council', 'BC', 5],
  ]);
  assert.equal(await n("SELECT count(*) AS n FROM councillors WHERE email IS NULL AND name = 'Mike Colle'"), 1, 'email "" becomes null');
  assert.equal(first.s.streams.councillors.filtered, 5, 'representatives of other sets are filtered out');

  // Lineage on every table.
  for (const [table, source] of [['mps', 'openparliament'], ['memberships', 'openparliament'], ['bills', 'openparliament'], ['votes', 'openparliament'], ['ballots', 'openparliament'],
    ['debates', 'openparliament'], ['committees', 'openparliament'], ['sessions', 'openparliament'], ['jurisdictions', 'represent'], ['councillors', 'represent']]) {
    assert.equal(await n(`SELECT count(*) AS n FROM ${table} WHERE source IS DISTINCT FROM '${source}' OR source_id IS NULL`), 0, `${table} lineage`);
  }

  // The DLQ holds each failing record with the check's reason.
  const dlq = await sluice(['dlq', 'list', '--json', '--pipeline', 'civic'], { home });
  const rows = JSON.parse(dlq.stdout) as { stream: string; stage: string; reason: string; raw: string }[];
  const byStream = (s: string) => rows.filter((r) => r.stream === s);
  assert.equal(byStream('councillors').length, 1);
  assert.match(byStream('councillors')[0].reason, /not_null\(.*\) failed: column "name" is null/);
  assert.match(byStream('councillors')[0].raw, /Kitchissippi/);
  assert.equal(byStream('politicians').length, 1);
  assert.match(byStream('politicians')[0].reason, /accepted_values\(province\) failed: column "province": "PQ" is not one of AB, BC/);
  assert.equal(byStream('bills').length, rec.untitledBills);
  assert.ok(rows.every((r) => r.stage === 'check'), JSON.stringify(rows.map((r) => r.stage)));

  // Second run: the same recordings merge onto themselves; nothing new, nothing lost.
  // One table at a time: each count opens the warehouse file with an instance of its own.
  const counts = async () => {
    const out: number[] = [];
    for (const t of ['mps', 'memberships', 'bills', 'votes', 'ballots', 'debates', 'committees', 'sessions', 'jurisdictions', 'councillors']) {
      out.push(await n(`SELECT count(*) AS n FROM ${t}`));
    }
    return out;
  };
  const before2 = await counts();
  const second = await run();
  assert.equal(second.code, 3, second.s.error ?? second.stderr);
  for (const name of STREAMS) assert.equal(second.s.streams[name].inserted, 0, `${name}: no new rows on a re-run`);
  const after2 = await counts();
  assert.deepEqual(after2, before2);
  // Publish: MPs and bills as JSON under a prefix of this test's own, from the warehouse just loaded.
  const prefix = `civic_t_${randomBytes(4).toString('hex')}:`;
  const redis = new Redis(6379, '127.0.0.1');
  try {
    const keys = async (table: string) => (await redis.keys(`${prefix}${table}:*`)).length;
    for (let i = 0; i < 2; i++) {
      const pub = await sluice(['run', join(example, 'publish.yaml'), '--json'], { home, env: { CIVIC_REDIS_PREFIX: prefix } });
      assert.equal(pub.code, 0, pub.stderr);
      assert.equal(await keys('mps'), after2[0], `run ${i + 1}: one key per MP`);
      assert.equal(await keys('bills'), after2[2], `run ${i + 1}: one key per bill`);
    }
    const c49 = JSON.parse((await redis.get(`${prefix}bills:/bills/41-1/C-49/`))!) as Record<string, unknown>;
    const [row] = await q("SELECT title, number, session_id FROM bills WHERE bill_id = '/bills/41-1/C-49/'");
    assert.deepEqual([c49.title, c49.number, c49.session_id], [row.title, row.number, row.session_id]);
  } finally {
    const mine = await redis.keys(`${prefix}*`);
    if (mine.length) await redis.del(...mine);
    redis.disconnect();
  }
});

test('civic example: the commented PostgreSQL destination loads the same model, idempotently', async () => {
  const { dir, cleanup } = tempDir('sluice-civic-pg-');
  cleanups.push(cleanup);
  const url = 'postgres://postgres@127.0.0.1:5432/test';
  const schema = `civic_t_${randomBytes(5).toString('hex')}`;
  const yaml = readFileSync(join(example, 'pipeline.yaml'), 'utf8');
  const block = /^# destination:\n# {3}type: postgres\n# {3}url: \$\{CIVIC_DATABASE_URL\}[^\n]*\n# {3}schema: civic\n((?:# {3}.*\n)*)/m;
  assert.match(yaml, block, 'the pipeline carries the commented PostgreSQL block');
  const file = join(dir, 'pipeline.yaml');
  writeFileSync(file, yaml.replace(block, (_, rest: string) => `destination:\n  type: postgres\n  url: \${CIVIC_DATABASE_URL}\n  schema: ${schema}\n${rest.replace(/^# /gm, '')}`));
  const client = new pg.Client(url);
  await client.connect();
  try {
    const env = {
      CIVIC_DATABASE_URL: url, OPENPARLIAMENT_URL: baseUrl, REPRESENT_URL: baseUrl, OPENPARLIAMENT_RPS: '500', REPRESENT_RPS: '500',
    };
    const home = join(dir, '.sluice');
    // One statement for all counts: a pg client runs one query at a time.
    const TABLES = ['mps', 'memberships', 'bills', 'votes', 'ballots', 'debates', 'committees', 'sessions', 'jurisdictions', 'councillors'];
    const counts = async () => (await client.query(
      `SELECT ${TABLES.map((t) => `(SELECT count(*)::int FROM "${schema}"."${t}") AS "${t}"`).join(', ')}`)).rows[0] as Record<string, number>;
    const first = await sluice(['run', file, '--json'], { home, env });
    const s1 = JSON.parse(first.stdout) as Summary;
    assert.equal(first.code, 3, s1.error ?? first.stderr);
    const rec = recorded();
    const loaded = await counts();
    assert.equal(loaded.bills, rec.distinctBills - rec.untitledBills);
    assert.equal(loaded.ballots, rec.ballots);
    assert.equal(loaded.councillors, 21);
    const orphanBallots = await client.query(`SELECT count(*) AS n FROM "${schema}".ballots b LEFT JOIN "${schema}".votes v USING (vote_id) WHERE v.vote_id IS NULL`);
    assert.equal(Number(orphanBallots.rows[0].n), 0);
    const second = await sluice(['run', file, '--json'], { home, env });
    const s2 = JSON.parse(second.stdout) as Summary;
    assert.equal(second.code, 3, s2.error ?? second.stderr);
    for (const name of STREAMS) assert.equal(s2.streams[name].inserted, 0, `${name}: no new rows on a re-run`);
    assert.deepEqual(await counts(), loaded);

    // Search, as the block's comment says: a word of a bill's title finds it, an MP is found by riding.
    const search = async (table: string, query: string) => {
      const r = await sluice(['search', file, table, query, '--json'], { home, env });
      assert.equal(r.code, 0, r.stderr);
      return (JSON.parse(r.stdout) as { rows: Record<string, unknown>[] }).rows;
    };
    const c49 = (await client.query(`SELECT title FROM "${schema}".bills WHERE bill_id = '/bills/41-1/C-49/'`)).rows[0] as { title: string };
    const hits = await search('bills', `"${c49.title}"`);
    assert.ok(hits.some((h) => h.number === 'C-49'), `C-49 found by its title: ${JSON.stringify(hits.slice(0, 3))}`);
    const mp = (await client.query(`SELECT name, riding FROM "${schema}".mps WHERE riding IS NOT NULL ORDER BY mp_id LIMIT 1`)).rows[0] as { name: string; riding: string };
    assert.ok((await search('mps', `"${mp.riding}"`)).some((h) => h.name === mp.name), `${mp.name} found by riding ${mp.riding}`);
    assert.equal((await search('mps', 'zzzqqqxxyy')).length, 0, 'no false hits');
  } finally {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
  }
});

test('civic replay server: verbatim pages byte for byte, real pagination envelopes, API quirks', async () => {
  const get = (path: string) => fetch(new URL(path, baseUrl));
  // A request for exactly a recorded page gets the recorded bytes, with OpenParliament's header.
  const p1 = await get('/bills/?limit=500');
  assert.equal(p1.headers.get('api-version'), 'v1');
  assert.equal(await p1.text(), readFileSync(join(data, 'openparliament', 'bills-p01.json'), 'utf8'));
  // Other pages are cut from the recorded order: relative next_url keeping the filters, limit+1 look-ahead.
  const page = await (await get('/votes/ballots/?vote=%2Fvotes%2F41-1%2F744%2F&limit=5')).json() as { objects: { vote_url: string }[]; pagination: { next_url: string | null } };
  assert.equal(page.objects.length, 5);
  assert.ok(page.objects.every((o) => o.vote_url === '/votes/41-1/744/'));
  assert.equal(page.pagination.next_url, '/votes/ballots/?vote=%2Fvotes%2F41-1%2F744%2F&limit=5&offset=5');
  // The verbatim votes page's next_url carries a misspelled filter; it is ignored, as the real API ignores it.
  const p2 = await (await get('/votes/?offset=20&limit=20&politican=alex-atamanenko&format=json')).json() as { objects: unknown[]; pagination: { next_url: string | null; previous_url: string } };
  assert.equal(p2.objects.length, 5);
  assert.equal(p2.pagination.next_url, null);
  assert.equal(p2.pagination.previous_url, '/votes/?politican=alex-atamanenko&format=json&limit=20&offset=0');
  const bad = await get('/bills/?limit=ten');
  assert.equal(bad.status, 400);
  assert.match(bad.headers.get('content-type') ?? '', /text\/plain/);
  // Represent: meta with total_count and relative next/previous; limit 0 means 1000.
  const reps = await (await get('/representatives/toronto-city-council/?limit=4&offset=4')).json() as { objects: unknown[]; meta: Record<string, unknown> };
  assert.deepEqual(reps.meta, { offset: 4, limit: 4, total_count: 6, previous: '/representatives/toronto-city-council/?limit=4&offset=0', next: null });
  const all = await (await get('/representatives/?limit=0')).json() as { meta: { limit: number; next: string | null } };
  assert.deepEqual([all.meta.limit, all.meta.next], [1000, null]);
  assert.equal((await get('/nowhere/')).status, 404);
});
