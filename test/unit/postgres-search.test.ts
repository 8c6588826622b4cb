// The search option's DDL text: every column name quoted, the language and weights literals, the option's own rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { searchExpression, searchSpec } from '../../src/connectors/postgres/postgres-search.js';

test('the generated expression quotes hostile names and weighs only the weighted columns', () => {
  const spec = searchSpec.parse({ columns: ['full_name', 'a"b; DROP TABLE x; --'], weights: { full_name: 'A' } });
  assert.equal(spec.language, 'english');
  assert.equal(searchExpression(spec, "pg_catalog.eng'lish"),
    `setweight(to_tsvector('pg_catalog.eng''lish'::regconfig, coalesce("full_name"::text, '')), 'A')`
    + ` || to_tsvector('pg_catalog.eng''lish'::regconfig, coalesce("a""b; DROP TABLE x; --"::text, ''))`);
});

test('the option refuses no columns, a weight outside A–D, and a weight for a column not searched', () => {
  assert.equal(searchSpec.safeParse({ columns: [] }).success, false);
  assert.equal(searchSpec.safeParse({ columns: ['a'], weights: { a: 'E' } }).success, false);
  assert.match(JSON.stringify(searchSpec.safeParse({ columns: ['a'], weights: { b: 'A' } }).error?.issues), /every weighted column must be one of `columns`/);
  assert.equal(searchSpec.safeParse({ columns: ['a'], language: 'simple', extra: 1 }).success, false);
});
