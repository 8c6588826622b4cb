// Which `sluice run` processes get a tighter V8 heap (src/cli/heap.ts), and that the young generation's cap holds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { heapPlan } from '../../src/cli/heap.js';
import { tempDir } from '../helpers.js';

test('a pipeline that only moves rows runs with a tighter old generation, and a young one too when it reads databases only', () => {
  const { dir, cleanup } = tempDir();
  try {
    const file = (name: string, text: string): string => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    const copy = file('copy.yaml', 'pipeline: copy\nsources:\n  - name: db\n    type: mysql\n    streams: [{ name: orders }]\n  - name: pg\n    type: postgres\n    streams: [{ name: users }]\ndestination:\n  type: duckdb\n');
    const mixed = file('mixed.yaml', 'pipeline: mixed\nsources:\n  - name: db\n    type: sqlite\n    streams: [{ name: orders }]\n  - name: f\n    type: csv\n    streams: [{ name: users, path: u.csv }]\n');
    const transformed = file('t.yaml', 'pipeline: t\nsources: []\ntransforms:\n  orders: [{ drop: [x] }]\n');
    const checked = file('c.yml', 'pipeline: c\nsources: []\nchecks:\n  orders:\n    - unique: [id]\n');
    // A stream field named like a top-level key does not count: only the pipeline's own keys do.
    const nested = file('n.yaml', 'pipeline: n\nsources:\n  - name: f\n    type: csv\n    streams:\n      - name: checks\n        path: a.csv\n');
    const broken = file('b.yaml', 'pipeline: b\nsources: [\n');
    assert.deepEqual(heapPlan(['run', copy, '--json']), { growingPercent: 25, semiSpaceMb: 8 }, 'the largest cap among the sources');
    assert.deepEqual(heapPlan(['run', file('m.yaml', 'pipeline: m\nsources:\n  - name: db\n    type: mysql\n    streams: [{ name: orders }]\n')]), { growingPercent: 25, semiSpaceMb: 4 });
    assert.deepEqual(heapPlan(['run', mixed]), { growingPercent: 25 }, 'a file source keeps the young generation');
    assert.deepEqual(heapPlan(['run', nested]), { growingPercent: 25 });
    assert.deepEqual(heapPlan(['run', broken]), { growingPercent: 25 }, 'the CLI reports the YAML error itself');
    assert.deepEqual(heapPlan(['run', transformed]), {});
    assert.deepEqual(heapPlan(['run', checked]), {});
    assert.deepEqual(heapPlan(['validate', copy]), {});
    assert.deepEqual(heapPlan(['run', join(dir, 'missing.yaml')]), {}, 'the CLI reports the missing file itself');
    assert.deepEqual(heapPlan(['run', file('p.ts', 'export default {}')]), {});
    assert.deepEqual(heapPlan([]), {});
  } finally {
    cleanup();
  }
});

test('a capped young generation stays at its cap while the process allocates, an uncapped one grows to V8\'s', () => {
  // A child process churns through survivors (arrays kept for a while, as a batch in flight is) and reports the
  // new space's size; heap.js is imported first, as bin/sluice.js does.
  const heap = new URL('../../src/cli/heap.js', import.meta.url).href;
  const churn = (capped: boolean): number => Number(execFileSync(process.execPath, ['--input-type=module', '-e', `
    import { tuneHeap } from ${JSON.stringify(heap)};
    import { getHeapSpaceStatistics } from 'node:v8';
    import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
    import { tmpdir } from 'node:os';
    import { join } from 'node:path';
    const dir = mkdtempSync(join(tmpdir(), 'sluice-heap-'));
    const file = join(dir, 'p.yaml');
    writeFileSync(file, 'pipeline: p\\nsources:\\n  - name: db\\n    type: ${capped ? 'mysql' : 'csv'}\\n    streams: [{ name: s }]\\n');
    tuneHeap(['run', file]);
    rmSync(dir, { recursive: true });
    let kept = [];
    for (let round = 0; round < 150; round++) {
      kept.push(Array.from({ length: 20000 }, (_, i) => ({ i, s: 'v' + i })));
      if (kept.length > 4) kept.shift();
      await new Promise((r) => setImmediate(r));
    }
    console.log(getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size);
  `]).toString()) / (1 << 20);
  const capped = churn(true);
  const uncapped = churn(false);
  assert.ok(capped <= 8.5, `capped new space ${capped} MB, expected ≤ 2 × 4 MB`);
  assert.ok(uncapped > 16, `uncapped new space ${uncapped} MB, expected V8's growth beyond 2 × 8 MB`);
});
