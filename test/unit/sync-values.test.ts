// One value as two engines spell it compares equal; keys compare in the byte order both engines sort them in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareKeys, syncText } from '../../src/sync/values.js';

test('each engine\'s spelling of a value is one text: decimals, booleans, timestamps, JSON, bytes', () => {
  const same = (...vs: unknown[]) => assert.equal(new Set(vs.map(syncText)).size, 1, JSON.stringify(vs.map(syncText)));
  same('1.5', '1.50', '1.500', 1.5);
  same('2.0', '2', 2, 2n);
  same('-0.00', '0');
  same('1e+20', '1e20', 1e20);
  same('t', 'true', true, '1', 1);
  same('2024-01-01 00:00:00.123456+00', '2024-01-01 00:00:00.123', '2024-01-01T00:00:00.123Z', new Date('2024-01-01T00:00:00.123Z'));
  same('2024-01-01 02:00:00+02', '2024-01-01 00:00:00', '2024-01-01T05:30:00+0530');
  same('{"b": 1, "a": [1, 2]}', '{"a":[1,2],"b":1}', { a: [1, 2], b: 1 });
  same(Buffer.from([1, 255]), '\\x01ff');
  assert.equal(syncText(null), null);
  assert.notEqual(syncText('1.5'), syncText('1.05'));
  assert.notEqual(syncText('2024-01-01 00:00:00.124'), syncText('2024-01-01 00:00:00.123'));
  assert.equal(syncText('{not json'), '{not json');
});

test('keys compare by their columns\' types: integers by value, text by UTF-8 bytes (emoji after private-use characters)', () => {
  const sorted = (keys: string[], integer: boolean) => [...keys].sort((a, b) => compareKeys([a], [b], [integer]));
  assert.deepEqual(sorted(['10', '9', '-1', '100000000000000000000'], true), ['-1', '9', '10', '100000000000000000000']);
  assert.deepEqual(sorted(['b', 'alpha', 'Zeta', 'émile', 'Émile', '😀', '\uE000x'], false), ['Zeta', 'alpha', 'b', 'Émile', 'émile', '\uE000x', '😀']);
  // Text that looks like a number is text: in byte order, as the engines sort a text column, and '007' is not '7'.
  assert.deepEqual(sorted(['9', '10', '007', '7'], false), ['007', '10', '7', '9']);
  assert.notEqual(compareKeys(['007'], ['7'], [false]), 0);
  assert.equal(compareKeys(['1', 'a'], ['1', 'b'], [true, false]), -1);
  assert.equal(compareKeys(['2', '10'], ['2', '9'], [true, false]), -1, 'the second part is text');
  assert.equal(compareKeys([null], ['a'], [false]), -1);
  // A numeric(10,0) or decimal key is ordered by value by the engines, as integers are.
  assert.deepEqual(sorted(['100', '9', '10'], true), ['9', '10', '100']);
});
