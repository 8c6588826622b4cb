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
  t.add([[1], [2], [3]]);
  assert.equal(t.mayRepeat, false);
  t.add([[4]]);
  assert.equal(t.mayRepeat, true);
});

test('ascending numeric keys: no repeat while they ascend; out of order they are all remembered, repeats found', () => {
  const t = new KeyTracker([0]);
  t.add([[1], [2n], [5]]);
  t.add([[7], [9007199254740993n]]);
  assert.equal(t.mayRepeat, false);
  t.add([[3], [4]]);
  assert.equal(t.mayRepeat, false, 'out of order but new');
  t.add([[5n]]);
  assert.equal(t.mayRepeat, true, 'a key from the ascending run repeats, as a bigint this time');

  const text = new KeyTracker([0]);
  text.add([[1], [2]]);
  text.add([['2']]);
  assert.equal(text.mayRepeat, true, "a key widened to text ('2') is the number seen before");

  const equal = new KeyTracker([0]);
  equal.add([[1], [1]]);
  assert.equal(equal.mayRepeat, true, 'an equal key is not ascending');
  equal.reset();
  equal.add([[1], [2]]);
  assert.equal(equal.mayRepeat, false, 'reset starts an ascending run again');

  const limited = new KeyTracker([0], 2);
  limited.add([[1], [2], [3]]);
  assert.equal(limited.mayRepeat, true, 'the limit holds for ascending keys too');
});
