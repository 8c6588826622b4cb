// The TypeScript API: definePipeline + runPipeline, with a source instance passed directly (no registry).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { definePipeline, runPipeline } from '../../src/index.js';
import type { Source } from '../../src/index.js';
import type { Batch } from '../../src/core/types.js';
import { duckQuery, tempDir } from '../helpers.js';

/** A source of n generated rows in batches of 1,000, with an id cursor; resumes after the last id in state. */
const counter = (n: number): Source => ({
  type: 'counter',
  async *read(_stream, state): AsyncIterable<Batch> {
    let next = Number((state?.connector as { last?: number } | undefined)?.last ?? 0) + 1;
    while (next <= n) {
      const rows = [];
      for (let i = 0; i < 1000 && next <= n; i++, next++) rows.push({ id: next, label: `row ${next}`, even: next % 2 === 0 });
      yield { rows, checkpoint: { ...(state ?? {}), version: 1, connector: { last: next - 1 } } };
    }
  },
});

const pipeline = () => definePipeline({
  pipeline: 'library-api',
  sources: [{ name: 'gen', type: 'csv', streams: [{ name: 'numbers', path: 'unused.csv', primary_key: 'id', cursor: 'id', write: 'merge' }] }],
});

test('definePipeline + runPipeline with a source instance; state resumes; dry runs load nothing', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const dry = await runPipeline(pipeline(), { home: dir, sources: { gen: counter(2500) }, dryRun: true });
    assert.equal(dry.status, 'success');
    assert.equal(dry.dry_run, true);
    assert.equal(dry.streams.numbers.extracted, 2500);
    const afterDry = existsSync(join(dir, 'warehouse.duckdb'))
      ? await duckQuery(join(dir, 'warehouse.duckdb'), "SELECT count(*)::INT AS n FROM information_schema.tables WHERE table_name = 'numbers'")
      : [{ n: 0 }];
    assert.equal(afterDry[0].n, 0, 'a dry run creates no table');

    const first = await runPipeline(pipeline(), { home: dir, sources: { gen: counter(2500) } });
    assert.equal(first.status, 'success');
    assert.deepEqual(first.streams.numbers, { extracted: 2500, loaded: 2500, dead_lettered: 0, filtered: 0, inserted: 2500, updated: 0, deleted: 0 });

    // The source grows; the next run resumes from the state committed with the data.
    const second = await runPipeline(pipeline(), { home: dir, sources: { gen: counter(4000) } });
    assert.equal(second.streams.numbers.extracted, 1500);
    const [r] = await duckQuery(join(dir, 'warehouse.duckdb'), 'SELECT count(*)::INT AS n, sum(id::BIGINT)::BIGINT AS s FROM numbers');
    assert.equal(r.n, 4000);
    assert.equal(Number(r.s), (4000 * 4001) / 2);
  } finally {
    cleanup();
  }
});

test('a decimal cursor orders by value: 10.25 is newer than 9.9, though it sorts before it as text', async () => {
  const { dir, cleanup } = tempDir();
  try {
    // A source that re-reads everything, as a file does: the engine's watermark keeps what an earlier run loaded out.
    const versions = (values: string[]): Source => ({
      type: 'versions',
      async *read(): AsyncIterable<Batch> {
        yield { rows: values.map((v, i) => ({ id: i + 1, version: v })), checkpoint: { version: 1 } };
      },
    });
    const p = definePipeline({
      pipeline: 'decimal-cursor',
      sources: [{ name: 'gen', type: 'csv', streams: [{ name: 'releases', path: 'unused.csv', primary_key: 'id', cursor: 'version', write: 'append', columns: { id: 'integer', version: 'decimal' } }] }],
    });
    const first = await runPipeline(p, { home: dir, sources: { gen: versions(['9.5', '9.90']) } });
    assert.equal(first.streams.releases.loaded, 2);
    const second = await runPipeline(p, { home: dir, sources: { gen: versions(['9.5', '9.90', '10.25', '-3', '0009.91']) } });
    // 9.5 and -3 are older than the watermark 9.90; 9.90 itself is kept (rows sharing it may be new), 10.25 and 9.91 are newer.
    assert.deepEqual(second.streams.releases, { extracted: 5, loaded: 3, dead_lettered: 0, filtered: 2, inserted: 3, updated: 0, deleted: 0 });
  } finally {
    cleanup();
  }
});

test('unknown --stream names are a configuration error before any work', async () => {
  const { dir, cleanup } = tempDir();
  try {
    await assert.rejects(runPipeline(pipeline(), { home: dir, streams: ['nope'] }), /unknown stream "nope"; the pipeline has: numbers/);
    assert.equal(existsSync(join(dir, 'control.db')), false);
  } finally {
    cleanup();
  }
});
