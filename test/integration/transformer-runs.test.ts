// Per-step execution records ("transformer executions"): a real pipeline — a CSV file through cast, derive, filter
// and a second cast into SQLite — run by the CLI. Each step's rows in, out, failed and filtered are exact and add up,
// in `sluice run --json`, in the control store (`sluice runs show`, text and --json) and in the API's run record.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sluice, tempDir } from '../helpers.js';

const PIPELINE = `pipeline: step-counts
sources:
  - name: files
    type: csv
    streams:
      - { name: orders, path: orders.csv, primary_key: [id], write: merge }
      - { name: plain, path: plain.csv }
transforms:
  orders:
    - cast: { amount: decimal, qty: integer }
    - derive: { total: "amount * qty" }
    - filter: "status != 'cancelled'"
    - cast: { code: integer }
destination:
  type: sqlite
  path: out.sqlite
`;

// Rows 2 and 7 fail the first cast, 3 and 5 are cancelled (filtered), 4 fails the second cast (5 never reaches it).
const ORDERS = `id,amount,qty,status,code
1,10.5,2,paid,100
2,oops,1,paid,101
3,7,3,cancelled,102
4,3,1,paid,abc
5,4,2,cancelled,x
6,1,1,paid,106
7,bad,1,cancelled,107
8,2,5,paid,108
`;

const EXPECTED = [
  { step: 0, name: 'cast', records_in: 8, records_out: 6, failed: 2, filtered: 0 },
  { step: 1, name: 'derive', records_in: 6, records_out: 6, failed: 0, filtered: 0 },
  { step: 2, name: 'filter', records_in: 6, records_out: 4, failed: 0, filtered: 2 },
  { step: 3, name: 'cast', records_in: 4, records_out: 3, failed: 1, filtered: 0 },
];

type Step = (typeof EXPECTED)[number] & { duration_ms: number };

/** The steps without their durations, after checking those are numbers ≥ 0 and that every step's rows add up. */
function counted(steps: Step[]): Omit<Step, 'duration_ms'>[] {
  return steps.map(({ duration_ms, ...s }) => {
    assert.ok(typeof duration_ms === 'number' && duration_ms >= 0, `${s.step}:${s.name} duration ${duration_ms}`);
    assert.equal(s.records_in, s.records_out + s.failed + s.filtered, `${s.step}:${s.name} adds up`);
    return s;
  });
}

test('each transform step of a run is recorded: in, out, failed, filtered, time — in --json, runs show and the store', async () => {
  const { dir, cleanup } = tempDir();
  try {
    writeFileSync(join(dir, 'pipeline.yaml'), PIPELINE);
    writeFileSync(join(dir, 'orders.csv'), ORDERS);
    writeFileSync(join(dir, 'plain.csv'), 'k\n1\n');
    const home = join(dir, 'home');
    const run = await sluice(['run', join(dir, 'pipeline.yaml'), '--json'], { home });
    assert.equal(run.code, 3, run.stderr); // partial success: rows were dead-lettered
    const summary = JSON.parse(run.stdout);
    assert.deepEqual(summary.streams.orders, { extracted: 8, loaded: 3, dead_lettered: 3, filtered: 2, inserted: 3, updated: 0, deleted: 0 });
    // Only streams with steps are listed.
    assert.deepEqual(Object.keys(summary.transformers), ['orders']);
    assert.deepEqual(counted(summary.transformers.orders), EXPECTED);
    // Beside the phases, which keep their shape.
    assert.deepEqual(summary.phases.map((p: { phase: string }) => p.phase), ['extract', 'transform', 'validate', 'merge', 'load', 'publish']);

    const shown = await sluice(['runs', 'show', summary.run_id, '--json'], { home });
    assert.equal(shown.code, 0, shown.stderr);
    const detail = JSON.parse(shown.stdout);
    assert.deepEqual(detail.summary.transformers, summary.transformers);
    assert.deepEqual(counted(detail.steps.map(({ runId, stream, ...s }: Step & { runId: string; stream: string }) => {
      assert.deepEqual([runId, stream], [summary.run_id, 'orders']);
      return s;
    })), EXPECTED);
    assert.deepEqual(detail.steps.map((s: Step) => s.duration_ms), summary.transformers.orders.map((s: Step) => s.duration_ms));

    const text = await sluice(['runs', 'show', summary.run_id], { home });
    assert.equal(text.code, 0, text.stderr);
    const lines = text.stdout.split('\n');
    const at = lines.findIndex((l) => l.trim() === 'steps:');
    assert.ok(at > 0 && lines[at - 1].trim().startsWith('phases:'), text.stdout);
    assert.match(lines[at + 1], /^\s+step\s+in\s+out\s+failed\s+filtered\s+ms$/);
    const rows = lines.slice(at + 2, at + 6).map((l) => l.trim().split(/\s+/));
    assert.deepEqual(rows.map((r) => r.slice(0, 5)), [
      ['0:cast', '8', '6', '2', '0'], ['1:derive', '6', '6', '0', '0'], ['2:filter', '6', '4', '0', '2'], ['3:cast', '4', '3', '1', '0'],
    ]);
    for (const r of rows) assert.match(r[5], /^\d+\.\d\d$/);
    assert.doesNotMatch(text.stdout.split('stream plain')[1], /steps:/, 'a stream without steps has no table');
  } finally {
    cleanup();
  }
});
