// A sync's spill of the changes it will write: sealed on disk when an at-rest key is set, read back as written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resetAtRestKeys } from '../../src/core/at-rest.js';
import { ChangeSpill } from '../../src/sync/change-spill.js';

const spills = () => new Set(readdirSync(tmpdir()).filter((f) => f.startsWith('sluice-sync-')));

for (const keyed of [true, false]) {
  test(`a spill ${keyed ? 'with' : 'without'} a key keeps ${keyed ? 'no value in plain text' : 'JSON lines'} and reads back its changes`, async () => {
    process.env.SLUICE_ENCRYPTION_KEY = keyed ? randomBytes(32).toString('hex') : '';
    resetAtRestKeys();
    const before = spills();
    const spill = new ChangeSpill();
    try {
      await spill.add({ op: 'upsert', row: [1, 'ada@example.com'], expect: null });
      await spill.add({ op: 'remove', key: [2] });
      const read = [];
      for await (const c of spill.changes()) read.push(c);
      assert.deepEqual(read, [{ op: 'upsert', row: [1, 'ada@example.com'], expect: null }, { op: 'remove', key: [2] }]);
      // Other suites' syncs may spill meanwhile: the value is looked for in every new spill.
      const fresh = [...spills()].filter((f) => !before.has(f));
      const plain = fresh.some((f) => {
        try {
          return readFileSync(join(tmpdir(), f), 'utf8').includes('ada@example.com');
        } catch {
          return false; // removed since
        }
      });
      assert.equal(plain, !keyed);
    } finally {
      await spill.close();
      delete process.env.SLUICE_ENCRYPTION_KEY;
      resetAtRestKeys();
    }
  });
}
