import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redact, registerSecret } from '../../src/core/redact.js';
import { DlqWriter } from '../../src/engine/dlq-writer.js';
import { SqliteControlStore } from '../../src/control/sqlite-store.js';
import { tempDir } from '../helpers.js';

test('credentials in URLs and registered secrets are masked', () => {
  assert.equal(redact('connect postgres://app:s3cr3t-pw@db:5432/x failed'), 'connect postgres://app:***@db:5432/x failed');
  registerSecret('tok-9f8e7d6c');
  assert.equal(redact('header Authorization: Bearer tok-9f8e7d6c'), 'header Authorization: Bearer ***');
  registerSecret('abc'); // too short to mask safely
  assert.equal(redact('abc'), 'abc');
});

test('a secret that leaked into data never reaches the DLQ verbatim', async () => {
  const { dir, cleanup } = tempDir();
  const store = new SqliteControlStore(dir);
  try {
    registerSecret('hunter2-password');
    await new DlqWriter(store, 'p', 's', 'r', false).add([
      { stage: 'parse', reason: 'bad row hunter2-password', raw: 'x,hunter2-password', position: { line: 2 } },
    ]);
    const [e] = await store.listDlq({ pipeline: 'p' });
    assert.equal(e.raw, 'x,***');
    assert.equal(e.reason, 'bad row ***');
  } finally {
    await store.close();
    cleanup();
  }
});
