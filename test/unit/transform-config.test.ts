import { test } from 'node:test';
import assert from 'node:assert/strict';
import { definePipeline } from '../../src/config/load.js';
import { pipelineFileSchema } from '../../src/config/pipeline-spec.js';
import { z } from 'zod';
import { errorsOf, parseAt } from './config-test-specs.js';

const parse = (text: string) => parseAt(text, { PII_SALT: 'salt-from-env-1234' });


const head = `pipeline: tx
sources:
  - name: files
    type: csv
    streams:
      - name: orders
        path: orders.csv
      - name: customers
        path: customers.csv
`;

test('transforms: a valid chain parses with defaults applied', () => {
  const p = parse(`${head}transforms:
  orders:
    - rename: { "Release Date": release_date }
    - cast: { total: { type: decimal, thousands: "," }, at: timestamp }
    - nullify: {}
    - dedupe: { key: [id] }
    - hash: { columns: [email], salt: "\${PII_SALT}" }
    - filter: "status != 'cancelled'"
`);
  const steps = p.config.transforms!.orders;
  assert.equal(steps.length, 6);
  assert.deepEqual(steps[0], { rename: { 'Release Date': 'release_date' } });
  assert.equal((steps[1].cast as Record<string, { on_error: string }>).total.on_error, 'reject');
  assert.deepEqual((steps[2].nullify as { columns: unknown }).columns, '*');
  assert.deepEqual(steps[3].dedupe, { key: ['id'], keep: 'first' });
  assert.equal((steps[4].hash as { salt: string }).salt, 'salt-from-env-1234');
  assert.equal(parse(head).config.transforms, undefined);
});

test('transforms: errors carry file, line and the key path into the step', () => {
  const errors = errorsOf(() => parse(`${head}transforms:
  orders:
    - trim: [name]
    - rename: { a: b }
    - cast: { total: { type: decmal } }
    - cst: { x: integer }
    - derive: { t: "total * * 2" }
    - { trim: [a], drop: [b] }
  ordres:
    - trim: "*"
`));
  const byPath = new Map(errors.map((e) => [e.details.path, e]));
  const cast = byPath.get('transforms.orders[2].cast.total.type')!;
  assert.ok(cast, [...byPath.keys()].join(' | '));
  assert.equal(cast.details.file, '/p/pipeline.yaml');
  assert.equal(cast.details.line, 14);
  assert.equal(cast.details.suggestion, 'did you mean `decimal`?');
  const kind = byPath.get('transforms.orders[3].cst')!;
  assert.match(kind.message, /unknown transform step `cst`/);
  assert.equal(kind.details.suggestion, 'did you mean `cast`?');
  assert.equal(kind.details.line, 15);
  const expr = byPath.get('transforms.orders[4].derive.t')!;
  assert.match(expr.message, /invalid expression: unexpected "\*", expected a value, a column or a function at column 9/);
  assert.match(byPath.get('transforms.orders[5]')!.message, /one key, the step kind/);
  const stream = byPath.get('transforms.ordres')!;
  assert.match(stream.message, /no source declares a stream `ordres` \(streams: orders, customers\)/);
  assert.equal(stream.details.suggestion, 'did you mean `orders`?');
  assert.equal(errors.length, 5);
});

test('transforms: bad zones, dedupe without key, lookups without a side, functions in YAML', () => {
  const errors = errorsOf(() => parse(`${head}transforms:
  orders:
    - cast: { at: { type: timestamp, zone: Mars/Olympus } }
    - dedupe: { keep: last }
    - lookup: { on: [id], columns: [name] }
    - fn: "row => row"
`));
  const messages = errors.map((e) => `${e.details.path}: ${e.message}`);
  assert.ok(messages.some((m) => /transforms\.orders\[0\]\.cast\.at\.zone: .*IANA time zone/.test(m)), messages.join('\n'));
  assert.ok(messages.some((m) => /transforms\.orders\[1\]\.dedupe: .*either `key/.test(m)), messages.join('\n'));
  assert.ok(messages.some((m) => /transforms\.orders\[2\]\.lookup: .*either `stream` or `table`/.test(m)), messages.join('\n'));
  assert.ok(messages.some((m) => /transforms\.orders\[3\]\.fn: .*expected a function \(TypeScript API only\)/.test(m)), messages.join('\n'));
});

test('transforms: definePipeline takes functions as steps', () => {
  const fn = (row: Record<string, unknown>) => row;
  const p = definePipeline({
    pipeline: 'tx',
    sources: [{ name: 'files', type: 'csv', streams: [{ name: 'orders', path: 'o.csv' }] }],
    transforms: { orders: [{ trim: '*' }, { fn }, { batch: (rows: unknown[]) => rows }] },
  });
  assert.equal(p.config.transforms!.orders[1].fn, fn);
  assert.throws(() => definePipeline({
    pipeline: 'tx', sources: [{ name: 'files', type: 'csv', streams: [{ name: 'orders', path: 'o.csv' }] }],
    transforms: { orders: [{ fn: 42 }] },
  }), /expected a function/);
});

test('transforms: the JSON Schema lists every YAML step kind', () => {
  const js = z.toJSONSchema(pipelineFileSchema(), { unrepresentable: 'any', io: 'input' }) as Record<string, any>;
  const items = js.properties.transforms.additionalProperties.items.anyOf as Record<string, any>[];
  const kinds = items.map((i) => Object.keys(i.properties)[0]);
  for (const k of ['select', 'drop', 'rename', 'map', 'cast', 'trim', 'case', 'collapse', 'nullify', 'dedupe', 'derive', 'filter', 'lookup', 'aggregate', 'flatten', 'hash', 'mask', 'redact']) {
    assert.ok(kinds.includes(k), k);
  }
  assert.ok(!kinds.includes('fn'));
});
