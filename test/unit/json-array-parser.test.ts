import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JsonArrayParser, defaultJsonArrayOptions, type JsonArrayOptions } from '../../src/connectors/json/json-array-parser.js';
import { createDecoder } from '../../src/connectors/file-source/decode.js';
import { RunError } from '../../src/core/errors.js';
import type { Row } from '../../src/core/types.js';

interface Parsed {
  rows: Row[];
  positions: { line: number; offset?: number }[];
  rejects: { reason: string; raw: string; line: number; offset?: number }[];
}

function parse(text: string, opts: Partial<JsonArrayOptions> = {}, chunk = text.length || 1): Parsed {
  const out: Parsed = { rows: [], positions: [], rejects: [] };
  const p = new JsonArrayParser({ ...defaultJsonArrayOptions, ...opts }, 'f.json', {
    row: (row, line, offset) => { out.rows.push(row); out.positions.push({ line, offset }); },
    reject: (reason, raw, line, offset) => { out.rejects.push({ reason, raw, line, offset }); },
  });
  for (let i = 0; i < text.length; i += chunk) p.push({ text: text.slice(i, i + chunk) });
  p.end();
  return out;
}

const tricky = `[
  {"id": 1, "s": "brackets ] } [ { and \\"quotes\\" and \\\\", "nested": {"a": [1, [2, {"b": 3}]]}},
  {"id": 2, "s": "emoji 🎉", "n": null},

  {"id": 3, "__proto__": "kept"}
]`;

test('elements with nested structures, escaped quotes and brackets inside strings', () => {
  const r = parse(tricky);
  assert.equal(r.rows.length, 3);
  assert.deepEqual(r.rows[0], { id: 1, s: 'brackets ] } [ { and "quotes" and \\', nested: { a: [1, [2, { b: 3 }]] } });
  assert.deepEqual(r.rows[1], { id: 2, s: 'emoji 🎉', n: null });
  assert.equal(Object.getOwnPropertyDescriptor(r.rows[2], '__proto__')?.value, 'kept');
  assert.deepEqual(r.positions.map((p) => p.line), [2, 3, 5]);
  assert.equal(r.positions[0].offset, tricky.indexOf('{"id": 1'));
  assert.equal(r.positions[2].offset, tricky.indexOf('{"id": 3'));
  assert.deepEqual(r.rejects, []);
});

test('every chunk split gives the same result', () => {
  const whole = parse(tricky);
  for (let chunk = 1; chunk <= 40; chunk++) assert.deepEqual(parse(tricky, {}, chunk), whole, `chunk ${chunk}`);
});

test('a malformed element is rejected with line and offset; its neighbours load', () => {
  const text = '[{"a": 1},\n {"a": tru},\n {"a": 3}, 42, [1], null, "s"]';
  const r = parse(text);
  assert.deepEqual(r.rows, [{ a: 1 }, { a: 3 }]);
  assert.equal(r.rejects.length, 5);
  assert.equal(r.rejects[0].raw, '{"a": tru}');
  assert.equal(r.rejects[0].line, 2);
  assert.equal(r.rejects[0].offset, text.indexOf('{"a": tru}'));
  assert.match(r.rejects[0].reason, /^invalid JSON/);
  assert.deepEqual(r.rejects.slice(1).map((x) => [x.raw, x.reason]), [
    ['42', 'expected an object, got number'],
    ['[1]', 'expected an object, got an array'],
    ['null', 'expected an object, got null'],
    ['"s"', 'expected an object, got string'],
  ]);
});

test('records path walks into a top-level object, skipping unrelated values', () => {
  const text = '{"meta": {"items": [{"x": 0}], "s": "data"}, "n": 5, "data": {"skip": [1,2,{"items":9}], "items": [{"id": 1}, {"id": 2}]}, "after": 1}';
  for (const chunk of [text.length, 1, 7]) {
    const r = parse(text, { records: ['data', 'items'] }, chunk);
    assert.deepEqual(r.rows, [{ id: 1 }, { id: 2 }], `chunk ${chunk}`);
  }
});

test('records path errors are RunErrors naming the file and path', () => {
  assert.throws(() => parse('{"data": {"other": []}}', { records: ['data', 'items'] }),
    (e: unknown) => e instanceof RunError && /f\.json.*data\.items.*"items" not found/.test(e.message));
  assert.throws(() => parse('{"data": 3}', { records: ['data'] }),
    (e: unknown) => e instanceof RunError && /not an array/.test(e.message));
  assert.throws(() => parse('{"a": 1}'), (e: unknown) => e instanceof RunError && /top-level JSON array/.test(e.message));
});

test('empty file and empty array give no rows and no error', () => {
  assert.deepEqual(parse(''), { rows: [], positions: [], rejects: [] });
  assert.deepEqual(parse('  \n'), { rows: [], positions: [], rejects: [] });
  assert.deepEqual(parse('[ ]'), { rows: [], positions: [], rejects: [] });
});

test('a truncated file rejects the unfinished element', () => {
  const r = parse('[{"a": 1}, {"a": 2, "b": [');
  assert.deepEqual(r.rows, [{ a: 1 }]);
  assert.equal(r.rejects.length, 1);
  assert.match(r.rejects[0].reason, /end of file inside an element/);
  assert.equal(r.rejects[0].raw, '{"a": 2, "b": [');
});

test('an element longer than max_record_bytes is rejected and skipped without being kept', () => {
  const big = `{"a": "${'x'.repeat(1000)}", "b": [${'1,'.repeat(200)}1]}`;
  const r = parse(`[{"a": 1}, ${big}, {"a": 3}]`, { maxRecordChars: 100 }, 10);
  assert.deepEqual(r.rows, [{ a: 1 }, { a: 3 }]);
  assert.equal(r.rejects.length, 1);
  assert.match(r.rejects[0].reason, /max_record_bytes/);
  assert.ok(r.rejects[0].raw.startsWith('{"a": "xxx'));
});

test('invalid UTF-8 inside an element rejects that element', () => {
  const bytes = Buffer.concat([Buffer.from('[{"a": "ok"}, {"a": "'), Buffer.from([0xc3, 0x28]), Buffer.from('"}, {"a": "é"}]')]);
  const out: Parsed = { rows: [], positions: [], rejects: [] };
  const p = new JsonArrayParser(defaultJsonArrayOptions, 'f.json', {
    row: (row, line) => { out.rows.push(row); out.positions.push({ line }); },
    reject: (reason, raw, line) => { out.rejects.push({ reason, raw, line }); },
  });
  const dec = createDecoder('utf-8', 'reject');
  for (let i = 0; i < bytes.length; i += 3) p.push(dec.write(bytes.subarray(i, i + 3)));
  p.push(dec.end());
  p.end();
  assert.deepEqual(out.rows, [{ a: 'ok' }, { a: 'é' }]);
  assert.deepEqual(out.rejects.map((x) => x.reason), ['invalid UTF-8']);
});
