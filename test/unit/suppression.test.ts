// The suppression list's parts: digests that never hold the value, the batch screen (values and object batches,
// positions kept, rejects whose payload is a held row), the DLQ's match of a subject, a typed command-line value.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { subjectDigest, suppressionTest } from '../../src/core/suppression.js';
import { screenBatch } from '../../src/engine/suppressed-rows.js';
import { holdsSubject } from '../../src/privacy/erase-dlq.js';
import { typedValue } from '../../src/privacy/erase-tables.js';

const held = suppressionTest('p', new Map([['email', new Set([subjectDigest('p', 'email', 'ada@example.com')])], ['id', new Set([subjectDigest('p', 'id', '7')])]]));

test('a digest depends on the pipeline, the column and the value, and does not contain the value', () => {
  const d = subjectDigest('p', 'email', 'ada@example.com');
  assert.match(d, /^[0-9a-f]{64}$/);
  assert.notEqual(d, subjectDigest('q', 'email', 'ada@example.com'));
  assert.notEqual(d, subjectDigest('p', 'mail', 'ada@example.com'));
  // A number and its text are one subject: the command line types text, rows carry numbers.
  assert.equal(subjectDigest('p', 'id', 7), subjectDigest('p', 'id', '7'));
  assert.equal(subjectDigest('p', 'id', 7n), subjectDigest('p', 'id', '7'));
  assert.equal(held('name'), undefined, 'no test for a column with nothing held');
});

test('a values batch loses the held rows and keeps the positions of the rest', () => {
  const batch = {
    rows: [], columns: ['id', 'email'],
    values: [[1, 'bob@example.com'], [2, 'ada@example.com'], [7, 'x@example.com'], [3, null]],
    positionOf: (i: number) => ({ line: i + 2 }),
    rejected: [
      { stage: 'parse' as const, reason: 'bad', raw: '{"id": 9, "email": "ada@example.com"}', position: {} },
      { stage: 'parse' as const, reason: 'bad', raw: 'not,json', position: {} },
    ],
  };
  const { batch: out, dropped } = screenBatch(batch, ['email', 'id'], held);
  assert.equal(dropped, 3);
  assert.deepEqual(out.values, [[1, 'bob@example.com'], [3, null]]);
  assert.deepEqual([out.positionOf!(0), out.positionOf!(1)], [{ line: 2 }, { line: 5 }]);
  assert.deepEqual(out.rejected!.map((r) => r.raw), ['not,json']);
  const same = { rows: [{ id: 1, email: 'bob@example.com' }] };
  assert.equal(screenBatch(same, ['email'], held).batch, same, 'a batch with nothing held is passed on as it is');
  assert.deepEqual(screenBatch({ rows: [{ email: 'ada@example.com' }, { email: 'a' }] }, ['email'], held).batch.rows, [{ email: 'a' }]);
});

test('a DLQ payload holds the subject by its column, or as a whole token of a line that never parsed', () => {
  assert.equal(holdsSubject('{"email":"ada@example.com","id":1}', ['email'], 'ada@example.com'), true);
  assert.equal(holdsSubject('{"mail":"ada@example.com"}', ['email'], 'ada@example.com'), false);
  assert.equal(holdsSubject('{"id":42}', ['id'], '42'), true);
  assert.equal(holdsSubject('1,ada@example.com,36', ['email'], 'ada@example.com'), true);
  assert.equal(holdsSubject('1,nada@example.com,36', ['email'], 'ada@example.com'), false);
  assert.equal(holdsSubject('1420,x', ['id'], '42'), false);
});

test('a command-line value takes its column type', () => {
  assert.equal(typedValue('42', 'integer'), 42n);
  assert.equal(typedValue('4.5', 'double'), 4.5);
  assert.equal(typedValue('TRUE', 'boolean'), true);
  assert.equal(typedValue('42', 'text'), '42');
  assert.equal(typedValue('x', 'integer'), 'x');
});
