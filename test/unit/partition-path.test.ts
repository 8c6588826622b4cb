// Hive partition directories: what the files destination writes, a source reads back to the same value.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_PARTITION, partitionSegment, partitionValue, partitionsOfPath } from '../../src/core/values/partition-path.js';

test('partition values survive the trip through a path, whatever characters they hold', () => {
  const values = ['eu/west', 'a=b', '100%', 'x y+z', 'c:\\d', '#?*[]{}^\'"', 'Montréal 🎉', '..', 'line\nbreak'];
  for (const v of values) {
    const seg = partitionSegment('region', v);
    assert.ok(!/[/\n ]/.test(seg), `no separator or blank in ${seg}`);
    assert.deepEqual(partitionsOfPath(`s3://b/t/${seg}/part-1.parquet`), [['region', v]]);
  }
  assert.equal(partitionSegment('d', null), `d=${DEFAULT_PARTITION}`);
  assert.deepEqual(partitionsOfPath(`t/d=2026-12-01/k=${DEFAULT_PARTITION}/p.parquet`), [['d', '2026-12-01'], ['k', null]]);
  assert.deepEqual(partitionsOfPath('t/no-partition/p.parquet'), []);
});

test('a value is written in its text form: dates as days, empty text as the default partition', () => {
  assert.equal(partitionValue(new Date('2026-12-01T00:00:00Z'), 'date'), '2026-12-01');
  assert.equal(partitionValue(new Date('2026-12-01T10:20:30Z'), 'timestamp'), '2026-12-01T10:20:30.000Z');
  assert.equal(partitionValue('', 'text'), null);
  assert.equal(partitionValue(42, 'integer'), '42');
  assert.equal(partitionValue(9007199254740993n, 'bigint'), '9007199254740993');
  assert.equal(partitionValue(true, 'boolean'), 'true');
});
