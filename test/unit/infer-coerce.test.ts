import { test } from 'node:test';
import assert from 'node:assert/strict';
import { typeOfValue, widen } from '../../src/core/values/infer.js';
import { FAIL, bigintText, coercerFor, compareCursor, cursorOrder, isCanonical, normalizeTimestamp } from '../../src/core/values/coerce.js';
import { jsonText, parseArrayText, pgArrayLiteral } from '../../src/core/values/array-text.js';

test('inference keeps identifiers with leading zeros as text', () => {
  assert.equal(typeOfValue('00501'), 'text');
  assert.equal(typeOfValue('501'), 'integer');
  assert.equal(typeOfValue('0'), 'integer');
  assert.equal(typeOfValue('-12'), 'integer');
  assert.equal(typeOfValue('3000000000'), 'bigint');
  assert.equal(typeOfValue('99999999999999999999'), 'decimal');
});

test('ints mixed with floats widen to a number type; dates and timestamps are detected', () => {
  assert.equal(typeOfValue('1.5'), 'double');
  assert.equal(widen('integer', 'double'), 'double');
  assert.equal(widen('bigint', 'integer'), 'bigint');
  assert.equal(typeOfValue('2024-02-29'), 'date');
  assert.equal(typeOfValue('2023-02-29'), 'text');
  assert.equal(typeOfValue('2024-01-02T03:04:05Z'), 'timestamp');
  assert.equal(typeOfValue('2024-01-02 03:04:05.123456+02:00'), 'timestamp');
  assert.equal(widen('date', 'timestamp'), 'timestamp');
  assert.equal(widen('integer', 'text'), 'text');
  assert.equal(widen('boolean', 'integer'), 'text');
  assert.equal(typeOfValue('TRUE'), 'boolean');
  assert.equal(typeOfValue({ a: 1 }), 'json');
  assert.equal(typeOfValue(null), undefined);
});

test('coercion produces canonical forms and refuses what does not fit', () => {
  assert.equal(coercerFor('integer')('42'), 42);
  assert.equal(coercerFor('integer')('4.2'), FAIL);
  assert.equal(coercerFor('bigint')('9007199254740993'), 9007199254740993n);
  // One form per value: a number while it is a safe integer, a bigint beyond.
  assert.equal(coercerFor('bigint')('1000000000001'), 1000000000001);
  assert.equal(coercerFor('bigint')('-9007199254740991'), -9007199254740991);
  assert.equal(coercerFor('bigint')(42n), 42);
  assert.equal(coercerFor('bigint')(-(2n ** 63n)), -(2n ** 63n));
  assert.equal(coercerFor('bigint')('9223372036854775808'), FAIL);
  assert.equal(coercerFor('bigint')(2n ** 63n), FAIL);
  assert.equal(coercerFor('bigint')(2 ** 53), FAIL, 'an unsafe number may already have lost digits');
  assert.deepEqual(['+12', '-0012', '999999999999999', '', '-', '+', '1.0', ' 1', '1e3', '0x1', '12a'].map(coercerFor('bigint')),
    [12, -12, 999999999999999, FAIL, FAIL, FAIL, FAIL, FAIL, FAIL, FAIL, FAIL]);
  // Its text, every digit, also where the halves meet.
  for (const v of [0, -5, 2147483647, 2147483648, -2147483649, 3000000000, 1000000000001, 4000000000.5, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 2n ** 60n]) {
    const n = typeof v === 'number' ? Math.trunc(v) : v;
    assert.equal(bigintText(n), String(BigInt(n)));
  }
  assert.deepEqual([7, 7n, 2n ** 60n, 2 ** 53, 2n ** 63n, '7', 1.5].map(isCanonical('bigint')), [true, false, true, false, false, false, false]);
  assert.equal(coercerFor('decimal')('12345678901234567890.123456789'), '12345678901234567890.123456789');
  // Decimal text: a sign, digits on at least one side of one point, nothing else.
  assert.deepEqual(['5.', '.5', '+1.25', '-0', '007'].map(coercerFor('decimal')), ['5.', '.5', '+1.25', '-0', '007']);
  assert.deepEqual(['.', '+', '-.', '', '1.2.3', ' 1', '1-', '--1', '1e', 'e5', '1e5.0'].map(coercerFor('decimal')), Array(11).fill(FAIL));
  // Exponent notation is written out (a column mixing doubles with long decimals widens to decimal, which holds both).
  assert.deepEqual(['1e5', '-2.5E-3', '+1.5e2', 1e21, 1e-7, 0.1].map(coercerFor('decimal')), ['100000', '-0.0025', '150', '1000000000000000000000', '0.0000001', '0.1']);
  assert.equal(coercerFor('boolean')('yes'), true);
  assert.equal(coercerFor('boolean')('maybe'), FAIL);
  assert.equal(coercerFor('date')('2024-13-01'), FAIL);
  assert.equal(coercerFor('json')({ a: [1] }), '{"a":[1]}');
  assert.equal(coercerFor('uuid')('A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'), 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
  assert.equal(coercerFor('text')(null), null);
  assert.equal(coercerFor('text')(''), '');
});

test('timestamps normalise to UTC with microseconds kept', () => {
  assert.equal(normalizeTimestamp('2024-01-02T03:04:05.123456789+02:00'), '2024-01-02T01:04:05.123456Z');
  assert.equal(normalizeTimestamp('2024-01-02 03:04'), '2024-01-02T03:04:00.000000Z');
  assert.equal(normalizeTimestamp('2024-01-01T00:30:00-01:30'), '2024-01-01T02:00:00.000000Z');
  assert.equal(normalizeTimestamp('2024-02-30T00:00:00Z'), FAIL);
  // UTC text as most systems write it: each fraction width padded (or cut) to six digits, every field checked.
  assert.deepEqual(['', '.1', '.12', '.123', '.1234', '.12345', '.123456', '.1234567'].map((f) => normalizeTimestamp(`2024-02-29T23:59:59${f}Z`)),
    ['000000', '100000', '120000', '123000', '123400', '123450', '123456', '123456'].map((f) => `2024-02-29T23:59:59.${f}Z`));
  assert.deepEqual(['2023-02-29T00:00:00Z', '1900-02-29T00:00:00Z', '2024-04-31T00:00:00Z', '2024-01-01T24:00:00Z', '2024-01-01T00:60:00Z',
    '2024-01-01T00:00:60Z', '2024-0a-01T00:00:00Z', '2024-01-01T00:00:00.Z', '2024-01-01T00:00:00.1x2Z'].map(normalizeTimestamp), Array(9).fill(FAIL));
  assert.equal(normalizeTimestamp('2000-02-29T00:00:00Z'), '2000-02-29T00:00:00.000000Z');
  // Fixed-width fractions make string order the time order.
  assert.ok(compareCursor(normalizeTimestamp('2024-01-01T00:00:00.5Z'), normalizeTimestamp('2024-01-01T00:00:00Z')) > 0);
  assert.ok(compareCursor(10, 9) > 0);
  assert.ok(compareCursor(10n, '9') > 0);
  // A bigint column's cursor from a state written as text, against values that are numbers now.
  assert.ok(compareCursor(1000, '123') > 0);
  assert.ok(compareCursor(5, '123') < 0);
  assert.equal(compareCursor(2n ** 60n, String(2n ** 60n)), 0);
  // Decimals (canonical as text) compare by value, exactly.
  const decimal = cursorOrder('decimal');
  const sorted = ['-10.5', '-9.9', '-0.25', '0', '-0.00', '0.1', '0.25', '9.9', '9.90', '10', '10.25', '12345678901234567890.000000000000000001'];
  for (let i = 0; i + 1 < sorted.length; i++) assert.ok(decimal(sorted[i], sorted[i + 1]) <= 0, `${sorted[i]} ≤ ${sorted[i + 1]}`);
  assert.ok(decimal('10.25', '9.9') > 0);
  assert.equal(decimal('9.9', '9.90'), 0);
  assert.equal(decimal('-0.00', '0'), 0);
  assert.ok(decimal('12345678901234567890.000000000000000002', '12345678901234567890.000000000000000001') > 0, 'past a double\'s digits');
  assert.ok(cursorOrder('text')('10', '9') < 0, 'text keeps text order');
});

test('the UTC fast path agrees with the general parser', () => {
  const cases = ['2024-01-02T03:04:05Z', '2024-01-02T03:04:05.1Z', '2024-01-02T03:04:05.123Z', '2024-01-02T03:04:05.123456Z',
    '2024-01-02T03:04:05.123456789Z', '2024-02-29T00:00:00Z', '2023-02-29T00:00:00Z', '2024-04-31T00:00:00Z', '2024-01-02T24:00:00Z',
    '2024-13-02T03:04:05Z', '2024-01-02T03:04:05.Z', '2024-01-02T03:04:60Z', '1900-02-29T00:00:00Z', '2000-02-29T00:00:00Z'];
  const expected = ['2024-01-02T03:04:05.000000Z', '2024-01-02T03:04:05.100000Z', '2024-01-02T03:04:05.123000Z', '2024-01-02T03:04:05.123456Z',
    '2024-01-02T03:04:05.123456Z', '2024-02-29T00:00:00.000000Z', FAIL, FAIL, FAIL, FAIL, FAIL, FAIL, FAIL, '2000-02-29T00:00:00.000000Z'];
  assert.deepEqual(cases.map(normalizeTimestamp), expected);
});

test('array text: JSON arrays and PostgreSQL literals give their elements as text; anything else is no array', () => {
  assert.deepEqual(parseArrayText('[1, -2.5e3, "a\\"b", null, true]'), ['1', '-2.5e3', 'a"b', null, 'true']);
  assert.deepEqual(parseArrayText(' [ ] '), []);
  assert.deepEqual(parseArrayText('{1,NULL, "x,y" ,"NULL","","\\\\"}'), ['1', null, 'x,y', 'NULL', '', '\\']);
  assert.deepEqual(parseArrayText('{}'), []);
  assert.deepEqual(parseArrayText('{"2024-03-10 01:30:00+00"}'), ['2024-03-10 01:30:00+00']);
  for (const bad of ['[1,]', '[1 2]', '[[1]]', '[{"a":1}]', '[1', '{1,{2}}', '{1,}', '{a"b}', '1,2', '', '[1] x', '{"a}']) {
    assert.equal(parseArrayText(bad), undefined, bad);
  }
});

test('array coercion: each element by its type, nulls kept, one misfit fails the value; canonical checks', () => {
  assert.deepEqual(coercerFor('integer[]')([1, '2', null]), [1, 2, null]);
  assert.deepEqual(coercerFor('integer[]')('{3,NULL}'), [3, null]);
  assert.equal(coercerFor('integer[]')([1, 'x']), FAIL);
  assert.equal(coercerFor('integer[]')('[1.5]'), FAIL);
  assert.equal(coercerFor('integer[]')(5), FAIL);
  assert.deepEqual(coercerFor('bigint[]')('[9007199254740993]'), [9007199254740993n]);
  assert.deepEqual(coercerFor('decimal[]')('[12345678901234567890.123456789]'), ['12345678901234567890.123456789']);
  assert.deepEqual(coercerFor('timestamp[]')(['2024-03-10T01:59:59.5-05:00']), ['2024-03-10T06:59:59.500000Z']);
  assert.deepEqual(coercerFor('uuid[]')(['A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11']), ['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11']);
  assert.deepEqual(coercerFor('boolean[]')('{t,f}'), [true, false]);
  assert.equal(coercerFor('integer[]')(null), null);
  assert.ok(isCanonical('integer[]')([1, null]));
  assert.ok(!isCanonical('integer[]')(['1']));
  assert.ok(!isCanonical('integer[]')('[1]'));
  // A decimal is canonical only as digits: NaN and infinities (which a numeric column may hold) and '' are coerced,
  // and so rejected.
  assert.deepEqual(['1.50', '-0', '.5', '', 'NaN', 'Infinity', '-Infinity', 1.5].map(isCanonical('decimal')), [true, true, true, false, false, false, false, false]);
  assert.equal(coercerFor('decimal')('NaN'), FAIL);
  // Arrays with bigints become JSON and text without throwing, every digit kept.
  assert.equal(coercerFor('json')([9007199254740993n, null, { a: 1n }]), '[9007199254740993,null,{"a":1}]');
  assert.equal(coercerFor('text')([1n]), '[1]');
  assert.equal(jsonText(['1.50', 2]), '["1.50",2]');
  assert.equal(pgArrayLiteral(['a "b" \\', null, 'NULL']), '{"a \\"b\\" \\\\",NULL,"NULL"}');
  assert.equal(pgArrayLiteral([1, 2n, true]), '{1,2,true}');
});

test('arrays widen by their elements; JSON holds any array; other mixes are text', () => {
  assert.equal(widen('integer[]', 'bigint[]'), 'bigint[]');
  assert.equal(widen('integer[]', 'double[]'), 'double[]');
  assert.equal(widen('date[]', 'timestamp[]'), 'timestamp[]');
  assert.equal(widen('integer[]', 'uuid[]'), 'text[]');
  assert.equal(widen('integer[]', 'json'), 'json');
  assert.equal(widen('json', 'text[]'), 'json');
  assert.equal(widen('integer[]', 'integer'), 'text');
  assert.equal(typeOfValue([1, 2]), 'json', 'arrays in data are JSON unless a type is declared');
});
