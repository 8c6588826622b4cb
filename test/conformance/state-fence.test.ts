// The fence of a task taken over (Destination.claimState): a load begun before a claim of its stream commits nothing
// more — on PostgreSQL its session is ended, on MySQL its next state version is taken — while what it committed before
// the claim stays. On the destinations workers write to.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePipeline } from '../../src/config/load.js';
import { getDestinationSpec } from '../../src/connectors/registry.js';
import type { StreamState } from '../../src/core/types.js';
import { runContext, tempDir } from '../helpers.js';
import { TARGETS } from './targets.js';

for (const kind of TARGETS.filter((t) => t.name === 'postgres' || t.name === 'mysql')) {
  test(`${kind.name}: a load begun before its stream was claimed commits nothing more`, async () => {
    const target = await kind.create();
    const { dir, cleanup } = tempDir();
    try {
      const { config } = parsePipeline(`pipeline: fence\nsources:\n  - { name: f, type: csv, streams: [{ name: s, path: x.csv }] }\n${target.destination}`, { baseDir: dir });
      const open = async () => {
        const d = await getDestinationSpec(config.destination.type)!.create(config.destination);
        await d.connect(runContext(dir, { pipeline: 'fence' }));
        return d;
      };
      const stalled = await open();
      const taker = await open();
      try {
        const schema = { columns: [{ name: 'id', type: 'integer' as const, nullable: true }] };
        const state = (n: number): StreamState => ({ version: 1, connector: { n } });
        const load = await stalled.begin({ pipeline: 'fence', stream: 's', table: 's', disposition: 'append', primaryKey: [], runId: 'r1', fullRefresh: false });
        await load.evolve(schema);
        await load.write([[1], [2]]);
        await load.commit(state(1));
        await load.write([[3]]);
        // Another worker takes the task over: it claims the stream, reads the state committed so far and goes on.
        await taker.claimState!('fence', 's', 'r1');
        assert.deepEqual((await taker.readState('fence', 's'))?.connector, { n: 1 });
        // PostgreSQL ends the stalled load's session at the claim; MySQL refuses its next state version.
        await assert.rejects(load.commit(state(2)), kind.name === 'postgres'
          ? /the session was ended by another process: a worker that took this task over/
          : /another process committed this stream since this load began \(its task was taken over\)/);
        await load.abort().catch(() => undefined);
        assert.deepEqual((await taker.readState('fence', 's'))?.connector, { n: 1 }, 'the stalled commit left no state');
        assert.equal(Number((await target.query(`SELECT count(*) AS n FROM ${target.table('s')}`))[0].n), 2, 'nor rows');
      } finally {
        await stalled.close();
        await taker.close();
      }
    } finally {
      cleanup();
      await target.cleanup();
    }
  });
}
