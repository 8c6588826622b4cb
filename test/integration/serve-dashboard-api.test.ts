// What the dashboard asks of `sluice serve`, through a real serve process: the login cookie and its CSRF and origin
// checks, read-only tokens, pausing and resuming a schedule, each run's log lines and phase spans, recent runs with
// their rows, and a preview of a destination table whose names and values are hostile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { tempDir } from '../helpers.js';
import { api, serve, TOKEN } from '../support/serve-process.js';

const VIEWER = 'viewer-token-0123456789abcdef';

const waitFor = async <T>(what: string, get: () => Promise<T | undefined | false>, ms = 15_000): Promise<T> => {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(100)) {
    const v = await get();
    if (v) return v;
  }
  assert.fail(`timed out waiting for ${what}`);
};

test('the dashboard\'s API: login cookie with CSRF and origin checks, read-only tokens, pause and resume, logs, phase spans, table preview', async () => {
  const { dir, cleanup } = tempDir();
  writeFileSync(join(dir, 'tokens.txt'), `ops: ${TOKEN}\nviewer: ${VIEWER} read-only\n`);
  writeFileSync(join(dir, 'events.csv'), 'id,"<img src=x onerror=alert(1)>",amount\n1,<script>alert(1)</script>,10\n2,plain,not-a-number\n3,"a ""quoted"" one",30\n');
  writeFileSync(join(dir, 'ticker.yaml'), `pipeline: ticker
sources:
  - name: files
    type: csv
    streams:
      - name: events
        path: events.csv
        primary_key: id
        write: merge
        columns: { id: integer, amount: integer }
transforms:
  events:
    - trim: [amount]
destination: { type: sqlite, path: out.db }
schedule: { every: 1s, overlap: skip }
`);
  const server = serve(dir, join(dir, '.sluice'), 'dash');
  try {
    const url = await server.url;
    const ticker = () => api(url, '/api/pipelines/ticker').then((r) => r.body);
    // Runs are listed newest first: the oldest finished one is the first run (later ones find the file in state).
    const first = await waitFor('a finished run', async () => (await ticker()).recent_runs?.filter((r: { status: string }) => r.status !== 'running').at(-1));
    assert.deepEqual([first.extracted, first.loaded, first.dead_lettered], [3, 2, 1], 'the first run loads two rows and dead-letters one');
    assert.equal(first.status, 'partial_success');
    assert.equal((await ticker()).paused, false);

    // --- the run's phase spans and its log lines
    const run = (await api(url, `/api/runs/${first.run_id}`)).body;
    assert.equal(run.live, null, 'a finished run has no live counts');
    const extract = run.phases_by_stream.events.find((p: { phase: string }) => p.phase === 'extract');
    assert.ok(Date.parse(extract.started_at) >= Date.parse(run.started_at) - 5 && Date.parse(extract.ended_at) >= Date.parse(extract.started_at), JSON.stringify(extract));
    assert.ok(Date.parse(extract.ended_at) <= Date.parse(run.finished_at) + 5);
    // Each stream's transform steps beside its phases, as the run's summary has them.
    assert.deepEqual(run.steps_by_stream, run.summary.transformers);
    assert.deepEqual(run.steps_by_stream.events.map(({ duration_ms: _, ...s }: { duration_ms: number }) => s), [
      { step: 0, name: 'trim', records_in: 3, records_out: 3, failed: 0, filtered: 0 },
    ]);
    const logs = await waitFor('the run\'s log lines', async () => {
      const lines = (await api(url, `/api/runs/${first.run_id}/logs`)).body.lines as { seq: number; msg: string; level: string; stream: string | null }[];
      return lines.some((l) => l.msg === 'run finished') && lines;
    });
    assert.deepEqual(logs.map((l) => l.seq), logs.map((_, i) => i + 1));
    assert.equal(logs[0].msg, 'run started');
    assert.ok(logs.some((l) => l.stream === 'events'), 'stream lines say their stream');
    assert.ok(logs.every((l) => !JSON.stringify(l).includes(TOKEN)));
    assert.deepEqual((await api(url, `/api/runs/${first.run_id}/logs?after=1&limit=1`)).body.lines.map((l: { seq: number }) => l.seq), [2]);
    assert.equal((await api(url, `/api/runs/${first.run_id}/logs?after=-1`)).status, 400);

    // --- a preview of what landed: names and values are data, returned as they are
    const preview = (await api(url, '/api/pipelines/ticker/preview?stream=events&limit=5')).body;
    assert.deepEqual(preview.columns.filter((c: string) => !c.startsWith('_sluice')).sort(), ['<img src=x onerror=alert(1)>', 'amount', 'id']);
    const col = preview.columns.indexOf('<img src=x onerror=alert(1)>');
    assert.deepEqual(preview.rows.map((r: unknown[]) => r[col]).sort(), ['<script>alert(1)</script>', 'a "quoted" one']);
    assert.equal((await api(url, '/api/pipelines/ticker/preview?stream=events&limit=1')).body.rows.length, 1);
    assert.equal((await api(url, '/api/pipelines/ticker/preview?stream=nope')).status, 400);
    assert.deepEqual((await api(url, '/api/pipelines/ticker/tables')).body, { destination: 'sqlite', tables: [{ stream: 'events', table: 'events' }] });

    // --- the dashboard's login: a cookie, then CSRF and origin checks on what changes something
    const login = (token: string) => fetch(`${url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
    assert.equal((await login('wrong-token')).status, 401);
    const ok = await login(TOKEN);
    assert.equal(ok.status, 204);
    const setCookie = ok.headers.get('set-cookie')!;
    assert.match(setCookie, /HttpOnly/i);
    assert.match(setCookie, /SameSite=Strict/i);
    const cookie = setCookie.split(';')[0];
    const session = await api(url, '/api/session', { token: null, headers: { cookie } });
    assert.deepEqual([session.status, session.body.actor, session.body.role], [200, 'token:ops', 'admin']);
    const csrf = session.body.csrf as string;
    const host = new URL(url).host;
    const pause = (headers: Record<string, string>) => api(url, '/api/pipelines/ticker/pause', { method: 'POST', token: null, headers: { cookie, ...headers } });
    assert.equal((await pause({})).status, 403, 'no CSRF token');
    assert.equal((await pause({ 'x-csrf-token': csrf.slice(1) + 'x' })).status, 403, 'a wrong CSRF token');
    assert.equal((await pause({ 'x-csrf-token': csrf, origin: 'http://evil.example' })).status, 403, 'another origin');
    assert.equal((await ticker()).paused, false, 'refused requests changed nothing');
    const paused = await pause({ 'x-csrf-token': csrf, origin: `http://${host}` });
    assert.equal(paused.status, 200, paused.text);
    assert.equal(paused.body.paused_by.actor, 'token:ops');
    assert.equal((await api(url, '/api/pipelines/ticker', { token: null, headers: { cookie: 'sluice_token=wrong' } })).status, 401);

    // --- paused: due times pass without runs; resumed: they run again (with no catch-up burst)
    await sleep(1500); // a run already queued when it paused may still finish
    const countRuns = async () => (await api(url, '/api/runs?pipeline=ticker&limit=1000')).body.runs.length as number;
    const whilePaused = await countRuns();
    await sleep(2500);
    assert.equal(await countRuns(), whilePaused, 'no run while paused');
    const p = await ticker();
    assert.equal(p.paused, true);
    assert.equal(p.next_run, null);
    // A run asked for explicitly still runs.
    assert.equal((await api(url, '/api/pipelines/ticker/runs', { method: 'POST' })).status, 202);
    // From the moment the service says a run is going, its page answers, recorded yet or not.
    const runId = await waitFor('the triggered run to start', async () => (await ticker()).running?.run_id as string | undefined);
    const page = await api(url, `/api/runs/${runId}`);
    assert.equal(page.status, 200, page.text);
    assert.equal(page.body.run_id, runId);
    await waitFor('the triggered run', async () => (await countRuns()) === whilePaused + 1);
    assert.equal((await api(url, '/api/pipelines/ticker/resume', { method: 'POST' })).body.paused, false);
    await waitFor('scheduled runs again', async () => (await countRuns()) >= whilePaused + 3);
    const audit = (await api(url, '/api/audit?pipeline=ticker&limit=1000')).body.entries as { seq: number; action: string; actor: string }[];
    assert.deepEqual(audit.filter((e) => e.action.startsWith('schedule.')).map((e) => [e.action, e.actor]), [['schedule.paused', 'token:ops'], ['schedule.resumed', 'token:ops']]);
    const newest = (await api(url, '/api/audit?pipeline=ticker&order=desc&limit=3')).body.entries as { seq: number }[];
    const last = audit.map((e) => e.seq).slice(-3).reverse();
    assert.ok(newest.length === 3 && newest[0].seq >= last[0] && newest[0].seq > newest[1].seq && newest[1].seq > newest[2].seq, JSON.stringify(newest.map((e) => e.seq)));
    assert.equal((await api(url, '/api/audit?order=sideways')).status, 400);

    // A second serve on the same port fails to start, and exits rather than schedule behind it.
    const second = serve(dir, join(dir, '.sluice-2'), 'second', ['--port', new URL(url).port]);
    const code = await new Promise<number | null>((resolve) => second.child.once('exit', resolve));
    second.url.catch(() => undefined);
    assert.notEqual(code, 0);
    assert.match(second.log(), /EADDRINUSE/);

    // --- a read-only token looks but does not act
    const viewer = await api(url, '/api/session', { token: VIEWER });
    assert.equal(viewer.body.role, 'read-only');
    assert.equal((await api(url, '/api/pipelines', { token: VIEWER })).status, 200);
    for (const [method, path] of [['POST', '/api/pipelines/ticker/runs'], ['POST', '/api/pipelines/ticker/pause'], ['DELETE', '/api/dlq?pipeline=ticker'], ['POST', '/api/dlq/replay']]) {
      const r = await api(url, path, { method, token: VIEWER });
      const needed = method === 'DELETE' ? 'admin' : 'operator'; // told the role it really lacks
      assert.deepEqual([r.status, r.body.error], [403, `forbidden: token "viewer" has the read-only role; ${method} ${path.split('?')[0]} needs ${needed}`], `${method} ${path}`);
    }
    assert.equal((await ticker()).paused, false);
  } finally {
    server.child.kill('SIGKILL');
    cleanup();
  }
});
