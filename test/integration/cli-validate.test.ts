// `sluice validate` and `sluice init` as a user runs them: a real process, real files, exit codes and output.
// The commands are wired into a fresh commander program (as main.ts does) so this test does not depend on
// the other commands.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliCommand, tempDir } from '../helpers.js';

const sluice = (command: 'validate' | 'init' | 'run', args: string[], cwd: string) => cliCommand(command, args, cwd);

const valid = `pipeline: quickstart
sources:
  - name: files
    type: csv
    streams:
      - name: orders
        path: data/orders*.csv
        primary_key: [order_id]
        write: merge
      - name: items
        path: data/items.csv
`;

test('validate: a valid file prints a one-line summary and exits 0', () => {
  const { dir, cleanup } = tempDir();
  try {
    writeFileSync(join(dir, 'pipeline.yaml'), valid);
    const r = sluice('validate', ['pipeline.yaml'], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '✓ pipeline.yaml: pipeline quickstart, 1 source, 2 streams → duckdb\n');
    const j = sluice('validate', ['pipeline.yaml', '--json'], dir);
    assert.equal(j.code, 0);
    assert.deepEqual(JSON.parse(j.stdout), {
      valid: true, errors: [], file: 'pipeline.yaml', pipeline: 'quickstart', sources: 1, streams: 2, destination: 'duckdb',
    });
  } finally {
    cleanup();
  }
});

test('validate: errors with file:line:column, key path and hint on stderr, exit 2', () => {
  const { dir, cleanup } = tempDir();
  try {
    writeFileSync(join(dir, 'pipeline.yaml'), valid.replace('        path: data/items.csv\n', '        path: data/items.csv\n        wirte: merge\n') + 'concurrency: 0\n');
    const r = sluice('validate', ['pipeline.yaml'], dir);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trimEnd().split('\n');
    assert.match(lines[0], /^error: pipeline\.yaml:12:9 sources\[0\]\.streams\[1\]\.wirte unknown key/);
    assert.equal(lines[1], '  hint: did you mean `write`?');
    assert.equal(lines[2], 'error: pipeline.yaml:13:14 concurrency expected at least 1, got `0`');
    assert.equal(lines[3], '2 errors in pipeline.yaml');

    const j = sluice('validate', ['pipeline.yaml', '--json'], dir);
    assert.equal(j.code, 2);
    const out = JSON.parse(j.stdout);
    assert.equal(out.valid, false);
    assert.equal(out.errors.length, 2);
    assert.deepEqual(
      { path: out.errors[0].path, line: out.errors[0].line, column: out.errors[0].column, suggestion: out.errors[0].suggestion, file: out.errors[0].file },
      { path: 'sources[0].streams[1].wirte', line: 12, column: 9, suggestion: 'did you mean `write`?', file: 'pipeline.yaml' },
    );
  } finally {
    cleanup();
  }
});

test('validate: a missing file exits 2', () => {
  const { dir, cleanup } = tempDir();
  try {
    const r = sluice('validate', ['nope.yaml'], dir);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: nope\.yaml pipeline file not found/);
  } finally {
    cleanup();
  }
});

test('init: scaffolds a valid pipeline with sample data, refuses to overwrite without --force', () => {
  const { dir, cleanup } = tempDir();
  try {
    const r = sluice('init', ['shop'], dir);
    assert.equal(r.code, 0, r.stderr);
    const pipelineFile = join(dir, 'shop', 'pipeline.yaml');
    const yaml = readFileSync(pipelineFile, 'utf8');
    for (const key of ['type: csv', 'path: data/*.csv', 'primary_key: [customer_id]', 'cursor: updated_at', 'write: merge', 'type: duckdb']) {
      assert.ok(yaml.includes(key), key);
    }
    assert.match(readFileSync(join(dir, 'shop', 'data', 'customers.csv'), 'utf8'), /^customer_id,name,email,country,updated_at\n1,/);

    const v = sluice('validate', ['shop/pipeline.yaml'], dir);
    assert.equal(v.code, 0, v.stderr);
    assert.equal(v.stdout, '✓ shop/pipeline.yaml: pipeline shop, 1 source, 1 stream → duckdb\n');

    writeFileSync(pipelineFile, '# mine\n');
    const again = sluice('init', ['shop'], dir);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /already exists; use --force/);
    assert.equal(readFileSync(pipelineFile, 'utf8'), '# mine\n');

    const forced = sluice('init', ['shop', '--force'], dir);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(readFileSync(pipelineFile, 'utf8'), yaml);
  } finally {
    cleanup();
  }
});

test('init: defaults to the current directory', () => {
  const { dir, cleanup } = tempDir('sluice-init-');
  try {
    const r = sluice('init', [], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(join(dir, 'pipeline.yaml')));
    assert.ok(existsSync(join(dir, 'data', 'customers.csv')));
    assert.match(r.stdout, /pipeline sluice-init-[a-z0-9-]+ is ready/);
  } finally {
    cleanup();
  }
});

test('init: the scaffold runs as is, and a second run loads nothing new', () => {
  const { dir, cleanup } = tempDir();
  try {
    assert.equal(sluice('init', [], dir).code, 0);
    const first = sluice('run', ['pipeline.yaml', '--json'], dir);
    assert.equal(first.code, 0, first.stdout + first.stderr);
    const summary = JSON.parse(first.stdout);
    assert.equal(summary.status, 'success');
    assert.equal(summary.streams.customers.loaded, 5);
    const second = JSON.parse(sluice('run', ['pipeline.yaml', '--json'], dir).stdout);
    assert.equal(second.status, 'success');
    assert.equal(second.streams.customers.loaded, 0);
  } finally {
    cleanup();
  }
});
