// Files DuckDB reads itself (StreamLoad.ingest) must land exactly as the engine's own path lands them. Many small
// files of random values — the common spellings and the hostile ones, mixed — are loaded twice: with the hand-off
// and with SLUICE_HANDOFF=off. The tables (values and types), the counts and the dead-lettered rows must be the same,
// and both paths must really have been taken (some files read by DuckDB, some declined back to the engine).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { spawn } from 'node:child_process';
import { duckQuery, sluice, sluiceBin, tempDir } from '../helpers.js';
import { random } from '../support/random.js';

const { dir, cleanup } = tempDir('sluice-ingest-');
after(cleanup);

const SEED = Number(process.env.SLUICE_TEST_SEED ?? Date.now() % 100_000);

function values(rnd: () => number, oddRate: number) {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const int = (n: number): number => Math.floor(rnd() * n);
  const pad = (n: number, w: number): string => String(n).padStart(w, '0');
  // Most values are common spellings; some are edge cases one path may read otherwise (how many: per file).
  const odd = (): boolean => rnd() < oddRate;
  const digits = (n: number): string => Array.from({ length: n }, () => int(10)).join('');
  const timestamp = (): string => {
    const y = odd() ? pick(['0000', '0050', '1969', '9999', '2024']) : String(1970 + int(80));
    const mo = odd() ? pick(['00', '13', '02']) : pad(1 + int(12), 2);
    const d = odd() ? pick(['29', '30', '31', '00']) : pad(1 + int(28), 2);
    const h = odd() ? pick(['24', '23', '00']) : pad(int(24), 2);
    const s = odd() ? pick(['60', '59']) : pad(int(60), 2);
    const frac = rnd() < 0.5 ? '' : `${odd() ? ',' : '.'}${digits(1 + int(odd() ? 12 : 6))}`;
    const zone = pick(['Z', 'Z', '', '+00:00', '-05:00', '+05:45', '+0530', '+02', ...(odd() ? ['z', ' +01:00', '+15:00', '-00:30', '+99:99', ' UTC'] : [])]);
    return `${y}-${mo}-${d}${pick(['T', 'T', ' '])}${h}:${pad(int(60), 2)}:${s}${frac}${zone}`;
  };
  return {
    i: (): string => (odd() ? pick(['007', '+5', '-0', '-2147483648', '2147483647', '2147483648', ' 5', '5.0', '1e3', '']) : String(int(2_000_000) - 1_000_000)),
    b: (): string => (odd() ? pick(['9223372036854775807', '-9223372036854775808', '9223372036854775808', '0001', '+12', '1_000', '0x1f']) : String(BigInt(int(2 ** 31)) * 4_000_000_000n - 3n)),
    d: (): string => (odd() ? pick(['.5', '5.', '+1.25', '1e3', '-0', '0.0000000001', '1.1234567895', digits(29) + '.5', digits(30), '00000000000000000000000000000001.5', '1.5.5'])
      : `${rnd() < 0.3 ? '-' : ''}${int(10 ** (1 + int(12)))}${rnd() < 0.7 ? `.${digits(1 + int(9))}` : ''}`),
    f: (): string => (odd() ? pick(['1e999', '-0', '-0.0', '1e-400', '5e-324', 'Infinity', 'NaN', '0x10', ' 1', '.5', '5.', '+1', '1e', '1.7976931348623157e308'])
      : String((rnd() - 0.5) * 10 ** int(20))),
    t: timestamp,
    dt: (): string => (odd() ? pick(['2023-02-29', '2024-02-29', '0000-01-01', '2024-1-01', '2024-13-01', ' 2024-01-01', '2024-01-01T00:00:00Z'])
      : `${1900 + int(200)}-${pad(1 + int(12), 2)}-${pad(1 + int(28), 2)}`),
    bo: (): string => (odd() ? pick(['TRUE', 'Yes', 'y', 'F', '0', 'on', ' true', 'no ', '']) : pick(['true', 'false'])),
    j: (): string => (odd() ? pick(['[1,]', '[NaN]', '{"a":Infinity}', '{"a": "x,]"}', '"str"', ' {"a":1}', '{bad', '42', '{"a":+1}', '{"a":\n1}', '[]', '{"n":1e999}'])
      : JSON.stringify({ k: int(100), s: pick(['a', 'b"c', 'd,e', 'é', '∑']), n: [int(10), null, rnd() < 0.5] })),
    u: (): string => (odd() ? pick(['A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1', '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}'])
      : 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'.replace(/[0-9a-f](?=[0-9a-f]{4}$)/, () => pick(['0', '7', 'f']))),
    s: (): string => (odd() ? pick(['', '""', QUOTED_EMPTY, INVALID_UTF8, 'x\u0000y', 'line\nbreak', 'tab\there', '  padded  ', 'quote "in" it', 'naïve café ∑']) : `text ${int(1000)}, with a comma`),
    // Undeclared: typed from the first file's head, then held to that type.
    n: (): string => (odd() ? pick(['007', '1.5', 'x', '']) : String(int(100_000))),
  };
}

/** Written as `""` (an empty string, where an empty field is NULL), and as bytes that are not UTF-8. */
const QUOTED_EMPTY = '\u0001quoted-empty';
const INVALID_UTF8 = '\u0001invalid';
const csvField = (v: string): string => (v === QUOTED_EMPTY ? '""' : v === '' ? '' : /[",\n\r]|^\s|\s$/.test(v) || v === '""' ? `"${v.replace(/"/g, '""')}"` : v);

const COLUMNS = ['rid', 'i', 'b', 'd', 'f', 't', 'dt', 'bo', 'j', 'u', 's', 'n'] as const;
const DECLARED = '{ rid: text, i: integer, b: bigint, d: decimal, f: double, t: timestamp, dt: date, bo: boolean, j: json, u: uuid, s: text }';

/** `key(f, r)`: row r of file f's `rid` (by default unique; a merge test repeats them within and across files). */
function writeFiles(data: string, files: number, rows: number, rnd: () => number, key = (f: number, r: number): string => `${pad4(f)}-${r}`): void {
  mkdirSync(data, { recursive: true });
  for (let f = 0; f < files; f++) {
    // A third of the files common spellings only, the rest with a few edge cases each: files with one edge case
    // show which ones DuckDB takes, files with several which ones it hands back.
    const gen = values(rnd, [0, 0.02, 0.08][f % 3]);
    const lines = [COLUMNS.join(',')];
    for (let r = 0; r < rows; r++) {
      const row = COLUMNS.map((c) => (c === 'rid' ? key(f, r) : rnd() < 0.08 ? '' : gen[c]()));
      lines.push(row.map(csvField).join(','));
    }
    const text = lines.join(rnd() < 0.2 ? '\r\n' : '\n') + '\n';
    const bytes = text.split(INVALID_UTF8).flatMap((part, i) => (i === 0 ? [Buffer.from(part)] : [Buffer.from([0x62, 0xff, 0xfe]), Buffer.from(part)]));
    writeFileSync(join(data, `part-${pad4(f)}.csv`), Buffer.concat(bytes));
  }
}
const pad4 = (n: number): string => String(n).padStart(4, '0');

function pipeline(name: string, data: string, extra = ''): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, `pipeline: ${name}
sources:
  - name: files
    type: csv
    streams:
      - name: values
        path: ${data}/part-*.csv
        columns: ${DECLARED}
${extra}`);
  return file;
}

/** Run with debug logs: the summary, and how many files the load handed back to the engine. */
function run(file: string, home: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; summary: any; declined: number; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [sluiceBin, 'run', file, '--json'], {
      // Every file is offered, however small (by default only files of a megabyte or more).
      env: { ...process.env, SLUICE_HOME: home, SLUICE_LOG_LEVEL: 'debug', SLUICE_HANDOFF_MIN_BYTES: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', fail);
    child.on('close', (code) => {
      const declined = stderr.split('\n').filter((l) => l.includes('the engine reads it')).length;
      done({ code, summary: stdout ? JSON.parse(stdout) : undefined, declined, stderr });
    });
  });
}

const tableOf = async (home: string): Promise<{ types: string; rows: string[] }> => {
  const wh = join(home, 'warehouse.duckdb');
  const types = await duckQuery(wh, "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'values' ORDER BY column_index");
  const rows = await duckQuery(wh, 'SELECT * FROM "values" ORDER BY rid');
  return { types: JSON.stringify(types), rows: rows.map((r) => JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? `${v}n` : Object.is(v, -0) ? '-0' : v))) };
};

const dlqOf = async (home: string): Promise<string[]> => {
  const r = await sluice(['dlq', 'list', '--json', '--limit', '100000'], { home });
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { reason: string; position?: unknown; raw?: unknown }[])
    .map((e) => JSON.stringify([e.reason, e.position, e.raw])).sort();
};

for (const [write, extra, key] of [
  ['append', '', undefined],
  // 240 files over 60 keys: most files update keys of earlier ones, and about one in twenty repeats a key within itself.
  ['merge', '        write: merge\n        primary_key: rid\n', (f: number, r: number) => `k${(f * 7 + r * (f % 20 === 0 ? 0 : 13)) % 60}`],
] as const) {
  test(`files DuckDB reads itself land exactly as the engine lands them: ${write} (seed ${SEED})`, async (t) => {
    const data = join(dir, `random-${write}`);
    writeFiles(data, 240, 3, random(SEED), key);
    const file = pipeline(`ingest-random-${write}`, data, extra);
    const fast = await run(file, join(dir, `home-fast-${write}`));
    const slow = await run(file, join(dir, `home-slow-${write}`), { SLUICE_HANDOFF: 'off' });
    assert.equal(fast.code, slow.code, fast.stderr.slice(-2000));
    assert.equal(slow.declined, 0, 'SLUICE_HANDOFF=off offers no file');
    // Both paths were taken: some files read by DuckDB, some handed back.
    t.diagnostic(`${240 - fast.declined} of 240 files read by DuckDB, ${fast.declined} by the engine`);
    assert.ok(fast.declined > 10 && fast.declined < 230, `files handed back to the engine: ${fast.declined} of 240`);
    // inserted/updated split by commit: files DuckDB reads commit one by one, the engine's small files together.
    for (const k of ['extracted', 'loaded', 'dead_lettered', 'filtered']) {
      assert.equal(fast.summary.streams.values[k], slow.summary.streams.values[k], k);
    }
    const [a, b] = [await tableOf(join(dir, `home-fast-${write}`)), await tableOf(join(dir, `home-slow-${write}`))];
    assert.equal(a.types, b.types);
    assert.equal(a.rows.length, b.rows.length);
    for (let i = 0; i < a.rows.length; i++) assert.equal(a.rows[i], b.rows[i], `row ${i}`);
    assert.deepEqual(await dlqOf(join(dir, `home-fast-${write}`)), await dlqOf(join(dir, `home-slow-${write}`)));
  });
}

for (const cursor of ['t', 'i'] as const) {
  test(`a cursor's filter and watermark, files read by DuckDB and by the engine alike: cursor on ${cursor} (seed ${SEED})`, async () => {
    const data = join(dir, `cursor-${cursor}`);
    const rnd = random(SEED + 1);
    // The first run reads 120 files; the second 120 more, whose rows older than the first run's watermark are filtered.
    writeFiles(data, 120, 3, rnd);
    const file = pipeline(`ingest-cursor-${cursor}`, data, `        cursor: ${cursor}\n`);
    const watermark = async (home: string) => JSON.stringify((await duckQuery(join(home, 'warehouse.duckdb'),
      'SELECT state->>\'$.cursor\' AS c FROM _sluice_state ORDER BY committed_at DESC, version DESC LIMIT 1'))[0]);
    const homes = [join(dir, `home-cursor-fast-${cursor}`), join(dir, `home-cursor-slow-${cursor}`)];
    const rounds: { fast: Awaited<ReturnType<typeof run>>; slow: Awaited<ReturnType<typeof run>> }[] = [];
    for (const round of [0, 1]) {
      if (round === 1) {
        const more = join(dir, `cursor-${cursor}-more`);
        writeFiles(more, 120, 3, rnd, (f, r) => `${pad4(f + 120)}-${r}`);
        for (let f = 0; f < 120; f++) writeFileSync(join(data, `part-${pad4(f + 120)}.csv`), readFileSync(join(more, `part-${pad4(f)}.csv`)));
      }
      const fast = await run(file, homes[0]);
      const slow = await run(file, homes[1], { SLUICE_HANDOFF: 'off' });
      assert.equal(fast.code, slow.code, fast.stderr.slice(-2000));
      for (const k of ['extracted', 'loaded', 'dead_lettered', 'filtered']) assert.equal(fast.summary.streams.values[k], slow.summary.streams.values[k], `round ${round}: ${k}`);
      assert.equal(await watermark(homes[0]), await watermark(homes[1]), `round ${round}: the watermark`);
      rounds.push({ fast, slow });
    }
    assert.ok(rounds[1].slow.summary.streams.values.filtered > 0, 'the second run filtered rows behind the watermark');
    assert.ok(rounds.some((r) => r.fast.declined < 110), 'files were read by DuckDB');
    const [a, b] = [await tableOf(homes[0]), await tableOf(homes[1])];
    assert.deepEqual(a, b);
  });
}

test('a large clean file goes to DuckDB whole, a bad value sends its file back with the row dead-lettered at its line', async () => {
  const data = join(dir, 'big');
  mkdirSync(data, { recursive: true });
  const lines = ['rid,i,b,d,f,t,dt,bo,j,u,s,n'];
  for (let r = 0; r < 50_000; r++) {
    lines.push(`${pad4(0)}-${String(r).padStart(6, '0')},${r},${r * 3_000_000_000},${r / 100},${r / 7},2024-01-01T00:00:00+02:00,2024-02-29,${r % 2 === 0},"{""k"":${r}}",a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11,"s ${r}",${r}`);
  }
  writeFileSync(join(data, 'part-0000.csv'), lines.join('\n') + '\n');
  lines[30_001] = lines[30_001].replace(',2024-02-29,', ',2023-02-29,');
  writeFileSync(join(data, 'part-0001.csv'), lines.join('\n').replaceAll('0000-', '0001-') + '\n');
  // Gzip-compressed under a plain name: found by its magic bytes, as the engine's reader finds it.
  lines[30_001] = lines[30_001].replace(',2023-02-29,', ',2024-02-29,');
  writeFileSync(join(data, 'part-0002.csv'), gzipSync(lines.join('\n').replaceAll('0000-', '0002-') + '\n'));
  const home = join(dir, 'home-big');
  const r = await run(pipeline('ingest-big', data), home);
  assert.equal(r.code, 3, r.stderr.slice(-2000));
  assert.equal(r.declined, 1, 'the file with the bad date went the engine’s way');
  assert.deepEqual(
    [r.summary.streams.values.extracted, r.summary.streams.values.loaded, r.summary.streams.values.dead_lettered],
    [150_000, 149_999, 1],
  );
  const dlq = JSON.parse((await sluice(['dlq', 'list', '--json'], { home })).stdout) as { reason: string; position: { file: string; line: number } }[];
  assert.equal(dlq.length, 1);
  assert.match(dlq[0].reason, /column "dt": "2023-02-29" is not a valid date/);
  assert.ok(dlq[0].position.file.endsWith('part-0001.csv'), dlq[0].position.file);
  assert.equal(dlq[0].position.line, 30_002);
  const [t] = await duckQuery(join(home, 'warehouse.duckdb'), `SELECT count(*)::INT AS n, min(t)::VARCHAR AS t, sum(b)::VARCHAR AS b FROM "values"`);
  assert.deepEqual(t, { n: 149_999, t: '2023-12-31 22:00:00+00', b: String(3n * 3_000_000_000n * ((49_999n * 50_000n) / 2n) - 30_000n * 3_000_000_000n) });
  // Run again: every file is recorded as read.
  const again = await run(pipeline('ingest-big', data), home);
  assert.equal(again.summary.streams.values.extracted, 0);
});

test('Parquet files DuckDB reads itself land as the engine lands them; types only the engine reads so go its way', async (t) => {
  const data = join(dir, 'parquet');
  mkdirSync(data, { recursive: true });
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  // File 0 holds only what DuckDB may read itself; each later file adds one column the engine reads otherwise.
  const common = `i::INTEGER AS i, (i * 3000000000)::BIGINT AS b, (i / 7)::DOUBLE AS f, (i / 3)::FLOAT AS r, (i % 2 = 0) AS bo,
    ('name ' || i)::VARCHAR AS s, (i / 100)::DECIMAL(12,2) AS d, DATE '2024-02-29' + (i % 400)::INT AS dt,
    TIMESTAMP '2024-01-01 00:00:00.123456' + to_microseconds(i * 1000003) AS ts,
    TIMESTAMPTZ '2024-01-01 00:00:00+05:30' + to_seconds(i) AS tz, uuid() AS u, ('\\x00\\xff' || i)::BLOB AS bl,
    CASE WHEN i % 5 = 0 THEN NULL ELSE i END AS n`;
  const extras = [
    '', ', CASE WHEN i = 7 THEN -2147483648 ELSE i END::INTEGER AS edge', ", DATE '0050-01-01' + i::INTEGER AS edge",
    ', (i / 1000)::DECIMAL(20,12) AS edge', ", TIMESTAMP_NS '2024-01-01 00:00:00.123456789' AS edge", ', [i, i + 1] AS edge',
    ", {'a': i} AS edge", ", 'x' || chr(0) AS edge",
  ];
  for (const [k, extra] of extras.entries()) {
    await conn.run(`COPY (SELECT ${common}${extra} FROM range(${k === 0 ? 20_000 : 500}) r(i)) TO '${join(data, `part-${k}.parquet`)}' (FORMAT parquet)`);
  }
  conn.closeSync();
  db.closeSync();
  const load = async (name: string, file: string, env: NodeJS.ProcessEnv = {}) => {
    const yaml = join(dir, `${name}.yaml`);
    writeFileSync(yaml, `pipeline: ${name}\nsources:\n  - name: files\n    type: parquet\n    streams:\n      - name: values\n        path: ${join(data, file)}\n`);
    return run(yaml, join(dir, `home-${name}`), env);
  };
  for (const [k] of extras.entries()) {
    const fast = await load(`pq-fast-${k}`, `part-${k}.parquet`);
    const slow = await load(`pq-slow-${k}`, `part-${k}.parquet`, { SLUICE_HANDOFF: 'off' });
    assert.equal(fast.code, slow.code, fast.stderr.slice(-2000));
    assert.equal(fast.declined, k === 0 || k === 4 ? 0 : 1, `file ${k}: ${extras[k]}`);
    assert.deepEqual(fast.summary.streams.values, slow.summary.streams.values);
    const q = async (name: string) => {
      const wh = join(dir, `home-${name}`, 'warehouse.duckdb');
      return JSON.stringify([
        await duckQuery(wh, "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'values' ORDER BY column_index"),
        await duckQuery(wh, 'SELECT * EXCLUDE (u) FROM "values" ORDER BY i'),
      ], (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));
    };
    assert.equal(await q(`pq-fast-${k}`), await q(`pq-slow-${k}`), `file ${k}`);
  }
  t.diagnostic('Parquet: the common types and TIMESTAMP_NS read by DuckDB; INT_MIN, year 50, DECIMAL(20,12), lists, structs and NUL by the engine');
});

test('a 64-column file loads into the embedded warehouse: the buffer pool grows with the table’s width', async () => {
  const data = join(dir, 'wide');
  mkdirSync(data, { recursive: true });
  const types = ['bigint', 'integer', 'decimal', 'text', 'timestamp', 'boolean', 'date', 'double'];
  const value = (t: string, r: number): string => ({
    bigint: String(r * 1_000_003), integer: String(r % 100_000), decimal: `${r % 1000}.25`, text: `"text ${r}, long enough to matter ${'x'.repeat(r % 40)}"`,
    timestamp: '2024-05-06T07:08:09.123Z', boolean: r % 2 ? 'true' : 'false', date: '2024-05-06', double: String(r / 3),
  })[t]!;
  const cols = Array.from({ length: 64 }, (_, i) => `c${i}`);
  const lines = [cols.join(',')];
  for (let r = 0; r < 100_000; r++) lines.push(cols.map((_, i) => value(types[i % 8], r)).join(','));
  writeFileSync(join(data, 'wide.csv'), lines.join('\n') + '\n');
  const yaml = join(dir, 'wide.yaml');
  writeFileSync(yaml, `pipeline: wide\nsources:\n  - name: files\n    type: csv\n    streams:\n      - name: wide\n        path: ${join(data, 'wide.csv')}\n        columns: { ${cols.map((c, i) => `${c}: ${types[i % 8]}`).join(', ')} }\n`);
  const r = await run(yaml, join(dir, 'home-wide'));
  assert.equal(r.code, 0, r.stderr.slice(-2000));
  assert.equal(r.summary.streams.wide.loaded, 100_000);
  const [n] = await duckQuery(join(dir, 'home-wide', 'warehouse.duckdb'), 'SELECT count(*)::INT AS n, sum(c0)::VARCHAR AS s FROM wide');
  assert.deepEqual(n, { n: 100_000, s: String(1_000_003n * ((99_999n * 100_000n) / 2n)) });
});
