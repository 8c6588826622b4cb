// Retention under `sluice serve` (issue 23): the process holding the scheduler lease applies each served pipeline's
// `retention:` at start, audited as the scheduler; a second serve process on the same store leaves it alone while it
// waits, and sweeps at once when it takes the lease over.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SqliteControlStore } from '../../src/control/sqlite-store.js';
import { tempDir, until } from '../helpers.js';
import { serve } from '../support/serve-process.js';

const DAY = 86_400_000;

test('sluice serve applies retention under the scheduler lease: at start, audited; the waiting process does not, until it leads', async () => {
  const { dir, cleanup } = tempDir();
  const home = join(dir, '.sluice');
  writeFileSync(join(dir, 'tokens.txt'), 'ops: test-token-0123456789abcdef\n');
  writeFileSync(join(dir, 'orders.yaml'), `pipeline: orders
sources:
  - name: files
    type: csv
    streams:
      - name: orders
        path: orders.csv
destination: { type: sqlite, path: out.db }
retention: { runs: 30d }
`);
  const store = new SqliteControlStore(home);
  const seed = async (...ids: string[]) => {
    for (const [i, id] of ids.entries()) {
      const finished = new Date(Date.now() - (90 - i) * DAY);
      await store.startRun({ runId: id, pipeline: 'orders', startedAt: new Date(finished.getTime() - 1000), options: {} });
      await store.finishRun(id, { status: 'success', finishedAt: finished, summary: {} });
    }
  };
  const runIds = async () => (await store.listRuns({ pipeline: 'orders', limit: 50 })).map((r) => r.run_id).sort();
  const gcAudit = async () => (await store.listAudit({})).filter((e) => e.action === 'gc');
  // The latest run stays: seeded last, it is the newest.
  await seed('old-1', 'old-2', 'latest');
  const a = serve(dir, home, 'a');
  let b: ReturnType<typeof serve> | undefined;
  try {
    await a.url;
    // The audit entry is written once the pass is done.
    await until('a to sweep at start', async () => (await gcAudit()).length === 1, 15_000);
    assert.deepEqual(await runIds(), ['latest']);
    const [first] = await gcAudit();
    assert.equal(first.actor, 'scheduler');
    assert.equal(first.pipeline, 'orders');
    assert.deepEqual(first.detail.removed, { runs: 2, log_lines: 0 });
    await until('a to log it', () => a.log().includes('retention applied'), 15_000);

    // Older runs again: a swept an hour's worth ago; b, waiting for the lease, must not sweep them.
    await seed('older-1', 'older-2');
    b = serve(dir, home, 'b');
    await b.url;
    await sleep(2000);
    assert.deepEqual(await runIds(), ['latest', 'older-1', 'older-2'], 'the process without the lease leaves them');
    assert.equal((await gcAudit()).length, 1);

    a.child.kill('SIGKILL');
    await until('b to take the lease over and sweep', async () => (await gcAudit()).length === 2, 20_000);
    assert.deepEqual(await runIds(), ['latest']);
    assert.deepEqual((await gcAudit()).map((e) => [e.actor, e.detail.removed]), [['scheduler', { runs: 2, log_lines: 0 }], ['scheduler', { runs: 2, log_lines: 0 }]]);
  } finally {
    a.child.kill('SIGKILL');
    b?.child.kill('SIGKILL');
    await store.close();
    cleanup();
  }
});
