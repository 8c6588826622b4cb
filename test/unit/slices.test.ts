// Folding the states of a stream's slices into the stream's (src/engine/slices.ts): files are positions and count at
// once, the watermark moves only once every slice finished, and columns a slice saw join the stream's schema.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { foldStates, sliceStart, splits } from '../../src/engine/slices.js';
import type { StreamState } from '../../src/core/types.js';
import type { StreamTask } from '../../src/engine/stream-task.js';

const file = (records: number, done: boolean) => ({ size: 10, mtimeMs: 1, records, done });
const base: StreamState = {
  version: 7, cursor: { column: 'at', value: '2026-01-01T00:00:00.000Z' },
  files: { 'a.csv': file(5, true), 'b.csv': file(2, false) },
  schema: { columns: [{ name: 'id', type: 'integer', nullable: false }] },
  run: { id: 'r0', counts: { extracted: 1, loaded: 1, dead_lettered: 0, filtered: 0, inserted: 1, updated: 0, deleted: 0 } },
};

test('a slice starts from the stream\'s state with only its own files\' progress, and no run counts', () => {
  assert.deepEqual(sliceStart(base, { id: 'x', files: ['b.csv', 'c.csv'] }), {
    version: 7, cursor: base.cursor, schema: base.schema, files: { 'b.csv': file(2, false) },
  });
  assert.equal(sliceStart(undefined, { id: 'x', files: ['b.csv'] }), undefined);
});

test('folding: files count at once, the cursor only when complete, columns are unioned and widened', () => {
  const b: StreamState = {
    version: 1, cursor: { column: 'at', value: '2026-03-01T00:00:00.000Z' }, files: { 'b.csv': file(9, true) },
    schema: { columns: [{ name: 'id', type: 'bigint', nullable: true }, { name: 'note', type: 'text', nullable: true }] },
  };
  const c: StreamState = { version: 1, cursor: { column: 'at', value: '2026-02-01T00:00:00.000Z' }, files: { 'c.csv': file(3, false) } };
  const partial = foldStates(base, [b, c], false);
  assert.deepEqual(partial.files, { 'a.csv': file(5, true), 'b.csv': file(9, true), 'c.csv': file(3, false) });
  assert.deepEqual(partial.cursor, base.cursor, 'a slice that did not finish may hold older rows: the watermark stays');
  assert.equal(partial.run, undefined);
  assert.deepEqual(partial.schema, { columns: [{ name: 'id', type: 'bigint', nullable: true }, { name: 'note', type: 'text', nullable: true }] });
  assert.deepEqual(foldStates(base, [b, c], true).cursor, b.cursor, 'every slice finished: the newest cursor any reached');
  assert.deepEqual(foldStates(undefined, [c], true), { version: 1, files: c.files, cursor: c.cursor });
});

test('only streams without replace, whole-stream steps, checks or lookback split', () => {
  const task = (over: Partial<StreamTask> = {}, stream: Record<string, unknown> = {}): StreamTask => ({
    pipeline: 'p', runId: 'r', source: 's', fullRefresh: false, dryRun: false, checkpointRows: 100,
    stream: { name: 'x', primary_key: [], write: 'append', on_schema_change: 'widen', ...stream }, ...over,
  });
  assert.equal(splits(task()), true);
  assert.equal(splits(task({ transforms: [{ trim: '*' }] as never })), true);
  // Merges split too, by key ranges only (src/workers/split.ts keeps files to appends).
  assert.equal(splits(task({}, { write: 'merge', primary_key: ['id'] })), true);
  assert.equal(splits(task({}, { write: 'replace' })), false);
  assert.equal(splits(task({ transforms: [{ dedupe: { key: ['id'] } }] as never })), false);
  assert.equal(splits(task({ transforms: [{ aggregate: { by: ['k'], count: 'n' } }] as never })), false);
  assert.equal(splits(task({ checks: [{ not_null: 'id' }] as never })), false);
  assert.equal(splits(task({}, { lookback: '1h' })), false);
  assert.equal(splits(task({ fullRefresh: true })), false);
});

test('key ranges: cut into contiguous ranges with stable ids; a range read keeps to its bounds and ends once read', async () => {
  const { cutRange, rangeRead, rangeSlices } = await import('../../src/connectors/sql/key-slices.js');
  assert.deepEqual(cutRange(-5n, 14n, 4), [{ lo: '-5', hi: '-1' }, { lo: '0', hi: '4' }, { lo: '5', hi: '9' }, { lo: '10', hi: '14' }]);
  assert.deepEqual(cutRange(1n, 3n, 8).length, 3, 'never more ranges than keys');
  assert.deepEqual(rangeSlices('id', '-5', '14', 2), [
    { id: 'km5_4', keys: { column: 'id', lo: '-5', hi: '4' } }, { id: 'k5_14', keys: { column: 'id', lo: '5', hi: '14' } },
  ]);
  assert.equal(rangeSlices('id', '1', '100', 1), undefined, 'one range is no split');
  assert.equal(rangeSlices('id', 'a', 'z', 4), undefined, 'not an integer key');
  const dialect = { quote: (n: string) => `"${n}"`, placeholder: () => '?', rowValues: false };
  const range = { column: 'id', lo: '5', hi: '9007199254740993' };
  const fresh = rangeRead(undefined, range, dialect)!;
  assert.deepEqual(fresh.page({ where: '', orderBy: '"id"', params: [] }), { where: '"id" BETWEEN ? AND ?', orderBy: '"id"', params: [5, '9007199254740993'] });
  assert.deepEqual(rangeRead({ version: 1, connector: { pk_values: [7] } }, range, dialect)!.page({ where: '"id" > ?', orderBy: '"id"', params: [7] }).params, [7, 5, '9007199254740993']);
  assert.equal(rangeRead({ version: 1, connector: {} }, range, dialect), undefined, 'read to its end: nothing left');
});
