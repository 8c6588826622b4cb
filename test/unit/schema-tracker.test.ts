import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StreamConfig } from '../../src/core/connector.js';
import { SchemaTracker } from '../../src/engine/schema-tracker.js';

const stream = (over: Partial<StreamConfig> = {}): StreamConfig => ({
  name: 's', primary_key: [], write: 'append', on_schema_change: 'widen', ...over,
});
const folding = { caseSensitive: false, maxLength: 63 };

test('names differing only by case get distinct target columns where the destination folds case', () => {
  const t = new SchemaTracker(stream(), undefined, folding);
  t.addColumns([{ Name: 'a', name: 'b', NAME: 'c', 'émoji 🎉': 'd' }]);
  assert.deepEqual(t.columns.map((c) => c.target), ['Name', 'name_2', 'NAME_3', 'émoji 🎉']);
  // The mapping survives through state: a new tracker from the stored schema keeps it.
  const again = new SchemaTracker(stream(), t.schema, folding);
  again.addColumns([{ name: 'x', Name: 'y' }]);
  assert.equal(again.target('name'), 'name_2');
});

test('a value that no longer fits widens an inferred column and the batch is coerced again', () => {
  const t = new SchemaTracker(stream(), undefined, folding);
  t.addColumns([{ n: '1' }]);
  assert.equal(t.columns[0].type, 'integer');
  const r = t.coerce([{ n: '1' }, { n: '2.5' }]);
  assert.deepEqual(r.changes, [{ change: 'widen_column', column: 'n', from: 'integer', to: 'double' }]);
  const again = t.coerce([{ n: '1' }, { n: '2.5' }]);
  assert.deepEqual(again.rows, [[1], [2.5]]);
  assert.equal(again.changes.length, 0);
});

test('declared columns never widen: the row is rejected with a reason', () => {
  const t = new SchemaTracker(stream({ columns: { n: 'integer' } }), undefined, folding);
  const r = t.coerce([{ n: '1' }, { n: 'abc' }]);
  assert.deepEqual(r.rows, [[1]]);
  assert.equal(r.rejected.length, 1);
  assert.match(r.rejected[0].reason, /"abc" is not a valid integer/);
});

test('policy fail stops the stream', () => {
  const t = new SchemaTracker(stream({ on_schema_change: 'fail' }), undefined, folding);
  t.addColumns([{ n: '1' }]);
  assert.throws(() => t.coerce([{ n: 'x' }]), /on_schema_change: fail/);
});

test('an all-null column waits for a value before it gets a type', () => {
  const t = new SchemaTracker(stream(), undefined, folding);
  assert.equal(t.addColumns([{ a: null }]).length, 0);
  assert.deepEqual(t.addColumns([{ a: '2024-01-01' }]).map((c) => c.to), ['date']);
});

test('a canonical batch skips coercion only for catalog-typed columns whose values already have the canonical shape', () => {
  const columns = { ts: 'timestamp', doc: 'json', n: 'bigint', label: 'text' } as const;
  const rows = [
    ['2024-01-01T00:00:01.000000Z', '{"a":1}', 7, 'x'],
    // Shapes a driver may still give: no fraction, a JSON scalar string, a bigint for a safe integer.
    ['2024-01-01T00:00:02Z', 'plain', 8n, 'y'],
    ['2024-01-01T00:00:03.000000Z', '[]', 2n ** 60n, 'z'],
  ];
  const trusted = new Set(['ts', 'doc', 'n']);
  const t = new SchemaTracker(stream({ columns }), undefined, folding, trusted);
  t.addColumnsOf(Object.keys(columns), rows);
  const canonical = t.coerceValues(Object.keys(columns), rows, true);
  const checked = new SchemaTracker(stream({ columns }), undefined, folding).coerceValues(Object.keys(columns), rows);
  // Whatever the path, the result is the canonical form.
  assert.deepEqual(canonical.rows, checked.rows);
  assert.deepEqual(canonical.rows[1], ['2024-01-01T00:00:02.000000Z', '"plain"', 8, 'y']);
  assert.deepEqual(canonical.rows[2], ['2024-01-01T00:00:03.000000Z', '[]', 2n ** 60n, 'z'], 'beyond 2^53 a bigint stays one');
  // A value without the canonical JS type is coerced as usual, and rejected when it does not fit.
  const bad = t.coerceValues(['ts', 'doc', 'n', 'label'], [['2024-01-01T00:00:01.000000Z', '{"a":1}', 'not a number', 'x']], true);
  assert.equal(bad.rows.length, 0);
  assert.equal(bad.rejected.length, 1);
});
