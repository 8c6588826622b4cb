// Schema contracts (`contract:` on a stream): evolve, freeze, discard_value, discard_row — on object rows and on
// rows as arrays (a CSV header), with a stored schema and on a first run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StreamConfig } from '../../src/core/connector.js';
import type { Schema } from '../../src/core/types.js';
import { SchemaTracker } from '../../src/engine/schema-tracker.js';

const stream = (over: Partial<StreamConfig> = {}): StreamConfig => ({
  name: 's', primary_key: [], write: 'append', on_schema_change: 'widen', ...over,
});
const ids = { caseSensitive: false, maxLength: 63 };
const stored: Schema = { columns: [{ name: 'id', type: 'integer', nullable: true, target: 'id' }, { name: 'n', type: 'integer', nullable: true, target: 'n' }] };

test('evolve: new columns are added and inferred types widen', () => {
  const t = new SchemaTracker(stream({ contract: 'evolve', on_schema_change: 'reject' }), stored, ids);
  const added = t.addColumns([{ id: 1, n: 1, extra: 'x' }]);
  assert.deepEqual(added, [{ change: 'add_column', column: 'extra', to: 'text' }]);
  const r = t.coerce([{ id: 1, n: 'x' }]);
  assert.deepEqual(r.changes, [{ change: 'widen_column', column: 'n', from: 'integer', to: 'text' }]);
});

test('freeze: a new column is not added; rows using it and values that do not fit go to the DLQ', () => {
  const t = new SchemaTracker(stream({ contract: 'freeze' }), stored, ids);
  const changes = t.addColumns([{ id: 1, n: 1, extra: 'x' }]);
  assert.deepEqual(changes, [{ change: 'reject_column', column: 'extra', to: 'text' }]);
  assert.deepEqual(t.columns.map((c) => c.name), ['id', 'n']);
  assert.deepEqual(t.addColumns([{ extra: 'again' }]), [], 'recorded once');
  const r = t.coerce([{ id: 1, n: 1 }, { id: 2, n: 2, extra: 'x' }, { id: 3, n: 'wide' }, { id: 4, n: 4, extra: null }]);
  assert.deepEqual(r.rows, [[1, 1], [4, 4]]);
  assert.deepEqual(r.rejected.map((x) => x.index), [1, 2]);
  assert.match(r.rejected[0].reason, /column "extra" is not in the schema \(contract: freeze\)/);
  assert.match(r.rejected[1].reason, /"wide" is not a valid integer \(contract: freeze\)/);
  assert.equal(r.changes.length, 0, 'nothing widens');
  assert.equal(r.dropped, 0);
});

test('freeze on a first run: the first batch sets the schema, later batches cannot add to it', () => {
  const t = new SchemaTracker(stream({ contract: 'freeze' }), undefined, ids);
  assert.equal(t.addColumnsOf(['id', 'n'], [['1', '2']]).length, 2);
  assert.deepEqual(t.addColumnsOf(['id', 'n', 'late'], [['1', '2', 'z']]), [{ change: 'reject_column', column: 'late', to: 'text' }]);
  const r = t.coerceValues(['id', 'n', 'late'], [['1', '2', 'z'], ['3', '4', null]]);
  assert.deepEqual(r.rows, [[3, 4]]);
  assert.deepEqual(r.rejected.map((x) => x.index), [0]);
  assert.deepEqual(r.accepted, [1]);
});

test('discard_value: new columns are dropped, values that do not fit become null', () => {
  const t = new SchemaTracker(stream({ contract: 'discard_value' }), stored, ids);
  assert.deepEqual(t.addColumns([{ id: 1, extra: 'x' }]), [{ change: 'discard_column', column: 'extra', to: 'text' }]);
  const r = t.coerce([{ id: 1, n: 'wide', extra: 'x' }, { id: 2, n: 2 }]);
  assert.deepEqual(r.rows, [[1, null], [2, 2]]);
  assert.equal(r.rejected.length + r.dropped, 0);
  const v = t.coerceValues(['id', 'n', 'extra'], [['5', 'no', 'x']]);
  assert.deepEqual(v.rows, [[5, null]]);
});

test('discard_row: rows with new columns or values that do not fit are dropped and counted', () => {
  const t = new SchemaTracker(stream({ contract: 'discard_row' }), stored, ids);
  t.addColumns([{ id: 1, extra: 'x' }]);
  const r = t.coerce([{ id: 1, n: 1 }, { id: 2, extra: 'x' }, { id: 3, n: 'wide' }]);
  assert.deepEqual(r.rows, [[1, 1]]);
  assert.equal(r.dropped, 2);
  assert.equal(r.rejected.length, 0);
  const v = t.coerceValues(['id', 'n', 'extra'], [['1', '1', null], ['2', '2', 'y'], ['3', 'z', null]]);
  assert.deepEqual(v.rows, [[1, 1]]);
  assert.deepEqual(v.accepted, [0]);
  assert.equal(v.dropped, 2);
});
