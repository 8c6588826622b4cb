// Decimal text against DECIMAL(p,s): what fits exactly, and rounding to a scale as a stream declares it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decimalMisfit, roundDecimal } from '../../src/core/values/decimal-text.js';
import { parsePipeline } from '../../src/config/load.js';
import { ConfigError } from '../../src/core/errors.js';

test('a decimal fits DECIMAL(p,s) when its digits do, trailing and leading zeros aside', () => {
  assert.equal(decimalMisfit('12.34', 10, 2), undefined);
  assert.equal(decimalMisfit('-0012.3400000', 10, 2), undefined);
  assert.equal(decimalMisfit('12345678.99', 10, 2), undefined);
  assert.match(decimalMisfit('12.345', 10, 2)!, /^3 digits after the point, and DECIMAL\(10,2\) keeps 2/);
  assert.match(decimalMisfit('123456789.5', 10, 2)!, /^9 digits before the point, and DECIMAL\(10,2\) holds 8/);
});

test('rounding: half_even ties to the even digit, half_up away from zero; carries run through', () => {
  const cases: [string, number, string, string][] = [
    ['12.345', 2, '12.34', '12.35'],
    ['12.355', 2, '12.36', '12.36'],
    ['12.3450001', 2, '12.35', '12.35'],
    ['-0.125', 2, '-0.12', '-0.13'],
    ['-0.001', 2, '0.00', '0.00'],
    ['9.995', 2, '10.00', '10.00'],
    ['0.5', 0, '0', '1'],
    ['1.5', 0, '2', '2'],
    ['12.3', 2, '12.3', '12.3'],
  ];
  for (const [text, scale, even, up] of cases) {
    assert.equal(roundDecimal(text, scale, 'half_even'), even, `${text} half_even`);
    assert.equal(roundDecimal(text, scale, 'half_up'), up, `${text} half_up`);
  }
});

test('decimal(p,s) in columns: accepted with 1 ≤ p and s ≤ p, refused otherwise with the key; a typo still gets its suggestion', () => {
  const issue = (columns: string): string => {
    try {
      parsePipeline(`pipeline: p\nsources:\n  - name: f\n    type: csv\n    streams:\n      - { name: a, path: a.csv, columns: ${columns} }\n`, { baseDir: '/tmp', file: 'p.yaml' });
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      return `${e.details.path}: ${e.message}${e.details.suggestion ? ` ${e.details.suggestion}` : ''}`;
    }
    return '';
  };
  assert.equal(issue('{ price: "decimal(10,2)", n: decimal }'), '');
  assert.match(issue('{ price: "decimal(2,10)" }'), /columns\.price: .*is no decimal\(p,s\)/);
  assert.match(issue('{ price: "decimal(0,0)" }'), /columns\.price/);
  assert.match(issue('{ price: decimall }'), /did you mean `decimal`\?/);
});
