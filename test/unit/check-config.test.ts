// `checks:` in a pipeline file: validated per check spec, errors with file, line, key path and suggestions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateJsonSchema, generateReference } from '../../src/config/generate-docs.js';
import { registerDestination, registerSource } from '../../src/connectors/registry.js';
import { errorsOf, parseAt, testDestinationSpec, testSourceSpec } from './config-test-specs.js';

registerSource(testSourceSpec);
registerDestination(testDestinationSpec);

const parse = (text: string) => parseAt(text);


const base = `pipeline: orders-daily
sources:
  - name: shop
    type: test_source
    streams:
      - name: orders
        file: orders.csv
destination:
  type: test_dest
checks:
  orders:
`;

test('valid checks parse into kind, options, severity and threshold', () => {
  const { config } = parse(`${base}    - not_null: [order_id]
    - unique: [order_id]
      threshold: 1%
    - accepted_values: { column: status, values: [new, paid] }
      severity: warn
    - freshness: { column: updated_at, max_age: 2d }
`);
  const checks = config.checks!.orders;
  assert.deepEqual(checks.map((c) => [c.kind, c.severity]), [['not_null', 'error'], ['unique', 'error'], ['accepted_values', 'warn'], ['freshness', 'error']]);
  assert.deepEqual(checks[0].options, ['order_id']);
  assert.deepEqual(checks[1].threshold, { ratio: 0.01, text: '1%' });
  assert.deepEqual(checks[3].options, { column: 'updated_at', max_age: { ms: 2 * 86_400_000, text: '2d' } });
});

test('unknown check kind: path, line and the nearest kind', () => {
  const [e] = errorsOf(() => parse(`${base}    - not_nul: [order_id]\n`));
  assert.equal(e.details.path, 'checks.orders[0].not_nul');
  assert.equal(e.details.line, 12);
  assert.equal(e.details.suggestion, 'did you mean `not_null`?');
  assert.match(e.message, /unknown check `not_nul`/);
});

test('bad options name the key path inside the check; bad severity and threshold too', () => {
  const errors = errorsOf(() => parse(`${base}    - range: { column: total, mni: 0 }
    - not_null: [a]
      severity: fatal
    - unique: [a]
      threshold: lots
`));
  const paths = errors.map((e) => e.details.path);
  assert.ok(paths.includes('checks.orders[0].range.mni'), paths.join());
  assert.ok(paths.includes('checks.orders[1].severity'), paths.join());
  assert.ok(paths.includes('checks.orders[2].threshold'), paths.join());
  const mni = errors.find((e) => e.details.path === 'checks.orders[0].range.mni')!;
  assert.equal(mni.details.line, 12);
});

test('a stream no source declares is rejected with a suggestion; two kinds in one entry are rejected', () => {
  const [e] = errorsOf(() => parse(base.replace('  orders:\n', '  order:\n') + '    - not_null: [a]\n'));
  assert.equal(e.details.path, 'checks.order');
  assert.equal(e.details.suggestion, 'did you mean `orders`?');
  const [two] = errorsOf(() => parse(`${base}    - not_null: [a]\n      unique: [a]\n`));
  assert.equal(two.details.path, 'checks.orders[0]');
  assert.match(two.message, /2 check keys/);
});

test('an invalid expression is a config error at validation', () => {
  const [e] = errorsOf(() => parse(`${base}    - expression: "total >= "\n`));
  assert.equal(e.details.path, 'checks.orders[0].expression');
  assert.match(e.message, /invalid expression/);
});

test('contract is a stream key with its values', () => {
  const { config } = parse(base.replace('        file: orders.csv\n', '        file: orders.csv\n        contract: freeze\n') + '    - not_null: [a]\n');
  assert.equal(config.sources[0].streams[0].contract, 'freeze');
  const [e] = errorsOf(() => parse(base.replace('        file: orders.csv\n', '        file: orders.csv\n        contract: frozen\n') + '    - not_null: [a]\n'));
  assert.equal(e.details.path, 'sources[0].streams[0].contract');
});

test('the documentation schema has a checks section built from the specs', () => {
  const json = JSON.stringify(generateJsonSchema());
  const reference = generateReference();
  for (const kind of ['not_null', 'unique', 'relationships', 'freshness', 'volume', 'expression']) {
    assert.match(json, new RegExp(`"${kind} check"`));
    assert.match(reference, new RegExp(`### \`${kind}\``));
  }
  assert.match(reference, /## Checks/);
  assert.match(reference, /score = /);
});

test('relationships to a stream no source declares is a config error at its key', () => {
  const [e] = errorsOf(() => parse(`${base}    - relationships: { column: customer_id, to: { stream: order, column: id } }\n`));
  assert.equal(e.details.path, 'checks.orders[0].relationships.to.stream');
  assert.equal(e.details.suggestion, 'did you mean `orders`?');
  assert.equal(e.details.line, 12);
});
