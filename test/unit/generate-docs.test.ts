import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateJsonSchema, generateReference, schemaText } from '../../src/config/generate-docs.js';

test('JSON Schema: draft 2020-12, one branch per source type keyed on type, csv stream keys described', () => {
  const schema = generateJsonSchema();
  assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
  assert.deepEqual(schema.required, ['pipeline', 'sources']);
  assert.equal(schema.additionalProperties, false);
  assert.ok(schema.properties.concurrency.description);
  assert.equal(schema.properties.concurrency.default, 2);
  const branches: any[] = schema.properties.sources.items.oneOf;
  const csv = branches.find((b) => b.properties.type.const === 'csv');
  assert.ok(csv, 'a csv branch');
  assert.equal(csv.additionalProperties, false);
  const stream = csv.properties.streams.items;
  for (const key of ['name', 'path', 'primary_key', 'write', 'cursor', 'delimiter', 'columns']) {
    assert.ok(stream.properties[key], `csv stream key ${key}`);
    assert.ok(stream.properties[key].description, `description of ${key}`);
  }
  assert.deepEqual(stream.properties.write.enum, ['append', 'replace', 'merge', 'scd2']);
  assert.equal(stream.properties.write.default, 'append');
  assert.ok(stream.required.includes('path'));
  const destinations: any[] = schema.properties.destination.oneOf;
  assert.ok(destinations.some((d) => d.properties.type.const === 'duckdb'));
});

test('config reference lists top-level keys and each connector with its keys', () => {
  const md = generateReference();
  assert.match(md, /^# Pipeline configuration reference/);
  assert.match(md, /\| `concurrency` \| integer \| `2` \|/);
  assert.match(md, /### `csv`\n\nStatus: stable\./);
  assert.match(md, /### `duckdb` \(default\)/);
  assert.match(md, /\| `delimiter` \| string \| `","` \|/);
  assert.match(md, /\| `write` \| `append` \\\| `replace` \\\| `merge` \\\| `scd2` \| `"append"` \|/);
});

test('docs generation is deterministic', () => {
  assert.equal(schemaText(), schemaText());
  assert.equal(generateReference(), generateReference());
});
