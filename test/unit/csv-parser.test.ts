import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CsvParser, defaultCsvOptions, uniqueNames, type CsvParserOptions } from '../../src/connectors/csv/csv-parser.js';
import { createDecoder } from '../../src/connectors/file-source/decode.js';
import type { RecordSink } from '../../src/connectors/file-source/file-source.js';
import type { Row } from '../../src/core/types.js';

interface Parsed {
  rows: Row[];
  lines: number[];
  rejects: { reason: string; raw: string; line: number }[];
}

function collector(): Parsed & { sink: RecordSink } {
  const out: Parsed = { rows: [], lines: [], rejects: [] };
  return {
    ...out,
    sink: {
      row: (row, line) => { out.rows.push(row); out.lines.push(line); },
      reject: (reason, raw, line) => { out.rejects.push({ reason, raw, line }); },
    },
  };
}

/** Parse text fed in chunks of `chunk` characters (every split point must give the same result). */
function parse(text: string, opts: Partial<CsvParserOptions> = {}, chunk = text.length || 1): Parsed {
  const c = collector();
  const p = new CsvParser({ ...defaultCsvOptions, ...opts }, c.sink);
  for (let i = 0; i < text.length; i += chunk) p.push({ text: text.slice(i, i + chunk) });
  p.end();
  return { rows: c.rows, lines: c.lines, rejects: c.rejects };
}

/** Parse raw bytes through the UTF-8 decoder, as the source does. */
function parseBytes(bytes: Uint8Array, invalid: 'reject' | 'replace', chunk = bytes.length): Parsed {
  const c = collector();
  const p = new CsvParser({ ...defaultCsvOptions, rejectInvalid: invalid === 'reject' }, c.sink);
  const dec = createDecoder('utf-8', invalid);
  for (let i = 0; i < bytes.length; i += chunk) p.push(dec.write(bytes.subarray(i, i + chunk)));
  p.push(dec.end());
  p.end();
  return { rows: c.rows, lines: c.lines, rejects: c.rejects };
}

test('quoted fields hold delimiters, doubled quotes and line breaks; line numbers follow the records', () => {
  const text = 'id,note,n\n1,"a, b",x\n2,"say ""hi""",y\n3,"two\nlines",z\n4,plain,w\n';
  const r = parse(text);
  assert.deepEqual(r.rows, [
    { id: '1', note: 'a, b', n: 'x' },
    { id: '2', note: 'say "hi"', n: 'y' },
    { id: '3', note: 'two\nlines', n: 'z' },
    { id: '4', note: 'plain', n: 'w' },
  ]);
  assert.deepEqual(r.lines, [2, 3, 4, 6]);
  assert.deepEqual(r.rejects, []);
});

test('every chunk split gives the same rows', () => {
  const text = 'a,b\r\n"x\r\ny","q""q"\r\n1,\r\n,""\r\n"",2\r\n"""",""""""\r\n"""a""""b""","{""k"":[""v""]}"\r\nlast,"row"';
  const whole = parse(text);
  assert.equal(whole.rows.length, 7);
  assert.deepEqual(whole.rows.slice(4, 6), [{ a: '"', b: '""' }, { a: '"a""b"', b: '{"k":["v"]}' }]);
  for (let chunk = 1; chunk <= text.length; chunk++) {
    assert.deepEqual(parse(text, {}, chunk), whole, `chunk size ${chunk}`);
  }
});

test('empty unquoted field is null, empty quoted field is the empty string', () => {
  const r = parse('a,b,c\n,"",x\n');
  assert.deepEqual(r.rows, [{ a: null, b: '', c: 'x' }]);
});

test('CRLF line endings are stripped, also inside the fast path', () => {
  const r = parse('a,b\r\n1,2\r\n3,"4"\r\n');
  assert.deepEqual(r.rows, [{ a: '1', b: '2' }, { a: '3', b: '4' }]);
  assert.deepEqual(r.lines, [2, 3]);
});

test('custom delimiter and quote', () => {
  const r = parse("a;b\n'x;y';'it''s'\n1;2\n", { delimiter: ';', quote: "'", escape: "'" });
  assert.deepEqual(r.rows, [{ a: 'x;y', b: "it's" }, { a: '1', b: '2' }]);
});

test('tab delimiter and a backslash escape', () => {
  const r = parse('a\tb\n"say \\"hi\\"\t\\\\"\tz\n', { delimiter: '\t', escape: '\\' });
  assert.deepEqual(r.rows, [{ a: 'say "hi"\t\\', b: 'z' }]);
});

test('header=false numbers the columns; column_names names them', () => {
  assert.deepEqual(parse('1,2\n3,4\n', { header: false }).rows, [
    { column_1: '1', column_2: '2' }, { column_1: '3', column_2: '4' },
  ]);
  const named = parse('1,2\n3,4\n', { header: false, columnNames: ['x', 'y'] });
  assert.deepEqual(named.rows, [{ x: '1', y: '2' }, { x: '3', y: '4' }]);
  assert.deepEqual(named.lines, [1, 2]);
});

test('skip_lines and blank lines', () => {
  const r = parse('title line\n# note, with comma\na,b\n\n1,2\n\n3,4', { skipLines: 2 });
  assert.deepEqual(r.rows, [{ a: '1', b: '2' }, { a: '3', b: '4' }]);
  assert.deepEqual(r.lines, [5, 7]);
});

test('wrong column count is rejected with its line and the other rows load', () => {
  const r = parse('a,b,c\n1,2,3\n4,5\n"multi\nline",x,y\n6,7,8,9\n10,11,12\n');
  assert.deepEqual(r.rows.map((x) => x.a), ['1', 'multi\nline', '10']);
  assert.deepEqual(r.rejects, [
    { reason: 'expected 3 columns, got 2', raw: '4,5', line: 3 },
    { reason: 'expected 3 columns, got 4', raw: '6,7,8,9', line: 6 },
  ]);
  assert.deepEqual(r.lines, [2, 4, 7]);
});

test('an unbalanced quote at end of file is rejected and the lines after it still load', () => {
  const text = 'id,name\n1,ok\n2,"bad\n3,fine\n4,also fine\n';
  for (const chunk of [text.length, 3]) {
    const r = parse(text, {}, chunk);
    assert.deepEqual(r.rows, [{ id: '1', name: 'ok' }, { id: '3', name: 'fine' }, { id: '4', name: 'also fine' }]);
    assert.deepEqual(r.lines, [2, 4, 5]);
    assert.equal(r.rejects.length, 1);
    assert.equal(r.rejects[0].line, 3);
    assert.equal(r.rejects[0].raw, '2,"bad');
    assert.match(r.rejects[0].reason, /unbalanced quote/);
  }
});

test('an unbalanced quote closed by a later quote is rejected; resynchronises at the next line', () => {
  const r = parse('id,name\n2,"bad\n3,fine\n4,"also ""fine"""\n5,end\n');
  assert.deepEqual(r.rows, [{ id: '3', name: 'fine' }, { id: '4', name: 'also "fine"' }, { id: '5', name: 'end' }]);
  assert.deepEqual(r.lines, [3, 4, 5]);
  assert.equal(r.rejects.length, 1);
  assert.equal(r.rejects[0].line, 2);
  assert.match(r.rejects[0].reason, /after the closing quote/);
});

test('a quoted field longer than max_record_bytes is rejected without waiting for end of file', () => {
  const body = Array.from({ length: 50 }, (_, i) => `${i},row${i}`).join('\n');
  const text = `id,name\n1,"open\n${body}\n`;
  const r = parse(text, { maxRecordChars: 64 }, 16);
  assert.equal(r.rejects.length, 1);
  assert.equal(r.rejects[0].line, 2);
  assert.match(r.rejects[0].reason, /max_record_bytes/);
  assert.equal(r.rows.length, 50);
  assert.deepEqual(r.rows[0], { id: '0', name: 'row0' });
  assert.equal(r.lines[0], 3);
});

test('an unquoted line longer than max_record_bytes is rejected and skipped to its end', () => {
  const r = parse(`a,b\n1,${'x'.repeat(500)}\n2,y\n`, { maxRecordChars: 100 }, 32);
  assert.deepEqual(r.rows, [{ a: '2', b: 'y' }]);
  assert.deepEqual(r.lines, [3]);
  assert.equal(r.rejects.length, 1);
  assert.equal(r.rejects[0].line, 2);
  assert.ok(r.rejects[0].raw.startsWith('1,xxx'));
});

test('duplicate header names are disambiguated; names differing by case stay distinct', () => {
  assert.deepEqual(uniqueNames(['a', 'A', 'a', 'a_2', '', 'a']), ['a', 'A', 'a_2', 'a_2_2', 'column_5', 'a_3']);
  const r = parse('id,Id,id,ID\n1,2,3,4\n');
  assert.deepEqual(r.rows, [{ id: '1', Id: '2', id_2: '3', ID: '4' }]);
});

test('hostile header names are preserved as keys', () => {
  const header = '"""; DROP TABLE x; --",select,Name With Spaces,émoji 🎉,__proto__,constructor';
  const r = parse(`${header}\n1,2,3,4,5,6\n`);
  assert.equal(r.rows.length, 1);
  const row = r.rows[0];
  assert.deepEqual(Object.keys(row), ['"; DROP TABLE x; --', 'select', 'Name With Spaces', 'émoji 🎉', '__proto__', 'constructor']);
  assert.equal(row['"; DROP TABLE x; --'], '1');
  assert.equal(row['émoji 🎉'], '4');
  assert.equal(Object.getOwnPropertyDescriptor(row, '__proto__')?.value, '5');
  assert.equal(Object.getPrototypeOf(row), Object.prototype);
});

test('a one-column file parses every line (no rescans without a delimiter)', () => {
  const lines = Array.from({ length: 2000 }, (_, i) => (i % 3 === 0 ? `"v${i}"` : `v${i}`));
  const r = parse(`only\n${lines.join('\n')}\n`, {}, 1000);
  assert.equal(r.rows.length, 2000);
  assert.deepEqual(r.rows[1999], { only: 'v1999' });
});

test('empty input and header-only input give no rows', () => {
  assert.deepEqual(parse(''), { rows: [], lines: [], rejects: [] });
  assert.deepEqual(parse('a,b\n'), { rows: [], lines: [], rejects: [] });
});

test('invalid UTF-8 rejects only the record that holds it; replace loads U+FFFD', () => {
  const bytes = Buffer.concat([
    Buffer.from('a,b\n1,caf\u00e9\n2,'), Buffer.from([0xff, 0xfe]), Buffer.from('x\n3,\uFFFD ok\n4,z\n'),
  ]);
  for (const chunk of [bytes.length, 5, 1]) {
    const r = parseBytes(bytes, 'reject', chunk);
    assert.deepEqual(r.rows, [{ a: '1', b: 'café' }, { a: '3', b: '\uFFFD ok' }, { a: '4', b: 'z' }], `chunk ${chunk}`);
    assert.deepEqual(r.rejects.map((x) => [x.reason, x.line]), [['invalid UTF-8', 3]]);
  }
  const replaced = parseBytes(bytes, 'replace');
  assert.equal(replaced.rejects.length, 0);
  assert.deepEqual(replaced.rows[1], { a: '2', b: '\uFFFD\uFFFDx' });
});

test('a multi-byte character split across chunks is not mistaken for invalid UTF-8', () => {
  const bytes = Buffer.from('a\n🎉é€\n');
  for (let chunk = 1; chunk <= 4; chunk++) {
    const r = parseBytes(bytes, 'reject', chunk);
    assert.deepEqual(r.rows, [{ a: '🎉é€' }], `chunk ${chunk}`);
  }
});
