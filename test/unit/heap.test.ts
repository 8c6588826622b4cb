// Which `sluice run` processes get V8's old generation collected at a quarter's growth (src/cli/heap.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { heapGrowingPercent } from '../../src/cli/heap.js';
import { tempDir } from '../helpers.js';

test('a pipeline that only moves rows runs with a tighter old generation; transforms, checks and other commands keep the default', () => {
  const { dir, cleanup } = tempDir();
  try {
    const file = (name: string, text: string): string => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    const copy = file('copy.yaml', 'pipeline: copy\nsources:\n  - name: db\n    type: mysql\n    streams: [{ name: orders }]\n');
    const transformed = file('t.yaml', 'pipeline: t\nsources: []\ntransforms:\n  orders: [{ drop: [x] }]\n');
    const checked = file('c.yml', 'pipeline: c\nsources: []\nchecks:\n  orders:\n    - unique: [id]\n');
    // A stream field named like a top-level key does not count: only the pipeline's own keys do.
    const nested = file('n.yaml', 'pipeline: n\nsources:\n  - name: f\n    type: csv\n    streams:\n      - name: checks\n        path: a.csv\n');
    assert.equal(heapGrowingPercent(['run', copy, '--json']), 25);
    assert.equal(heapGrowingPercent(['run', nested]), 25);
    assert.equal(heapGrowingPercent(['run', transformed]), undefined);
    assert.equal(heapGrowingPercent(['run', checked]), undefined);
    assert.equal(heapGrowingPercent(['validate', copy]), undefined);
    assert.equal(heapGrowingPercent(['run', join(dir, 'missing.yaml')]), undefined, 'the CLI reports the missing file itself');
    assert.equal(heapGrowingPercent(['run', file('p.ts', 'export default {}')]), undefined);
    assert.equal(heapGrowingPercent([]), undefined);
  } finally {
    cleanup();
  }
});
