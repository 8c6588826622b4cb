// The log source end to end through the real CLI: every format into typed columns, gzip archives, bad lines to the
// DLQ; follow mode in a child process with appends, rotation, truncation, SIGTERM and resume.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { duckQuery, repoRoot, sluice, sluiceBin, tempDir } from '../helpers.js';

const addsUp = (c: { extracted: number; loaded: number; dead_lettered: number; filtered: number }) =>
  c.extracted === c.loaded + c.dead_lettered + c.filtered;

function project(yaml: string, files: Record<string, string | Buffer> = {}) {
  const t = tempDir('sluice-log-');
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(t.dir, name, '..'), { recursive: true });
    writeFileSync(join(t.dir, name), content);
  }
  writeFileSync(join(t.dir, 'pipeline.yaml'), yaml);
  return { ...t, file: join(t.dir, 'pipeline.yaml'), home: join(t.dir, '.sluice'), warehouse: join(t.dir, '.sluice', 'warehouse.duckdb') };
}

const ACCESS_OLD = [
  '203.0.113.5 - - [22/Nov/2026:23:59:58 +0100] "GET /old HTTP/1.1" 200 512 "-" "Mozilla/5.0"',
  '2001:db8::1 - bob [22/Nov/2026:23:59:59 +0100] "POST /login HTTP/1.1" 302 - "https://ex.org/" "curl/8.4.0"',
].join('\n') + '\n';
const ACCESS = [
  '198.51.100.2 - - [23/Nov/2026:10:00:00 +0000] "GET /a?x=1 HTTP/2.0" 200 1234 "-" "Mozilla/5.0 (compatible; \\"Bot\\")"',
  'this is not an access log line',
  '::ffff:10.0.0.1 - - [23/Nov/2026:10:00:01 -0500] "DELETE /b HTTP/1.1" 404 0 "https://ex.org/a" "-"',
].join('\n') + '\n';
const SYSLOG = [
  '<34>Oct 11 22:14:15 mymachine su[230]: \'su root\' failed on /dev/pts/8',
  'Nov  3 01:02:03 web-1 CRON: (root) CMD (true)',
  '???',
].join('\n') + '\n';
const SYSLOG5424 = [
  '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 99 ID47 [exampleSDID@32473 iut="3" eventSource="App\\"lication\\]"] An event',
  '<13>1 2026-11-23T10:00:00.5+02:00 host app - - - plain message',
  '<13>1 2026-11-23T10:00:00Z host app - - [broken',
].join('\n') + '\n';

describe('log source', () => {
  const cleanups: (() => void)[] = [];
  after(() => cleanups.forEach((c) => c()));

  test('every format into typed columns; gzip archive and plain file by one glob; bad lines → DLQ with line numbers', async () => {
    const p = project(`pipeline: logs
sources:
  - name: logs
    type: log
    streams:
      - name: access
        path: logs/access.log*
        format: apache_combined
      - name: syslog
        path: logs/syslog
        format: syslog_3164
        year: 2025
        timezone: "+01:00"
      - name: syslog5424
        path: logs/rfc5424.log
        format: syslog_5424
      - name: app
        path: logs/app.jsonl
        format: json
      - name: custom
        path: logs/custom.log
        format: regex
        regex: '^(?<level>[A-Z]+) (?<code>\\d+) (?<msg>.*)$'
        columns: { code: integer }
`, {
      'logs/access.log.1.gz': gzipSync(ACCESS_OLD),
      'logs/access.log': ACCESS,
      'logs/syslog': SYSLOG,
      'logs/rfc5424.log': SYSLOG5424,
      'logs/app.jsonl': '{"ts":"2026-11-23T10:00:00Z","level":"info","n":1}\n{"ts":"2026-11-23T10:00:01Z","level":"warn","n":2}\nnot json\n',
      'logs/custom.log': 'WARN 42 disk almost full\nINFO 7 ok\nbad\n',
    });
    cleanups.push(p.cleanup);
    const run = await sluice(['run', p.file, '--json'], { home: p.home });
    assert.equal(run.code, 3, run.stderr);
    const s = JSON.parse(run.stdout);
    const counts = (name: string) => [s.streams[name].extracted, s.streams[name].loaded, s.streams[name].dead_lettered];
    assert.deepEqual(counts('access'), [5, 4, 1]);
    assert.deepEqual(counts('syslog'), [3, 2, 1]);
    assert.deepEqual(counts('syslog5424'), [3, 2, 1]);
    assert.deepEqual(counts('app'), [3, 2, 1]);
    assert.deepEqual(counts('custom'), [3, 2, 1]);
    for (const c of Object.values(s.streams)) assert.ok(addsUp(c as never), JSON.stringify(c));

    const types = await duckQuery(p.warehouse, `SELECT table_name || '.' || column_name AS c, data_type AS t FROM information_schema.columns
      WHERE table_name IN ('access', 'syslog', 'syslog5424', 'custom')`);
    const typeOf = Object.fromEntries(types.map((r) => [r.c, r.t]));
    assert.equal(typeOf['access.status'], 'INTEGER');
    assert.equal(typeOf['access.bytes'], 'BIGINT');
    assert.equal(typeOf['access.timestamp'], 'TIMESTAMP WITH TIME ZONE');
    assert.equal(typeOf['syslog.pid'], 'INTEGER');
    assert.equal(typeOf['syslog5424.structured_data'], 'JSON');
    assert.equal(typeOf['custom.code'], 'INTEGER');

    const access = await duckQuery(p.warehouse, `SELECT remote_host, "user", epoch("timestamp")::DOUBLE AS t, method, path, status, bytes::INT AS bytes,
      referer, user_agent FROM access ORDER BY "timestamp"`);
    assert.deepEqual(access.map((r) => r.remote_host), ['203.0.113.5', '2001:db8::1', '198.51.100.2', '::ffff:10.0.0.1']);
    assert.equal(access[0].t, Date.UTC(2026, 10, 22, 22, 59, 58) / 1000, 'the +0100 zone of the line is kept');
    assert.equal(access[3].t, Date.UTC(2026, 10, 23, 15, 0, 1) / 1000);
    assert.deepEqual([access[1].user, access[1].bytes, access[1].status, access[1].method], ['bob', null, 302, 'POST']);
    assert.equal(access[2].user_agent, 'Mozilla/5.0 (compatible; "Bot")');
    assert.deepEqual([access[3].referer, access[3].user_agent, access[3].bytes], ['https://ex.org/a', null, 0]);

    const sys = await duckQuery(p.warehouse, 'SELECT facility, severity, epoch("timestamp")::DOUBLE AS t, hostname, app, pid, message FROM syslog ORDER BY "timestamp"');
    assert.deepEqual(sys[0], {
      facility: 4, severity: 2, t: Date.UTC(2025, 9, 11, 21, 14, 15) / 1000, hostname: 'mymachine', app: 'su', pid: 230, message: "'su root' failed on /dev/pts/8",
    });
    assert.deepEqual([sys[1].facility, sys[1].app, sys[1].pid], [null, 'CRON', null]);
    const s5 = await duckQuery(p.warehouse, `SELECT pid, msgid, structured_data->'exampleSDID@32473'->>'eventSource' AS src, message FROM syslog5424 ORDER BY "timestamp"`);
    assert.deepEqual(s5, [
      { pid: '99', msgid: 'ID47', src: 'App"lication]', message: 'An event' },
      { pid: null, msgid: null, src: null, message: 'plain message' },
    ]);

    const dlq = JSON.parse((await sluice(['dlq', 'list', '--json'], { home: p.home })).stdout) as { stream: string; reason: string; raw: string; position: { file: string; line: number } }[];
    const where = Object.fromEntries(dlq.map((d) => [d.stream, `${d.position.file}:${d.position.line}`]));
    assert.deepEqual(where, {
      access: 'logs/access.log:2', syslog: 'logs/syslog:3', syslog5424: 'logs/rfc5424.log:3', app: 'logs/app.jsonl:3', custom: 'logs/custom.log:3',
    });
    assert.equal(dlq.find((d) => d.stream === 'access')!.raw, 'this is not an access log line');

    // Unchanged files are not read twice.
    const again = JSON.parse((await sluice(['run', p.file, '--json'], { home: p.home })).stdout);
    for (const c of Object.values(again.streams)) assert.equal((c as { extracted: number }).extracted, 0);
  });

  test('follow: appends, a partial line, rotation, truncation, SIGTERM commits; re-runs resume without loss or duplicates', async () => {
    const p = project(`pipeline: follow
sources:
  - name: logs
    type: log
    streams:
      - name: events
        path: logs/app.log
        format: json
        follow: true
        poll_ms: 20
        flush_ms: 50
        columns: { n: integer }
`, { 'logs/app.log': line(1) + line(2) + line(3) });
    cleanups.push(p.cleanup);
    const log = join(p.dir, 'logs', 'app.log');

    let run = startRun(p.file, p.home);
    await run.committed(3);
    appendFileSync(log, line(4) + 'garbage\n' + '{"n":5,');
    await run.committed(4);
    // Rotation: the writer finishes its line in the old file, which is renamed; a new file starts.
    appendFileSync(log, '"msg":"line 5"}\n' + line(6));
    renameSync(log, `${log}.1`);
    writeFileSync(log, line(7) + line(8));
    await run.committed(8);
    // Truncation (copytruncate): the file is cut to a shorter one and written again from the start.
    writeFileSync(log, line(9));
    await run.committed(9);
    appendFileSync(log, line(10));
    // The line read before SIGTERM is committed too; the dead-lettered line makes it a partial success.
    assert.equal(await run.stop(), 3, run.stderr());
    assert.match(run.stderr(), /log rotated; finished the old file/);
    assert.match(run.stderr(), /log truncated; reading it again from the start/);
    assert.deepEqual(await numbers(p.warehouse), range(1, 10));

    const dlq = JSON.parse((await sluice(['dlq', 'list', '--json'], { home: p.home })).stdout) as { raw: string; position: { line: number; offset: number } }[];
    assert.deepEqual(dlq.map((d) => [d.raw, d.position.line]), [['garbage', 5]]);

    // Resume: only lines appended since the last commit.
    appendFileSync(log, line(11) + line(12));
    run = startRun(p.file, p.home);
    await run.committed(2);
    assert.equal(await run.stop(), 0, run.stderr());
    assert.deepEqual(await numbers(p.warehouse), range(1, 12));

    // Rotated while nothing was running: the rest of the old file first, then the new one from its start.
    appendFileSync(log, line(13));
    renameSync(log, `${log}.2`);
    writeFileSync(log, line(14));
    run = startRun(p.file, p.home);
    await run.committed(2);
    assert.equal(await run.stop(), 0, run.stderr());
    assert.match(run.stderr(), /rotated since the last run; finishing the old file first/);
    assert.deepEqual(await numbers(p.warehouse), range(1, 14));
  });
});

const line = (n: number): string => `{"n":${n},"msg":"line ${n}"}\n`;
const range = (a: number, b: number): number[] => Array.from({ length: b - a + 1 }, (_, i) => a + i);

async function numbers(warehouse: string): Promise<number[]> {
  return (await duckQuery(warehouse, 'SELECT n FROM events ORDER BY n')).map((r) => Number(r.n));
}

/** `sluice run` in a child process we can signal, watching its debug log for commits. */
function startRun(file: string, home: string) {
  const child = spawn(process.execPath, [sluiceBin, 'run', file, '--json'], {
    cwd: repoRoot, env: { ...process.env, SLUICE_HOME: home, SLUICE_LOG_LEVEL: 'debug' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let loaded = 0;
  const waiters: { n: number; done: () => void }[] = [];
  let partial = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d;
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop()!;
    for (const text of lines) {
      if (text.includes('checkpoint committed')) loaded = Math.max(loaded, (JSON.parse(text) as { loaded: number }).loaded);
    }
    for (const w of waiters.filter((x) => loaded >= x.n)) w.done();
  });
  const exit = new Promise<number | null>((done) => child.on('close', done));
  return {
    stderr: () => stderr,
    committed: (n: number): Promise<void> => new Promise((done, fail) => {
      if (loaded >= n) return done();
      const timer = setTimeout(() => fail(new Error(`timed out waiting for ${n} committed rows (have ${loaded}):\n${stderr}`)), 15_000);
      waiters.push({ n, done: () => { clearTimeout(timer); done(); } });
      void exit.then((code) => fail(new Error(`sluice exited with ${code} before ${n} rows were committed:\n${stderr}`)));
    }),
    stop: async (): Promise<number | null> => {
      child.kill('SIGTERM');
      return exit;
    },
  };
}
