// `sluice rerun <run-id>`: only the failed streams of a failed run run again, from their committed state; a run that
// did not fail is refused with a usage error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sluice, tempDir } from '../helpers.js';

test('rerun runs the failed streams of a failed run again and says which run it reran', async () => {
  const { dir, cleanup } = tempDir();
  const home = join(dir, '.sluice');
  try {
    writeFileSync(join(dir, 'a.csv'), 'id\n1\n2\n');
    writeFileSync(join(dir, 'p.yaml'), `pipeline: two-streams
sources:
  - name: files
    type: csv
    streams:
      - { name: a, path: a.csv, primary_key: id, write: merge }
      - { name: b, path: b.csv, primary_key: id, write: merge }
destination: { type: sqlite, path: out.db }
`);
    const first = await sluice(['run', join(dir, 'p.yaml'), '--json'], { home });
    assert.equal(first.code, 1, first.stderr);
    const failed = JSON.parse(first.stdout) as { run_id: string; streams: Record<string, { loaded: number }> };
    assert.equal(failed.streams.a.loaded, 2);

    writeFileSync(join(dir, 'b.csv'), 'id\n7\n8\n9\n');
    const again = await sluice(['rerun', failed.run_id, '--json'], { home });
    assert.equal(again.code, 0, again.stderr);
    const summary = JSON.parse(again.stdout) as { run_id: string; status: string; streams: Record<string, { loaded: number }> };
    assert.equal(summary.status, 'success');
    assert.deepEqual(Object.keys(summary.streams), ['b'], 'only the failed stream ran');
    assert.equal(summary.streams.b.loaded, 3);

    const audit = await sluice(['audit', 'list', '--run', failed.run_id, '--json'], { home });
    const actions = audit.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { action: string }).action);
    assert.deepEqual(actions, ['run.started', 'run.finished', 'run.rerun']);

    const refused = await sluice(['rerun', summary.run_id], { home });
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /ended success: only a failed run is rerun/);
    const unknown = await sluice(['rerun', 'nope'], { home });
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no run "nope"/);
  } finally {
    cleanup();
  }
});
