// The conformance suite: every SQL destination passes the same tests through the real `sluice` binary — full load
// and incremental resume, each write disposition, type round-trips, hostile identifiers, an empty table, and a
// SIGKILL mid-load followed by a re-run that leaves every row exactly once.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sluice, sluiceBin, tempDir } from '../helpers.js';
import { getDestinationSpec } from '../../src/connectors/registry.js';
import { TARGETS, type Target } from './targets.js';

type Counts = { extracted: number; loaded: number; dead_lettered: number; filtered: number; inserted: number; updated: number; deleted: number };
const counts = (s: { streams: Record<string, Counts> }, name: string) => {
  const c = s.streams[name];
  assert.equal(c.extracted, c.loaded + c.dead_lettered + c.filtered, `counts add up: ${JSON.stringify(c)}`);
  return c;
};

/** A project directory: pipeline.yaml (source part given, destination from the target) plus data files. */
function project(target: Target, sources: string, files: Record<string, string>, extra = '') {
  const t = tempDir('sluice-conf-');
  for (const [name, content] of Object.entries(files)) writeFileSync(join(t.dir, name), content);
  const file = join(t.dir, 'pipeline.yaml');
  const write = (src: string) => writeFileSync(file, `pipeline: conformance\n${extra}sources:\n${src}\n${target.destination}`);
  write(sources);
  const home = join(t.dir, '.sluice');
  const run = async (...args: string[]) => {
    const r = await sluice(['run', file, '--json', ...args], { home });
    assert.ok(r.code === 0 || r.code === 3, `sluice run exited ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout);
  };
  return { ...t, file, home, run, write, add: (name: string, content: string) => writeFileSync(join(t.dir, name), content) };
}

const csvStream = (name: string, keys: string) => `  - name: files\n    type: csv\n    streams:\n      - name: ${name}\n${keys}`;

for (const kind of TARGETS) {
  describe(`conformance: ${kind.name}`, () => {
    const cleanups: (() => Promise<void> | void)[] = [];
    after(async () => {
      for (const c of cleanups) await c();
    });
    const target = async () => {
      const t = await kind.create();
      cleanups.push(() => t.cleanup());
      return t;
    };

    test('full load, then an incremental run loads only the new file', async () => {
      const t = await target();
      const p = project(t, csvStream('items', '        path: "items-*.csv"\n        primary_key: id\n        cursor: id\n'), {
        'items-1.csv': 'id,name\n1,a\n2,b\n', 'items-2.csv': 'id,name\n3,c\n',
      });
      cleanups.push(p.cleanup);
      assert.equal(counts(await p.run(), 'items').loaded, 3);
      p.add('items-3.csv', 'id,name\n4,d\n5,e\n');
      assert.equal(counts(await p.run(), 'items').loaded, 2);
      assert.equal(counts(await p.run(), 'items').loaded, 0);
      const rows = await t.query(`SELECT ${t.text('id')} AS id FROM ${t.table('items')} ORDER BY id`);
      assert.deepEqual(rows.map((r) => r.id), ['1', '2', '3', '4', '5']);
    });

    test('append accumulates, merge upserts with exact counts, replace swaps', async () => {
      const t = await target();
      const keys = (write: string) => `        path: "in-*.csv"\n        primary_key: id\n        write: ${write}\n        columns: { id: integer, v: text }\n`;
      const p = project(t, [csvStream('m', keys('merge')).trimEnd(), `      - name: a\n${keys('append')}      - name: r\n${keys('replace')}`].join('\n'), {
        'in-1.csv': 'id,v\n1,one\n2,two\n',
      });
      cleanups.push(p.cleanup);
      await p.run();
      p.add('in-2.csv', 'id,v\n2,TWO\n3,three\n');
      const s = await p.run();
      assert.deepEqual([counts(s, 'm').inserted, counts(s, 'm').updated], [1, 1]);
      // Sorted here, not in SQL: collations differ between databases.
      const read = async (table: string) =>
        (await t.query(`SELECT ${t.text('id')} AS id, ${t.text('v')} AS v FROM ${t.table(table)}`)).map((r) => `${r.id}:${r.v}`).sort();
      assert.deepEqual(await read('m'), ['1:one', '2:TWO', '3:three']);
      assert.deepEqual(await read('a'), ['1:one', '2:TWO', '2:two', '3:three']);
      // Replace reads its source whole every run (the last row of a key wins), so a run with nothing new keeps it.
      assert.deepEqual(await read('r'), ['1:one', '2:TWO', '3:three']);
      await p.run();
      assert.deepEqual(await read('r'), ['1:one', '2:TWO', '3:three']);
      // A full refresh reads everything again and replaces every table.
      await p.run('--full-refresh');
      assert.deepEqual(await read('a'), ['1:one', '2:TWO', '2:two', '3:three']);
      assert.deepEqual(await read('m'), ['1:one', '2:TWO', '3:three']);
    });

    test('merge with a delete marker deletes keys; a full refresh leaves them out, and the marker is no column', async () => {
      const t = await target();
      const p = project(t, csvStream('d', '        path: "d-*.csv"\n        primary_key: id\n        write: merge\n        delete_column: deleted\n'
        + '        columns: { id: integer, v: text, deleted: boolean }\n'), { 'd-1.csv': 'id,v,deleted\n1,one,false\n2,two,false\n3,three,\n' });
      cleanups.push(p.cleanup);
      await p.run();
      // 2 deleted; 3 changed; 4 marked but never loaded; 5 marked, then loaded again (its last row wins).
      p.add('d-2.csv', 'id,v,deleted\n2,,true\n3,THREE,false\n4,four,yes\n5,gone,1\n5,five,false\n');
      const c = counts(await p.run(), 'd');
      assert.deepEqual([c.inserted, c.updated, c.deleted], [1, 1, 1]);
      const read = async () => (await t.query(`SELECT * FROM ${t.table('d')}`));
      const rows = await read();
      assert.ok(!Object.keys(rows[0]).some((k) => k.toLowerCase() === 'deleted'), 'the marker steers the merge; it is not stored');
      const text = async () => (await t.query(`SELECT ${t.text('id')} AS id, ${t.text('v')} AS v FROM ${t.table('d')}`)).map((r) => `${r.id}:${r.v}`).sort();
      assert.deepEqual(await text(), ['1:one', '3:THREE', '5:five']);
      await p.run('--full-refresh');
      assert.deepEqual(await text(), ['1:one', '3:THREE', '5:five']);
    });

    const declares = (write: string) => getDestinationSpec(kind.name)!.capabilities({}).dispositions.includes(write as never);
    // Filtered by declared capabilities: a destination is tested on every disposition it says it supports.
    if (declares('scd2')) test('scd2 keeps history: a new version only for changed rows, closed versions meet their successors', async () => {
      const t = await target();
      const p = project(t, csvStream('h', '        path: "h-*.csv"\n        primary_key: id\n        write: scd2\n        columns: { id: integer, v: text, n: integer }\n'), {
        'h-1.csv': 'id,v,n\n1,a,10\n2,b,20\n',
      });
      cleanups.push(p.cleanup);
      const first = counts(await p.run(), 'h');
      assert.deepEqual([first.inserted, first.updated], [2, 0]);
      p.add('h-2.csv', 'id,v,n\n1,a,10\n2,b,21\n3,c,30\n2,bb,22\n');
      const second = counts(await p.run(), 'h');
      assert.deepEqual([second.inserted, second.updated], [1, 1], 'key 3 is new, key 2 changed (its last row wins), key 1 untouched');
      const read = async () => (await t.query(`SELECT ${t.text('id')} AS id, ${t.text('v')} AS v, ${t.text('n')} AS n, ${t.text('is_current')} AS cur,
        ${t.text('valid_from')} AS vf, ${t.text('valid_to')} AS vt FROM ${t.table('h')}`))
        .map((r) => ({ ...r, cur: /^(true|t|1)$/.test(String(r.cur)) }) as Record<string, unknown>).sort((a, b) => `${String(a.id)}${String(a.vf)}`.localeCompare(`${String(b.id)}${String(b.vf)}`));
      const rows = await read();
      assert.deepEqual(rows.map((r) => `${r.id}:${r.v}:${r.n}:${r.cur}`), ['1:a:10:true', '2:b:20:false', '2:bb:22:true', '3:c:30:true']);
      const [old, now] = rows.filter((r) => r.id === '2');
      assert.equal(old.vt, now.vf, 'the closed version ends when its successor starts');
      assert.equal(now.vt, null);
      // A full refresh reads every file again: nothing changed, so history stays as it is.
      const again = counts(await p.run('--full-refresh'), 'h');
      assert.deepEqual([again.inserted, again.updated], [0, 0]);
      assert.equal((await read()).length, 4);
    });

    test('types round-trip: NULLs, unicode, 1 MB text, decimal precision, time zones', async () => {
      const t = await target();
      const big = 'x'.repeat(1024 * 1024);
      const rows = [
        { id: 1, s: 'héllo 🎉 “quotes” \\ back\tslash', d: '12345678901234567890.123456789', ts: '2024-03-10T01:59:59.123456-05:00', b: true, j: { a: [1, 'two'] }, big },
        { id: 2, s: null, d: null, ts: null, b: null, j: null, big: null },
      ];
      const p = project(t, `  - name: files\n    type: ndjson\n    streams:\n      - name: types\n        path: t.ndjson\n        columns: { id: integer, s: text, d: decimal, ts: timestamp, b: boolean, j: json, big: text }\n`,
        { 't.ndjson': rows.map((r) => JSON.stringify(r)).join('\n') + '\n' });
      cleanups.push(p.cleanup);
      assert.equal(counts(await p.run(), 'types').loaded, 2);
      const got = await t.query(`SELECT ${['id', 's', 'd', 'ts', 'b', 'j', 'big'].map((c) => `${t.text(c)} AS ${c}`).join(', ')} FROM ${t.table('types')} ORDER BY id`);
      assert.equal(got[0].s, rows[0].s);
      assert.equal(String(got[0].d).replace(/0+$/, ''), '12345678901234567890.123456789');
      assert.equal(Date.parse(String(got[0].ts).replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00')), Date.parse('2024-03-10T06:59:59.123Z'));
      assert.match(String(got[0].ts), /\.123456/);
      assert.match(String(got[0].b), /^(true|1|t)$/);
      assert.deepEqual(JSON.parse(String(got[0].j)), { a: [1, 'two'] });
      assert.equal(String(got[0].big).length, big.length);
      for (const c of ['s', 'd', 'ts', 'b', 'j', 'big']) assert.equal(got[1][c], null, `${c} is NULL`);
    });

    test('arrays round-trip (native where the destination has arrays, JSON arrays elsewhere) and widen by element', async () => {
      const t = await target();
      const row = {
        id: 1, ints: [1, null, -3], bigs: ['9007199254740993', 2], decs: ['12345678901234567890.123456789', '0.5'],
        texts: ['a,b', 'say "hi"', 'back\\slash', 'NULL', '', null, '{x}', 'ünï 🎉'], flags: [true, false, null],
        days: ['2024-02-29'], stamps: ['2024-03-10T01:59:59.123456-05:00'], ids: ['A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'],
        empty: [],
      };
      const columns = (ints: string) => `{ id: integer, ints: "${ints}", bigs: "bigint[]", decs: "decimal[]", texts: "text[]", flags: "boolean[]", days: "date[]", stamps: "timestamp[]", ids: "uuid[]", empty: "double[]" }`;
      const source = (ints: string) => `  - name: files\n    type: ndjson\n    streams:\n      - name: arrays\n        path: "a-*.ndjson"\n        primary_key: id\n        write: merge\n        columns: ${columns(ints)}\n`;
      const p = project(t, source('integer[]'), { 'a-1.ndjson': JSON.stringify(row) + '\n' });
      cleanups.push(p.cleanup);
      assert.equal(counts(await p.run(), 'arrays').loaded, 1);
      const read = async () => {
        const names = ['ints', 'bigs', 'decs', 'texts', 'flags', 'days', 'stamps', 'ids', 'empty'];
        const [got] = await t.query(`SELECT ${names.map((c) => `${t.json(c)} AS ${c}`).join(', ')} FROM ${t.table('arrays')} ORDER BY id`);
        return Object.fromEntries(names.map((c) => [c, String(got[c])]));
      };
      const got = await read();
      assert.deepEqual(JSON.parse(got.ints), [1, null, -3]);
      assert.match(got.bigs, /^\[9007199254740993, ?2\]$/, 'bigint elements keep every digit');
      assert.match(got.decs, /12345678901234567890\.123456789/);
      assert.deepEqual(JSON.parse(got.texts), row.texts);
      assert.deepEqual(JSON.parse(got.flags), [true, false, null]);
      assert.deepEqual(JSON.parse(got.days), ['2024-02-29']);
      const [stamp] = JSON.parse(got.stamps) as string[];
      assert.equal(Date.parse(stamp.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00')), Date.parse('2024-03-10T06:59:59.123Z'));
      assert.match(stamp, /\.123456/);
      assert.deepEqual(JSON.parse(got.ids), ['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11']);
      assert.deepEqual(JSON.parse(got.empty), []);
      const native: Record<string, [string, string]> = { postgres: ['integer[]', 'bigint[]'], duckdb: ['INTEGER[]', 'BIGINT[]'] };
      const [before, after] = native[kind.name] ?? [];
      if (before) assert.equal(await t.columnType('arrays', 'ints'), before);
      // A wider declared element type widens the column; an element too big for the old one then loads.
      p.write(source('bigint[]'));
      p.add('a-2.ndjson', JSON.stringify({ ...row, id: 2, ints: [2 ** 40] }) + '\n');
      assert.equal(counts(await p.run(), 'arrays').loaded, 1);
      if (after) assert.equal(await t.columnType('arrays', 'ints'), after);
      const [second] = await t.query(`SELECT ${t.json('ints')} AS ints FROM ${t.table('arrays')} WHERE ${t.text('id')} = '2'`);
      assert.deepEqual(JSON.parse(String(second.ints)), [2 ** 40]);
    });

    test('hostile identifiers each land in their own quoted column and table', async () => {
      const t = await target();
      const header = ['id', '"""; DROP TABLE x; --"', 'select', 'Name With Spaces', 'émoji 🎉'].join(',');
      const p = project(t, `  - name: files\n    type: csv\n    streams:\n      - name: weird\n        destination_table: "Weird Table; --"\n        path: w.csv\n`,
        { 'w.csv': `${header}\n1,a,b,c,d\n` });
      cleanups.push(p.cleanup);
      assert.equal(counts(await p.run(), 'weird').loaded, 1);
      const [row] = await t.query(`SELECT ${['"; DROP TABLE x; --', 'select', 'Name With Spaces', 'émoji 🎉'].map((c, i) => `${t.text(c)} AS c${i}`).join(', ')} FROM ${t.table('Weird Table; --')}`);
      if (t.ident) assert.equal(t.ident('émoji 🎉'), 'émoji _1f389_', 'a name the destination cannot store is spelled out, stably');
      assert.deepEqual([row.c0, row.c1, row.c2, row.c3], ['a', 'b', 'c', 'd']);
    });

    test('hostile values: each lands exactly or goes to the DLQ with the reason, and the rest loads', async () => {
      // What each destination cannot store: NaN and ±Infinity in MySQL, NaN in SQLite (it would become NULL), a NUL in
      // PostgreSQL text, more than 9 digits after the point in a DECIMAL(38,9) (DuckDB, MySQL).
      const refused: Record<string, number[]> = { duckdb: [6], postgres: [5, 8], mysql: [2, 3, 4, 6], sqlite: [2] };
      const lines = [
        '1,1.5,plain,0.5,', '2,NaN,plain,0.5,', '3,Infinity,plain,0.5,', '4,-inf,plain,0.5,',
        '5,2.5,"nul\0inside",0.5,', '6,3.5,plain,0.123456789012,', '7,4.5,plain,12345678901234567890123456789.123456789,',
        // PostgreSQL has no year 0000.
        '8,5.5,plain,0.5,0000-06-15',
      ];
      const t = await target();
      const p = project(t, csvStream('hostile', '        path: h.csv\n        primary_key: id\n        write: merge\n        columns: { id: integer, x: double, s: text, d: decimal, day: date }\n'),
        { 'h.csv': `id,x,s,d,day\n${lines.join('\n')}\n` });
      cleanups.push(p.cleanup);
      const c = counts(await p.run(), 'hostile');
      const mine = refused[kind.name];
      assert.deepEqual([c.loaded, c.dead_lettered], [lines.length - mine.length, mine.length]);
      const got = await t.query(`SELECT ${t.text('id')} AS id, ${t.text('x')} AS x, ${t.text('s')} AS s, ${t.text('d')} AS d FROM ${t.table('hostile')} ORDER BY id`);
      assert.deepEqual(got.map((r) => Number(r.id)), [1, 2, 3, 4, 5, 6, 7, 8].filter((id) => !mine.includes(id)));
      const double = (v: unknown) => ({ nan: NaN, inf: Infinity, infinity: Infinity, '-inf': -Infinity, '-infinity': -Infinity })[String(v).toLowerCase()] ?? Number(v);
      const want: Record<number, [number, string]> = { 1: [1.5, 'plain'], 2: [NaN, 'plain'], 3: [Infinity, 'plain'], 4: [-Infinity, 'plain'], 5: [2.5, 'nul\0inside'], 6: [3.5, 'plain'], 7: [4.5, 'plain'], 8: [5.5, 'plain'] };
      for (const r of got) {
        const [x, text] = want[Number(r.id)];
        assert.ok(Object.is(double(r.x), x), `id ${r.id}: x ${r.x}`);
        assert.equal(r.s, text, `id ${r.id}: s`);
      }
      const seven = got.find((r) => Number(r.id) === 7);
      assert.equal(String(seven?.d).replace(/0+$/, ''), '12345678901234567890123456789.123456789');
      const dlq = JSON.parse((await sluice(['dlq', 'list', '--json'], { home: p.home })).stdout) as { reason: string }[];
      assert.equal(dlq.length, mine.length);
      for (const e of dlq) assert.match(e.reason, /^column "(x|s|d|day)": .*(cannot store|cannot hold|has no year 0000)/, e.reason);
    });

    test('an existing table\'s narrower columns: values past them go to the DLQ with the reason, the rest loads', async () => {
      // What each destination enforces of numeric(10,2), varchar(5), smallint and a utf8mb3 text (MySQL widens a
      // non-key VARCHAR to LONGTEXT; DuckDB keeps no length; SQLite stores any value in any column).
      const ddl: Record<string, string> = {
        postgres: 'id integer, price numeric(10,2), code varchar(5), qty smallint, note text',
        duckdb: 'id INTEGER, price DECIMAL(10,2), code VARCHAR, qty SMALLINT, note VARCHAR',
        mysql: 'id INT, price DECIMAL(10,2), code VARCHAR(5), qty SMALLINT, note TEXT CHARACTER SET utf8mb3',
        sqlite: 'id INTEGER, price NUMERIC(10,2), code VARCHAR(5), qty SMALLINT, note TEXT',
      };
      const refused: Record<string, number[]> = { postgres: [2, 3, 4], duckdb: [2, 4], mysql: [2, 4, 5], sqlite: [] };
      const t = await target();
      await t.exec(`CREATE TABLE ${t.table('narrow')} (${ddl[kind.name]})`);
      const p = project(t, csvStream('narrow', '        path: n.csv\n        columns: { id: integer, price: decimal, code: text, qty: integer, note: text }\n'),
        { 'n.csv': 'id,price,code,qty,note\n1,12.34,abc,100,plain\n2,12.345,abc,100,plain\n3,12.34,abcdef,100,plain\n4,12.34,abc,40000,plain\n5,12.34,abc,100,smile 😀\n' });
      cleanups.push(p.cleanup);
      const c = counts(await p.run(), 'narrow');
      const mine = refused[kind.name];
      assert.deepEqual([c.loaded, c.dead_lettered], [5 - mine.length, mine.length]);
      const got = await t.query(`SELECT ${t.text('id')} AS id, ${t.text('price')} AS price FROM ${t.table('narrow')} ORDER BY id`);
      assert.deepEqual(got.map((r) => Number(r.id)), [1, 2, 3, 4, 5].filter((id) => !mine.includes(id)));
      for (const r of got) assert.equal(Number(r.price), Number(r.id) === 2 ? 12.345 : 12.34, `id ${r.id}: price kept exactly`);
      const dlq = JSON.parse((await sluice(['dlq', 'list', '--json'], { home: p.home })).stdout) as { reason: string }[];
      for (const e of dlq) assert.match(e.reason, /^column "(price|code|qty|note)": (PostgreSQL|DuckDB|MySQL)'s .*(cannot hold|holds)/, e.reason);
    });

    test('declared decimal(p,s): the column gets its digits, a value that does not fit is refused, or rounded when the stream says how', async () => {
      const t = await target();
      const rows = 'id,price,rate\n1,12.34,0.123456789012\n2,12.345,0.5\n3,123456789.01,0.5\n4,-0.125,0.5\n';
      const stream = (name: string, rounding: string) => csvStream(name, `        path: d.csv\n        columns: { id: integer, price: "decimal(10,2)", rate: "decimal(20,12)" }\n${rounding}`);
      const p = project(t, stream('exact', ''), { 'd.csv': rows });
      cleanups.push(p.cleanup);
      const exact = counts(await p.run(), 'exact');
      assert.deepEqual([exact.loaded, exact.dead_lettered], [1, 3], 'only row 1 fits decimal(10,2) as written');
      assert.match((await t.columnType('exact', 'price')).replace(/\s/g, '').toLowerCase(), /^(numeric|decimal)(text)?\(10,2\)/);
      const [one] = await t.query(`SELECT ${t.text('rate')} AS rate FROM ${t.table('exact')}`);
      assert.equal(String(one.rate).replace(/0+$/, ''), '0.123456789012', 'twelve digits after the point, past the default nine');
      const dlq = JSON.parse((await sluice(['dlq', 'list', '--json'], { home: p.home })).stdout) as { reason: string }[];
      assert.ok(dlq.some((e) => /the declared decimal\(10,2\) cannot hold 12\.345 exactly .*`rounding: half_even`/.test(e.reason)), JSON.stringify(dlq));

      p.write(stream('rounded', '        rounding: half_even\n'));
      const rounded = counts(await p.run(), 'rounded');
      assert.deepEqual([rounded.loaded, rounded.dead_lettered], [3, 1], 'rounding fixes the scale, not the nine digits before the point');
      const got = await t.query(`SELECT ${t.text('id')} AS id, ${t.text('price')} AS price FROM ${t.table('rounded')} ORDER BY id`);
      assert.deepEqual(got.map((r) => [Number(r.id), Number(r.price)]), [[1, 12.34], [2, 12.34], [4, -0.12]], 'ties to the even digit');

      // The declaration grows: the column is widened to hold it (never narrowed), and a value it refused before fits.
      p.add('g.csv', 'id,price,rate\n5,1234567890.125,0.5\n');
      p.write(csvStream('exact', '        path: g.csv\n        columns: { id: integer, price: "decimal(13,3)", rate: "decimal(20,12)" }\n'));
      const grown = counts(await p.run(), 'exact');
      assert.deepEqual([grown.loaded, grown.dead_lettered], [1, 0], 'decimal(13,3) holds 1234567890.125');
      if (kind.name !== 'sqlite') assert.match((await t.columnType('exact', 'price')).replace(/\s/g, '').toLowerCase(), /^(numeric|decimal)\(13,3\)/);
      const [five] = await t.query(`SELECT ${t.text('price')} AS price FROM ${t.table('exact')} WHERE ${t.text('id')} = '5'`);
      assert.equal(String(five.price), '1234567890.125');
    });

    test('an empty source creates the declared table with no rows', async () => {
      const t = await target();
      const p = project(t, csvStream('nothing', '        path: e.csv\n        columns: { id: integer, name: text }\n'), { 'e.csv': 'id,name\n' });
      cleanups.push(p.cleanup);
      assert.equal(counts(await p.run(), 'nothing').extracted, 0);
      const [r] = await t.query(`SELECT COUNT(*) AS n FROM ${t.table('nothing')}`);
      assert.equal(Number(r.n), 0);
    });

    for (const write of ['append', 'merge'] as const) {
      test(`SIGKILL mid-load, then a re-run: every row exactly once (${write})`, async () => {
        const t = await target();
        const { dir, cleanup } = tempDir('sluice-conf-kill-');
        cleanups.push(cleanup);
        const total = 120_000;
        mkdirSync(dir, { recursive: true });
        const out = createWriteStream(join(dir, 'big.csv'));
        out.write('id,name,updated_at\n');
        for (let i = 0; i < total; i++) out.write(`${i},name ${i},${new Date(Date.UTC(2024, 0, 1) + i * 1000).toISOString()}\n`);
        await new Promise<void>((r) => out.end(() => r()));
        const file = join(dir, 'pipeline.yaml');
        writeFileSync(file, `pipeline: conformance-kill\nbatch_size: 2000\ncheckpoint_rows: 10000\nsources:\n${csvStream('big',
          `        path: big.csv\n        primary_key: id\n        cursor: updated_at\n        write: ${write}\n        columns: { id: integer }\n`)}\n${t.destination}`);
        const home = join(dir, '.sluice');
        // Killed once checkpoints hold 20,000 rows (a pipelined merge ramps up to checkpoint_rows, so it takes more
        // than two of them); the re-run must start after the last one committed.
        let committed = 0;
        const signal = await new Promise<NodeJS.Signals | null>((done) => {
          // On the engine's path, which commits within the file (DuckDB would read this one file whole, in one commit:
          // test/integration/kill-resume.test.ts kills that).
          const child = spawn(process.execPath, [sluiceBin, 'run', file, '--log-level', 'debug'], {
            env: { ...process.env, SLUICE_HOME: home, SLUICE_HANDOFF: 'off' }, stdio: ['ignore', 'ignore', 'pipe'],
          });
          let pending = '';
          child.stderr.on('data', (d: Buffer) => {
            const lines = (pending + d.toString()).split('\n');
            pending = lines.pop()!;
            for (const line of lines) {
              if (line.includes('checkpoint committed')) committed = Math.max(committed, (JSON.parse(line) as { loaded: number }).loaded);
            }
            if (committed >= 20_000) child.kill('SIGKILL');
          });
          child.on('close', (_c, s) => done(s));
        });
        assert.equal(signal, 'SIGKILL', 'the first run was killed mid-load');
        assert.ok(committed >= 20_000 && committed < total);
        const r = await sluice(['run', file, '--json'], { home });
        assert.equal(r.code, 0, r.stderr);
        assert.ok(JSON.parse(r.stdout).streams.big.extracted <= total - committed, 'the re-run resumed after the committed checkpoints');
        const [c] = await t.query(`SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS k FROM ${t.table('big')}`);
        assert.deepEqual([Number(c.n), Number(c.k)], [total, total]);
      });
    }
  });
}
