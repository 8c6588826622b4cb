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

// The states of a stream's slices (src/engine/slices.ts) on the destinations workers write to: each slice commits under
// its own key without touching the stream's version, the newest of each is listed by the stream, folding commits the
// stream's next version and leaves each slice only a marker (a task of a slice begun before the fold cannot commit
// after it), and resetting the stream forgets its slices too.
for (const kind of TARGETS.filter((t) => t.name === 'postgres' || t.name === 'mysql')) {
  test(`${kind.name}: slice states are kept apart, listed, folded and reset with their stream`, async () => {
    const target = await kind.create();
    const { dir, cleanup } = tempDir();
    try {
      const { config } = parsePipeline(`pipeline: slices\nsources:\n  - { name: f, type: csv, streams: [{ name: s, path: x.csv }] }\n${target.destination}`, { baseDir: dir });
      const d = await getDestinationSpec(config.destination.type)!.create(config.destination);
      await d.connect(runContext(dir, { pipeline: 'slices' }));
      try {
        const schema = { columns: [{ name: 'id', type: 'integer' as const, nullable: true }] };
        const commit = async (stream: string, rows: unknown[][], n: number) => {
          const load = await d.begin({ pipeline: 'slices', stream, table: 's', disposition: 'append', primaryKey: [], runId: 'r1', fullRefresh: false });
          await load.evolve(schema);
          await load.write(rows);
          await load.commit({ version: 1, connector: { n } });
          await load.finish({ version: 1, connector: { n } });
        };
        await commit('s', [[1]], 0);
        await commit('s#a', [[2]], 1);
        await commit('s#a', [[3]], 2);
        await commit('s#b', [[4]], 3);
        // Another stream whose name starts like a slice key of `s` is not one of its slices.
        await commit('sx', [[5]], 9);
        // A task of slice b begun before the fold (its run's dispatcher died): it must not commit after it.
        const late = await d.begin({ pipeline: 'slices', stream: 's#b', table: 's', disposition: 'append', primaryKey: [], runId: 'r0', fullRefresh: false });
        await late.evolve(schema);
        await late.write([[99]]);
        const slices = await d.sliceStates!('slices', 's');
        assert.deepEqual([...slices.keys()].sort(), ['s#a', 's#b']);
        assert.deepEqual(slices.get('s#a')?.connector, { n: 2 }, 'the newest version of each slice');
        assert.deepEqual((await d.readState('slices', 's'))?.connector, { n: 0 }, 'the stream\'s own state is untouched');

        await d.foldSlices!('slices', 's', 'r1', { version: 1, connector: { n: 5 } }, [...slices.keys()]);
        assert.deepEqual((await d.readState('slices', 's'))?.connector, { n: 5 });
        assert.equal((await d.sliceStates!('slices', 's')).size, 0);
        assert.deepEqual((await d.readState('slices', 'sx'))?.connector, { n: 9 });
        assert.deepEqual(await d.readState('slices', 's#b'), { version: 1, folded: true }, 'a folded slice keeps a marker');
        await assert.rejects(late.commit({ version: 1, connector: { n: 4 } }), /another process committed this stream since this load began/);
        await late.abort().catch(() => undefined);

        await commit('s#c', [[6]], 6);
        await d.resetState('slices', 's');
        assert.equal(await d.readState('slices', 's'), undefined);
        assert.equal((await d.sliceStates!('slices', 's')).size, 0, 'a reset stream has no slices left');
        assert.deepEqual((await d.readState('slices', 'sx'))?.connector, { n: 9 }, 'nor did the reset touch another stream');
        assert.equal(Number((await target.query(`SELECT count(*) AS n FROM ${target.table('s')}`))[0].n), 6, 'every slice\'s rows committed');
      } finally {
        await d.close();
      }
    } finally {
      cleanup();
      await target.cleanup();
    }
  });
}
