// `lookback`: the watermark moved back in its own form, and the configurations that cannot use it refused up front.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { behind } from '../../src/core/values/lookback.js';
import { SeenRows } from '../../src/engine/seen-rows.js';
import { parsePipeline } from '../../src/config/load.js';
import { ConfigError } from '../../src/core/errors.js';

test('behind: numbers by a number, dates and timestamps by a duration, in the watermark\'s own form', () => {
  assert.equal(behind(100, 3), 97);
  assert.equal(behind('9223372036854775807', 10), '9223372036854775797');
  assert.equal(behind('2024-03-01T00:00:00.123456Z', '10m'), '2024-02-29T23:50:00.123456Z');
  assert.equal(behind('2024-03-01T00:00:00.000000Z', '1.5h'), '2024-02-29T22:30:00.000000Z');
  assert.equal(behind('2024-03-01', '1d'), '2024-02-29');
  assert.equal(behind('2024-03-01', '36h'), '2024-02-28', 'a part of a day reaches the whole day before');
  assert.match(String(behind('2024-03-01T00:00:00.000000Z', 5)), /is a number, but the watermark .* is no number/);
  assert.match(String(behind(42, '10m')), /is a duration, but the watermark 42 is no date or timestamp/);
});

test('lookback needs a cursor and a disposition that makes re-read rows harmless', () => {
  const pipeline = (stream: string) => `pipeline: p
sources:
  - name: f
    type: csv
    streams:
      - ${stream}
`;
  const issue = (stream: string): string => {
    try {
      parsePipeline(pipeline(stream), { baseDir: '/tmp', file: 'p.yaml' });
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      return e.message;
    }
    return '';
  };
  assert.equal(issue('{ name: a, path: a.csv, primary_key: [id], cursor: id, write: merge, lookback: 10 }'), '');
  assert.equal(issue('{ name: a, path: a.csv, primary_key: [id], cursor: at, write: scd2, lookback: 2h }'), '');
  assert.match(issue('{ name: a, path: a.csv, primary_key: [id], write: merge, lookback: 10 }'), /lookback.*has none/s);
  assert.match(issue('{ name: a, path: a.csv, cursor: id, lookback: 10 }'), /`write: append` tells them by their `primary_key`, and the stream has none/);
  assert.equal(issue('{ name: a, path: a.csv, primary_key: [id], cursor: id, lookback: 10 }'), '');
  assert.match(issue('{ name: a, path: a.csv, primary_key: [id], cursor: id, write: merge, lookback: soon }'), /a number, or a duration/);
});

test('an append stream remembers only the rows within lookback of the newest cursor, and knows them on the next run', () => {
  const compare = (a: unknown, b: unknown) => Number(a) - Number(b);
  const seen = new SeenRows(undefined, 100);
  for (let c = 1; c <= 30_000; c++) seen.add(c, SeenRows.hash([c], c), c, compare);
  const kept = seen.within(30_000, compare);
  assert.deepEqual([kept.length, kept[0][0]], [101, 29_900], 'rows 29,900 to 30,000');
  const next = new SeenRows(kept, 100);
  assert.ok(next.loaded(SeenRows.hash([29_950], 29_950)));
  assert.ok(!next.loaded(SeenRows.hash([29_950], 29_951)), 'the same key with another cursor value is another row');
  assert.ok(!next.loaded(SeenRows.hash([1], 1)), 'rows beyond lookback are forgotten');
});
