import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/core/errors.js';
import { redact } from '../../src/core/redact.js';
import { interpolate, InterpolationError, resolveTree } from '../../src/config/interpolate.js';
import { parsePipeline } from '../../src/config/load.js';
import { registerSource } from '../../src/connectors/registry.js';
import { testSourceSpec } from './config-test-specs.js';

registerSource(testSourceSpec);

const pipeline = (streamLines: string) => `pipeline: demo
sources:
  - name: src
    type: test_source
    streams:
      - name: orders
${streamLines}`;

test('${VAR} and ${VAR:-default} expand; :- applies when unset or empty', () => {
  const env = { HOST: 'db.local', EMPTY: '' };
  assert.equal(interpolate('pg://${HOST}:${PORT:-5432}/x', env).value, 'pg://db.local:5432/x');
  assert.equal(interpolate('${EMPTY:-fallback}', env).value, 'fallback');
  assert.equal(interpolate('[${EMPTY}]', env).value, '[]');
  assert.deepEqual(interpolate('${HOST}${PORT:-1}', env).variables, ['HOST', 'PORT']);
});

test('$${ is a literal ${ and is not expanded', () => {
  assert.equal(interpolate('cost $${HOST} and ${HOST}', { HOST: 'h' }).value, 'cost ${HOST} and h');
  assert.equal(interpolate('no refs, $$ stays', {}).value, 'no refs, $$ stays');
});

test('malformed references are errors', () => {
  assert.throws(() => interpolate('${UNCLOSED', {}), InterpolationError);
  assert.throws(() => interpolate('${not valid}', {}), /invalid variable reference/);
  assert.throws(() => interpolate('${MISSING}', {}), (e: InterpolationError) => e.variable === 'MISSING');
});

test('a missing variable without default names the variable, key path and line', () => {
  const text = pipeline('        file: ${DATA_FILE}\n');
  assert.throws(() => parsePipeline(text, { file: '/p/pipeline.yaml', baseDir: '/p', env: {} }), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.match(e.message, /DATA_FILE is not set/);
    assert.equal(e.details.path, 'sources[0].streams[0].file');
    assert.equal(e.details.line, 7);
    assert.equal(e.details.column, 15);
    assert.equal(e.details.file, '/p/pipeline.yaml');
    return true;
  });
});

test('interpolation happens after YAML parsing: a value cannot inject structure', () => {
  const text = pipeline('        file: ${EVIL}\n');
  const loaded = parsePipeline(text, { baseDir: '/p', env: { EVIL: 'x\n        wirte: merge' } });
  assert.equal(loaded.config.sources[0].streams[0].file, 'x\n        wirte: merge');
});

test('an interpolated number converts where the key expects one; a literal string does not', () => {
  const ok = parsePipeline(`${pipeline('        file: a\n')}concurrency: \${CONC:-4}\n`, { baseDir: '/p', env: {} });
  assert.equal(ok.config.concurrency, 4);
  const stream = parsePipeline(pipeline('        file: a\n        limit: ${LIMIT}\n'), { baseDir: '/p', env: { LIMIT: '25' } });
  assert.equal(stream.config.sources[0].streams[0].limit, 25);
  assert.throws(() => parsePipeline(`${pipeline('        file: a\n')}concurrency: "4"\n`, { baseDir: '/p', env: {} }),
    /expected integer, got string/);
});

test('secrets: values under secret keys and values of secret-named variables are registered', () => {
  const tree = resolveTree(
    { url: 'pg://app:${DB_PASSWORD}@host/db', auth: { token: 'literal-token-1234' }, api_key: '${KEY_VALUE}', note: 'plain-value' },
    { interpolate: true, env: { DB_PASSWORD: 's3cr3t-pw', KEY_VALUE: 'k-9876543' } },
  );
  assert.deepEqual(tree.value, { url: 'pg://app:s3cr3t-pw@host/db', auth: { token: 'literal-token-1234' }, api_key: 'k-9876543', note: 'plain-value' });
  assert.equal(redact('pw=s3cr3t-pw'), 'pw=***');
  assert.equal(redact('t=literal-token-1234'), 't=***');
  assert.equal(redact('k=k-9876543'), 'k=***');
  assert.equal(redact('n=plain-value'), 'n=plain-value');
});

test('column declarations under secret-looking names are not secrets', () => {
  resolveTree({ columns: { password_hash: 'text', auth_token: 'uuid' } }, { interpolate: true, env: {} });
  assert.equal(redact('column type text, uuid'), 'column type text, uuid');
});
