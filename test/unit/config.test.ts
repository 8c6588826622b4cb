import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../src/core/errors.js';
import { definePipeline, loadPipelineFile } from '../../src/config/load.js';
import { nearest } from '../../src/config/nearest.js';
import { registerDestination, registerSource } from '../../src/connectors/registry.js';
import { tempDir } from '../helpers.js';
import { errorsOf, parseAt, testDestinationSpec, testSourceSpec } from './config-test-specs.js';

registerSource(testSourceSpec);
registerDestination(testDestinationSpec);

const parse = (text: string) => parseAt(text);


const twoStreams = `pipeline: orders-daily
sources:
  - name: shop
    type: test_source
    streams:
      - name: orders
        file: orders.csv
      - name: items
        file: items.csv
        wirte: merge
destination:
  type: test_dest
`;

test('nearest suggests only close keys', () => {
  assert.equal(nearest('wirte', ['name', 'write', 'table']), 'write');
  assert.equal(nearest('csvv', ['json', 'csv']), 'csv');
  assert.equal(nearest('x', ['write', 'table']), undefined);
  assert.equal(nearest('compltely_different', ['write']), undefined);
});

test('unknown key at depth: key path, line, column, suggestion and valid keys', () => {
  const [e, ...rest] = errorsOf(() => parse(twoStreams));
  assert.equal(rest.length, 0);
  assert.equal(e.details.path, 'sources[0].streams[1].wirte');
  assert.equal(e.details.line, 10);
  assert.equal(e.details.column, 9);
  assert.equal(e.details.file, '/p/pipeline.yaml');
  assert.equal(e.details.suggestion, 'did you mean `write`?');
  assert.match(e.message, /unknown key/);
  for (const key of ['name', 'primary_key', 'write', 'cursor', 'file', 'limit']) assert.match(e.message, new RegExp(`\\b${key}\\b`));
  assert.equal(e.toString().split(' ')[0], '/p/pipeline.yaml:10:9');
});

test('wrong type: expected integer, got string, at the value', () => {
  const text = twoStreams.replace('        wirte: merge\n', '        limit: lots\n');
  const [e] = errorsOf(() => parse(text));
  assert.equal(e.details.path, 'sources[0].streams[1].limit');
  assert.equal(e.message, 'expected integer, got string');
  assert.equal(e.details.expected, 'integer');
  assert.deepEqual([e.details.line, e.details.column], [10, 16]);
});

test('several errors are all reported, in file order', () => {
  const text = twoStreams.replace('pipeline: orders-daily', 'pipeline: Orders Daily').replace('        file: orders.csv\n', '        file: 3\n');
  const errors = errorsOf(() => parse(text));
  assert.deepEqual(errors.map((e) => e.details.path), ['pipeline', 'sources[0].streams[0].file', 'sources[0].streams[1].wirte']);
  assert.deepEqual(errors.map((e) => e.details.line), [1, 7, 10]);
  assert.match(errors[0].message, /kebab-case/);
});

test('unknown source type lists the known types and suggests the nearest', () => {
  const [e] = errorsOf(() => parse(twoStreams.replace('type: test_source', 'type: test_sourse')));
  assert.equal(e.details.path, 'sources[0].type');
  assert.equal(e.details.line, 4);
  assert.match(e.message, /unknown source type `test_sourse`/);
  assert.match(e.message, /`test_source`/);
  assert.equal(e.details.suggestion, 'did you mean `test_source`?');
});

test('unknown destination type and missing required keys', () => {
  const [d] = errorsOf(() => parse(twoStreams.replace('wirte: merge', 'write: append').replace('type: test_dest', 'type: nowhere')));
  assert.equal(d.details.path, 'destination.type');
  assert.match(d.message, /unknown destination type `nowhere`/);
  const [m] = errorsOf(() => parse('pipeline: x\nsources:\n  - name: s\n    type: test_source\n    streams:\n      - name: a\n'));
  assert.equal(m.details.path, 'sources[0].streams[0].file');
  assert.match(m.message, /required key `file` is missing/);
  assert.equal(m.details.line, 6, 'points at the mapping that lacks the key');
});

test('a missing pipeline file is a ConfigError naming the file', async () => {
  const { dir, cleanup } = tempDir();
  try {
    await assert.rejects(loadPipelineFile(join(dir, 'nope.yaml')), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.details.file, join(dir, 'nope.yaml'));
      assert.match(e.message, /not found/);
      return true;
    });
  } finally {
    cleanup();
  }
});

test('a YAML syntax error has its line and column', () => {
  const [e] = errorsOf(() => parse('pipeline: demo\nsources:\n  - name: "unclosed\n    type: csv\n'));
  assert.match(e.message, /^invalid YAML/);
  assert.equal(typeof e.details.line, 'number');
  assert.ok(e.details.line! >= 3, `line ${e.details.line}`);
  const [dup] = errorsOf(() => parse('pipeline: a\nsources: []\npipeline: b\n'));
  assert.equal(dup.details.line, 3);
  assert.match(dup.message, /unique/);
});

test('defaults: destination, write append, concurrency 2, batch sizes', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const file = join(dir, 'pipeline.yaml');
    writeFileSync(file, 'pipeline: quick\nsources:\n  - name: s\n    type: test_source\n    streams:\n      - name: a\n        file: a.csv\n');
    const { config, baseDir, file: loadedFile } = await loadPipelineFile(file);
    assert.equal(baseDir, dir);
    assert.equal(loadedFile, file);
    assert.equal(config.destination.type, 'duckdb');
    assert.equal(config.concurrency, 2);
    assert.equal(config.batch_size, 1000);
    assert.equal(config.checkpoint_rows, 100000);
    const stream = config.sources[0].streams[0];
    assert.equal(stream.write, 'append');
    assert.deepEqual(stream.primary_key, []);
    assert.equal(stream.on_schema_change, 'widen');
  } finally {
    cleanup();
  }
});

test('the default destination gets its spec defaults (real duckdb spec)', () => {
  const { config } = parse('pipeline: quick\nsources:\n  - name: s\n    type: test_source\n    streams:\n      - name: a\n        file: a.csv\n');
  assert.deepEqual(config.destination, { type: 'duckdb', schema: 'main' });
});

test('primary_key accepts one column or a list', () => {
  const { config } = parse(twoStreams.replace('wirte: merge', 'primary_key: [a, b]').replace('file: orders.csv', 'file: orders.csv\n        primary_key: id'));
  assert.deepEqual(config.sources[0].streams.map((s) => s.primary_key), [['id'], ['a', 'b']]);
});

test('merge without primary_key is rejected at the write key', () => {
  const [e] = errorsOf(() => parse(twoStreams.replace('wirte: merge', 'write: merge').replace('type: test_dest', 'type: duckdb')));
  assert.equal(e.details.path, 'sources[0].streams[1].write');
  assert.equal(e.details.line, 10);
  assert.match(e.message, /requires `primary_key`/);
});

test('a disposition the destination does not declare is rejected; building it does not connect', () => {
  const text = twoStreams.replace('wirte: merge', 'write: replace');
  const [e] = errorsOf(() => parse(text));
  assert.equal(e.details.path, 'sources[0].streams[1].write');
  assert.match(e.message, /destination `test_dest` does not support `write: replace` \(supported: append\)/);
});

test('source and stream names are unique across the pipeline', () => {
  const text = `pipeline: dup
sources:
  - name: a
    type: test_source
    streams:
      - name: orders
        file: x
  - name: a
    type: test_source
    streams:
      - name: orders
        file: y
`;
  const errors = errorsOf(() => parse(text));
  assert.deepEqual(errors.map((e) => e.details.path), ['sources[1].name', 'sources[1].streams[0].name']);
  assert.match(errors[0].message, /duplicate source name/);
  assert.match(errors[1].message, /duplicate stream name `orders`/);
});

test('definePipeline: same model and validation, errors name the key path without lines', () => {
  const input = {
    pipeline: 'ts-api',
    sources: [{ name: 's', type: 'test_source', streams: [{ name: 'a', file: 'a.csv', primary_key: ['id'], write: 'merge' }] }],
  };
  const loaded = definePipeline(input, { baseDir: '/data' });
  assert.equal(loaded.baseDir, '/data');
  assert.equal(loaded.config.destination.type, 'duckdb');
  assert.equal(loaded.config.sources[0].streams[0].write, 'merge');
  assert.equal(loaded.config.concurrency, 2);

  const bad = { ...input, sources: [{ ...input.sources[0], streams: [{ name: 'a', file: 'a.csv', wirte: 'merge' }] }] };
  const [e] = errorsOf(() => definePipeline(bad));
  assert.equal(e.details.path, 'sources[0].streams[0].wirte');
  assert.equal(e.details.line, undefined);
  assert.equal(e.details.suggestion, 'did you mean `write`?');
  assert.equal(e.toString().startsWith('sources[0].streams[0].wirte unknown key'), true);
});

test('definePipeline does not interpolate, and rejects a non-object', () => {
  const loaded = definePipeline({ pipeline: 'p', sources: [{ name: 's', type: 'test_source', streams: [{ name: 'a', file: '${NOT_EXPANDED}' }] }] });
  assert.equal(loaded.config.sources[0].streams[0].file, '${NOT_EXPANDED}');
  const [e] = errorsOf(() => definePipeline([1, 2]));
  assert.match(e.message, /expected a mapping/);
});

test('the real csv spec validates with the duckdb destination', () => {
  const { config } = parse(`pipeline: quickstart
sources:
  - name: files
    type: csv
    streams:
      - name: orders
        path: data/orders*.csv
        primary_key: [order_id]
        cursor: updated_at
        write: merge
        columns: { order_id: integer, total: decimal }
`);
  assert.equal(config.sources[0].streams[0].delimiter, ',');
  assert.deepEqual(config.sources[0].streams[0].columns, { order_id: 'integer', total: 'decimal' });
  const [e] = errorsOf(() => parse(`pipeline: q
sources:
  - name: files
    type: csv
    streams:
      - name: orders
        path: a.csv
        columns: { order_id: integr }
`));
  assert.equal(e.details.path, 'sources[0].streams[0].columns.order_id');
  assert.equal(e.details.suggestion, 'did you mean `integer`?');
});
