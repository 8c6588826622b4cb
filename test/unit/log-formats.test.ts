import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseLine, type LineOptions, type LineResult } from '../../src/connectors/log/log-formats.js';
import { logSourceSpec } from '../../src/connectors/log/log-spec.js';
import { LineSplitter } from '../../src/connectors/file-source/lines.js';
import type { RecordSink } from '../../src/connectors/file-source/file-source.js';

const opts = (format: LineOptions['format'], over: Partial<LineOptions> = {}): LineOptions => ({ format, zone: 'Z', ...over });
const row = (r: LineResult) => {
  assert.ok('row' in r, `expected a row, got ${JSON.stringify(r)}`);
  return r.row;
};
const error = (r: LineResult): string => {
  assert.ok('error' in r, `expected an error, got ${JSON.stringify(r)}`);
  return r.error;
};

test('apache common: the classic example line, IPv6 host, `-` bytes and user', () => {
  assert.deepEqual(row(parseLine('127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326', opts('apache_common'))), {
    remote_host: '127.0.0.1', ident: null, user: 'frank', timestamp: '2000-10-10T13:55:36-07:00', request: 'GET /apache_pb.gif HTTP/1.0',
    method: 'GET', path: '/apache_pb.gif', protocol: 'HTTP/1.0', status: 200, bytes: 2326,
  });
  const v6 = row(parseLine('2001:db8::ff00:42:8329 - - [01/Feb/2024:00:00:01 +0530] "HEAD / HTTP/1.1" 304 -', opts('apache_common')));
  assert.equal(v6.remote_host, '2001:db8::ff00:42:8329');
  assert.equal(v6.user, null);
  assert.equal(v6.bytes, null);
  assert.equal(v6.status, 304);
  assert.equal(v6.timestamp, '2024-02-01T00:00:01+05:30');
  // A garbage request line (a TLS handshake sent to a plain-HTTP port) is still a logged request.
  const junk = row(parseLine('10.0.0.9 - - [01/Feb/2024:00:00:01 +0000] "\\x16\\x03\\x01" 400 226', opts('apache_common')));
  assert.equal(junk.request, '\x16\x03\x01');
  assert.equal(junk.method, null);
  assert.equal(junk.status, 400);
});

test('apache combined and nginx: quotes inside the user agent, referer `-`, forwarded_for', () => {
  const line = '192.0.2.7 - - [23/Nov/2026:12:00:00 +0100] "POST /api?q=\\"x\\" HTTP/2.0" 201 17 "-" "Mozilla/5.0 (X11; \\"quoted\\") Gecko"';
  const r = row(parseLine(line, opts('apache_combined')));
  assert.equal(r.path, '/api?q="x"');
  assert.equal(r.referer, null);
  assert.equal(r.user_agent, 'Mozilla/5.0 (X11; "quoted") Gecko');
  const ng = row(parseLine('::1 - alice [23/Nov/2026:12:00:00 +0000] "GET /a HTTP/1.1" 200 0 "https://ex.org/\\x22q\\x22" "curl/8.0" "203.0.113.9, 10.0.0.1"', opts('nginx')));
  assert.equal(ng.referer, 'https://ex.org/"q"');
  assert.equal(ng.forwarded_for, '203.0.113.9, 10.0.0.1');
  assert.equal(ng.bytes, 0);
  assert.equal(row(parseLine('::1 - - [23/Nov/2026:12:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "ua"', opts('nginx'))).forwarded_for, null);
  // The formats are told apart: a common line is not a combined one and the reverse.
  assert.match(error(parseLine('127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 1', opts('apache_combined'))), /referer/);
  assert.match(error(parseLine(line, opts('apache_common'))), /apache_combined/);
});

test('access logs: impossible dates and broken lines are errors, not rows', () => {
  assert.match(error(parseLine('1.2.3.4 - - [31/Feb/2024:00:00:00 +0000] "GET / HTTP/1.1" 200 1', opts('apache_common'))), /invalid timestamp/);
  assert.match(error(parseLine('1.2.3.4 - - [01/Foo/2024:00:00:00 +0000] "GET / HTTP/1.1" 200 1', opts('apache_common'))), /invalid timestamp/);
  assert.match(error(parseLine('1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] "GET / HTTP/1.1 200 1', opts('apache_common'))), /not an apache_common/);
  assert.match(error(parseLine('hello world', opts('nginx'))), /not an nginx/);
});

test('syslog 3164: with and without PRI, no year, space-padded day, tag with and without pid', () => {
  const now = () => new Date('2026-03-01T00:00:00Z');
  const r = row(parseLine('<34>Oct 11 22:14:15 mymachine su[230]: \'su root\' failed for lonvick on /dev/pts/8', opts('syslog_3164', { now })));
  // October is in the future on 1 March 2026: last year's.
  assert.deepEqual(r, {
    facility: 4, severity: 2, timestamp: '2025-10-11T22:14:15Z', hostname: 'mymachine', app: 'su', pid: 230,
    message: "'su root' failed for lonvick on /dev/pts/8",
  });
  const plain = row(parseLine('Feb  5 08:00:01 web-1 CRON: (root) CMD (run-parts /etc/cron.hourly)', opts('syslog_3164', { now, zone: '+02:00' })));
  assert.equal(plain.timestamp, '2026-02-05T08:00:01+02:00');
  assert.equal(plain.facility, null);
  assert.equal(plain.app, 'CRON');
  assert.equal(plain.pid, null);
  assert.equal(row(parseLine('Feb  5 08:00:01 web-1 CRON: x', opts('syslog_3164', { year: 2019 }))).timestamp, '2019-02-05T08:00:01Z');
  const iso = row(parseLine('<13>2026-01-02T03:04:05.123456+01:00 host app: hi', opts('syslog_3164')));
  assert.equal(iso.timestamp, '2026-01-02T03:04:05.123456+01:00');
  assert.equal(row(parseLine('Feb  5 08:00:01 host just a message', opts('syslog_3164', { now }))).message, 'just a message');
  assert.match(error(parseLine('<999>Oct 11 22:14:15 h a: b', opts('syslog_3164'))), /priority/);
  assert.match(error(parseLine('garbage line', opts('syslog_3164'))), /no timestamp/);
  assert.match(error(parseLine('Feb 30 08:00:01 h a: b', opts('syslog_3164', { year: 2026 }))), /invalid syslog timestamp/);
});

test('syslog 5424: structured data with escapes, nil values, BOM, no message', () => {
  const line = '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Appli\\"cation\\]" eventID="1011"][examplePriority@32473 class="high\\\\"] \uFEFFAn application event log entry';
  assert.deepEqual(row(parseLine(line, opts('syslog_5424'))), {
    facility: 20, severity: 5, version: 1, timestamp: '2003-10-11T22:14:15.003Z', hostname: 'mymachine.example.com', app: 'evntslog',
    pid: null, msgid: 'ID47',
    structured_data: { 'exampleSDID@32473': { iut: '3', eventSource: 'Appli"cation]', eventID: '1011' }, 'examplePriority@32473': { class: 'high\\' } },
    message: 'An application event log entry',
  });
  const bare = row(parseLine('<34>1 - - - 8710 - -', opts('syslog_5424')));
  assert.deepEqual([bare.timestamp, bare.hostname, bare.pid, bare.structured_data, bare.message], [null, null, '8710', null, null]);
  assert.equal(row(parseLine('<34>1 2026-01-01T00:00:00+02:00 h a p m - hello world', opts('syslog_5424'))).message, 'hello world');
  assert.match(error(parseLine('<34>1 2026-01-01T00:00:00Z h a p m [x a="1"', opts('syslog_5424'))), /unterminated|expected "]"/);
  assert.match(error(parseLine('<34>1 2026-13-01T00:00:00Z h a p m -', opts('syslog_5424'))), /timestamp/);
  assert.match(error(parseLine('Oct 11 22:14:15 host app: x', opts('syslog_5424'))), /no <PRI>/);
});

test('json lines and custom regex', () => {
  assert.deepEqual(row(parseLine('{"level":"info","ts":"2026-01-01T00:00:00Z","n":1}', opts('json'))), { level: 'info', ts: '2026-01-01T00:00:00Z', n: 1 });
  assert.match(error(parseLine('[1,2]', opts('json'))), /an array/);
  assert.match(error(parseLine('{"a":', opts('json'))), /invalid JSON/);
  const regex = /^(?<level>[A-Z]+) (?<code>\d+|-) (?<msg>.*)$/;
  assert.deepEqual(row(parseLine('WARN 42 disk almost full', opts('regex', { regex }))), { level: 'WARN', code: '42', msg: 'disk almost full' });
  assert.equal(row(parseLine('INFO - ok', opts('regex', { regex }))).code, null);
  assert.match(error(parseLine('warn lowercase', opts('regex', { regex }))), /does not match/);
});

test('log spec: regex rules, follow needs a plain path, zones', () => {
  assert.throws(() => logSourceSpec.stream.parse({ path: 'a.log', format: 'regex' }), /needs a `regex`/);
  assert.throws(() => logSourceSpec.stream.parse({ path: 'a.log', format: 'regex', regex: '(a)' }), /no named group/);
  assert.throws(() => logSourceSpec.stream.parse({ path: 'a.log', format: 'regex', regex: '(?<a>' }), /regular expression/);
  assert.throws(() => logSourceSpec.stream.parse({ path: 'a.log', format: 'json', regex: '(?<a>x)' }), /only with `format: regex`/);
  assert.throws(() => logSourceSpec.stream.parse({ path: 'logs/*.log', format: 'json', follow: true }), /not a glob/);
  assert.throws(() => logSourceSpec.stream.parse({ path: 'a.log', format: 'json', timezone: 'Europe/Paris' }), /fixed offset/);
  assert.throws(() => logSourceSpec.stream.parse({ path: 'a.log', format: 'xml' }));
  const ok = logSourceSpec.stream.parse({ path: 'a.log', format: 'nginx', follow: true, timezone: '-0330' });
  assert.equal(ok.flush_ms, 1000);
  assert.equal(ok.poll_ms, 250);
});

test('line splitter: CRLF, blank lines, a line split across chunks, an overlong line', () => {
  const got: [string, number][] = [];
  const rejects: [string, number][] = [];
  const sink: RecordSink = { row: () => undefined, reject: (reason, _raw, line) => rejects.push([reason, line]) };
  const s = new LineSplitter({ maxRecordChars: 20, rejectInvalid: true }, sink, (text, line) => got.push([text, line]));
  s.push({ text: 'one\r\n\n  \ntw' });
  s.push({ text: 'o\n' + 'x'.repeat(15) });
  s.push({ text: 'y'.repeat(15) + '\nlast' });
  s.end();
  assert.deepEqual(got, [['one', 1], ['two', 4], ['last', 6]]);
  assert.deepEqual(rejects, [['line longer than max_record_bytes (20 characters)', 5]]);
});
