// Identifier quoting shared by every SQL destination.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RunError } from '../../src/core/errors.js';
import { quoteIdent, quoteQualified } from '../../src/connectors/sql/quote.js';

test('quoteIdent wraps names and doubles embedded quote characters', () => {
  assert.equal(quoteIdent('orders'), '"orders"');
  assert.equal(quoteIdent('select'), '"select"');
  assert.equal(quoteIdent('Name With Spaces'), '"Name With Spaces"');
  assert.equal(quoteIdent('"; DROP TABLE x; --'), '"""; DROP TABLE x; --"');
  assert.equal(quoteIdent('a""b'), '"a""""b"');
  assert.equal(quoteIdent('émoji 🎉'), '"émoji 🎉"');
  assert.equal(quoteIdent("it's"), '"it\'s"');
});

test('quoteIdent with another quote character (MySQL backticks) doubles that one only', () => {
  assert.equal(quoteIdent('a`b"c', '`'), '`a``b"c`');
  assert.equal(quoteIdent('`', '`'), '````');
});

test('quoteIdent refuses NUL and empty names', () => {
  assert.throws(() => quoteIdent('a\0b'), RunError);
  assert.throws(() => quoteIdent(''), RunError);
});

test('quoteQualified quotes each part and skips an absent schema', () => {
  assert.equal(quoteQualified(['my schema', 'Ta"ble']), '"my schema"."Ta""ble"');
  assert.equal(quoteQualified([undefined, 't']), '"t"');
  assert.equal(quoteQualified(['db', 's', 't'], '`'), '`db`.`s`.`t`');
  assert.throws(() => quoteQualified(['', 't']), RunError);
});
