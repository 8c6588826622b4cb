// Token files and environment tokens, and what each role allows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../src/core/errors.js';
import { allows, loadTokens } from '../../src/server/tokens.js';
import { tempDir } from '../helpers.js';

test('token file lines: no role is admin (files written before roles keep working), or read-only, operator, admin', () => {
  const { dir, cleanup } = tempDir();
  try {
    const file = join(dir, 'tokens.txt');
    writeFileSync(file, '# comment\nboss: aaaaaaaaaaaaaaaaaaaa\nviewer: bbbbbbbbbbbbbbbbbbbb read-only\nop: cccccccccccccccccccc operator\nroot: dddddddddddddddddddd admin\n');
    const tokens = loadTokens({ env: {}, file });
    assert.deepEqual(tokens.map((t) => [t.name, t.role]), [['boss', 'admin'], ['viewer', 'read-only'], ['op', 'operator'], ['root', 'admin']]);

    writeFileSync(file, 'ok: aaaaaaaaaaaaaaaaaaaa\n\nops: bbbbbbbbbbbbbbbbbbbb operater\n');
    assert.throws(() => loadTokens({ env: {}, file }), (e: unknown) => e instanceof ConfigError && /unknown role "operater"/.test(e.message) && e.details.line === 3);
  } finally {
    cleanup();
  }
});

test('environment tokens: SLUICE_TOKEN admin, SLUICE_OPERATOR_TOKEN operator, SLUICE_READ_TOKEN read-only', () => {
  const tokens = loadTokens({ env: { SLUICE_TOKEN: 'a'.repeat(20), SLUICE_OPERATOR_TOKEN: 'b'.repeat(20), SLUICE_READ_TOKEN: 'c'.repeat(20) } });
  assert.deepEqual(tokens.map((t) => [t.name, t.role]), [['env', 'admin'], ['env-operator', 'operator'], ['env-read', 'read-only']]);
  assert.throws(() => loadTokens({ env: {} }), ConfigError);
});

test('each role can do what the ones before it can', () => {
  assert.ok(allows('admin', 'operator') && allows('admin', 'read-only') && allows('operator', 'operator'));
  assert.ok(!allows('operator', 'admin') && !allows('read-only', 'operator'));
});
