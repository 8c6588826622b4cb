import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyTracker } from '../../src/connectors/sql/key-tracker.js';

test('a repeated key is noticed across writes, for single and composite keys, until reset', () => {
  const single = new KeyTracker([0]);
  single.add([[1, 'a'], [2, 'b']]);
  assert.equal(single.mayRepeat, false);
  single.add([['1', 'c']]);
  assert.equal(single.mayRepeat, true, "1 and '1' are one key to the database");
  single.reset();
  single.add([[1, 'a']]);
  assert.equal(single.mayRepeat, false);

  const composite = new KeyTracker([0, 1]);
  composite.add([[1, 'x'], [1, 'y'], [2, 'x']]);
  assert.equal(composite.mayRepeat, false);
  composite.add([[1, 'y']]);
  assert.equal(composite.mayRepeat, true);

  const dates = new KeyTracker([0]);
  dates.add([[new Date(5)], [new Date(5)]]);
  assert.equal(dates.mayRepeat, true, 'equal dates are equal keys');
});

test('past its limit the tracker stops remembering and says a key may repeat', () => {
  const t = new KeyTracker([0], 3);
  t.add([['1'], ['2'], ['3']]);
  assert.equal(t.mayRepeat, false);
  t.add([['4']]);
  assert.equal(t.mayRepeat, true);
});

test('ascending numeric keys keep nothing; the first key out of order counts as a repeat, then keys are tracked one by one', () => {
  const t = new KeyTracker([0]);
  t.add([[1], [2n], [5]]);
  t.add([[7], [9007199254740993n]]);
  assert.equal(t.mayRepeat, false, 'ascending, numbers and bigints alike');
  t.add([[3]]);
  assert.equal(t.mayRepeat, true, 'out of order: the keys before it were not kept, so it may repeat one');
  t.reset();
  t.add([[10], [4], [8]]);
  assert.equal(t.mayRepeat, false, 'from the next checkpoint on, an unordered stream is tracked key by key');
  t.add([[4n]]);
  assert.equal(t.mayRepeat, true, 'and a repeat is found exactly (4 and 4n are one key)');

  const equal = new KeyTracker([0]);
  equal.add([[1], [1]]);
  assert.equal(equal.mayRepeat, true, 'an equal key is not ascending');

  const text = new KeyTracker([0]);
  text.add([['b'], ['a']]);
  assert.equal(text.mayRepeat, false, 'text keys are tracked key by key from the start');
  text.add([['b']]);
  assert.equal(text.mayRepeat, true);

  const widened = new KeyTracker([0]);
  widened.add([[1], [2]]);
  widened.add([['2']]);
  assert.equal(widened.mayRepeat, true, "a key widened to text ('2') may be the number seen before");
});
