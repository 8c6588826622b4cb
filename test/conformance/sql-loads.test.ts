// The load-level conformance suite: every SQL destination passes the same tests through its load API (begin, evolve,
// write, commit, finish, abort), not the CLI — commits across a reopen, aborts, merge counts, the replace swap,
// replacing groups, delete markers, staged loads and readTable. Connector-specific behaviour stays in each
// connector's own test file; the destinations and how to look at them are in load-targets.ts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LoadTarget } from '../../src/core/connector.js';
import type { StreamState, WriteDisposition } from '../../src/core/types.js';
import { collect, schemaOf } from '../helpers.js';
import { LOAD_KINDS, type LoadDb, type LoadKind } from './load-targets.js';

const target = (table: string, disposition: WriteDisposition, primaryKey: string[] = [], extra: Partial<LoadTarget> = {}): LoadTarget => ({
  pipeline: 'p', stream: table, table, disposition, primaryKey, runId: 'run-1', fullRefresh: false, ...extra,
});

const state = (n: number): StreamState => ({ version: 1, cursor: { column: 'id', value: n } });

/** 1 or 0 for a boolean expression, whichever way the database stores booleans. */
const flag = (sql: string) => `CASE WHEN ${sql} THEN 1 ELSE 0 END`;

async function withDb(kind: LoadKind, use: (db: LoadDb) => Promise<void>): Promise<void> {
  const db = await kind.create();
  try {
    await use(db);
  } finally {
    await db.cleanup();
  }
}

for (const kind of LOAD_KINDS) {
  describe(`loads: ${kind.name}`, () => {
    test('append across commits: rows and the latest state persist across reopen, state history stays bounded', () => withDb(kind, async (db) => {
      const dest = await db.open();
      const load = await dest.begin(target('orders', 'append'));
      await load.evolve(schemaOf([['id', 'integer'], ['name', 'text']]));
      await load.write([[1, 'a'], [2, 'b']]);
      assert.deepEqual(await load.commit(state(2)), { inserted: 2, updated: 0, deleted: 0 });
      await load.write([[3, 'c']]);
      assert.deepEqual(await load.finish(state(3)), { inserted: 1, updated: 0, deleted: 0 });
      assert.deepEqual(await dest.readState('p', 'orders'), state(3));
      assert.equal(await dest.readState('p', 'other'), undefined);
      await dest.close();

      const again = await db.open();
      assert.deepEqual(await again.readState('p', 'orders'), state(3));
      assert.deepEqual(await db.query('SELECT id, name FROM orders ORDER BY id'), [{ id: 1, name: 'a' }, { id: 2, name: 'b' }, { id: 3, name: 'c' }]);
      for (let run = 0; run < 15; run++) {
        const l = await again.begin(target('orders', 'append'));
        await l.evolve(schemaOf([['id', 'integer'], ['name', 'text']]));
        await l.write([[100 + run, 'x']]);
        await l.finish(state(100 + run));
      }
      assert.deepEqual(await again.readState('p', 'orders'), state(114));
      const [v] = await db.query("SELECT count(*) AS n, max(version) AS v FROM _sluice_state WHERE stream = 'orders'");
      assert.ok(Number(v.n) <= 11, `state rows stay bounded, got ${v.n}`);
      assert.equal(Number(v.v), 17);

      // Resetting one stream leaves the others; resetting the pipeline forgets them all.
      const other = await again.begin(target('other', 'append'));
      await other.evolve(schemaOf([['id', 'integer']]));
      await other.finish(state(1));
      await again.resetState('p', 'orders');
      assert.equal(await again.readState('p', 'orders'), undefined);
      assert.deepEqual(await again.readState('p', 'other'), state(1));
      await again.resetState('p');
      assert.equal(await again.readState('p', 'other'), undefined);
      await again.close();
    }));

    test('abort rolls back to the last commit, also with two loads interleaved, and leaves no staging behind', () => withDb(kind, async (db) => {
      const dest = await db.open();
      const first = await dest.begin(target('a', 'append'));
      await first.evolve(schemaOf([['id', 'integer']]));
      await first.write([[1]]);
      await first.abort();
      assert.equal(await dest.readState('p', 'a'), undefined);
      if (kind.ddlRollsBack) assert.ok(!(await db.tables()).includes('a'), 'a load aborted before its first commit leaves no table');

      const a = await dest.begin(target('a', 'append'));
      const m = await dest.begin(target('m', 'merge', ['id']));
      await a.evolve(schemaOf([['id', 'integer']]));
      await m.evolve(schemaOf([['id', 'integer'], ['v', 'text']]));
      // Interleaved writes and commits of two loads on one destination.
      await a.write([[1], [2]]);
      await m.write([[1, 'x']]);
      await m.commit(state(1));
      await a.write([[3]]);
      await a.commit(state(3));
      await m.write([[2, 'y'], [1, 'x2']]);
      await a.write([[4]]);
      await m.abort();
      await a.abort();
      await a.abort();
      assert.deepEqual(await db.query('SELECT id FROM a ORDER BY id'), [{ id: 1 }, { id: 2 }, { id: 3 }]);
      assert.deepEqual(await db.query('SELECT id, v FROM m ORDER BY id'), [{ id: 1, v: 'x' }]);
      assert.deepEqual(await dest.readState('p', 'a'), state(3));
      assert.deepEqual(await dest.readState('p', 'm'), state(1));

      // A table made outside Sluice, with its key.
      await db.query('CREATE TABLE k (id INTEGER NOT NULL PRIMARY KEY)');
      await db.query('INSERT INTO k VALUES (1), (2)');
      for (const disposition of ['merge', 'replace'] as const) {
        const l = await dest.begin(target('k', disposition, ['id']));
        await l.evolve(schemaOf([['id', 'integer']]));
        await l.write([[1], [9]]);
        await l.commit(state(9));
        await l.write([[10]]);
        await l.abort();
        // merge committed {1, 9} before aborting; the replace's commit made nothing visible.
        assert.deepEqual(await db.query('SELECT id FROM k ORDER BY id'), [{ id: 1 }, { id: 2 }, { id: 9 }], disposition);
        assert.deepEqual((await db.tables()).sort(), ['_sluice_state', 'a', 'k', 'm'], `${disposition} leaves no staging behind`);
      }
      assert.deepEqual(await dest.readState('p', 'k'), state(9), "the merge's commit keeps its state; the replace's saves none");
      await dest.close();
    }));

    test('merge: duplicate keys in one commit, the last written row wins, counts are exact', () => withDb(kind, async (db) => {
      const dest = await db.open();
      const cols = schemaOf([['id', 'integer'], ['region', 'text'], ['v', 'text']]);
      const first = await dest.begin(target('m', 'merge', ['id', 'region']));
      await first.evolve(cols);
      await first.write([[1, 'eu', 'a'], [2, 'eu', 'b'], [1, 'us', 'c']]);
      assert.deepEqual(await first.finish(state(1)), { inserted: 3, updated: 0, deleted: 0 });

      const second = await dest.begin(target('m', 'merge', ['id', 'region']));
      await second.evolve(cols);
      await second.write([[1, 'eu', 'a2'], [3, 'eu', 'x']]);
      await second.write([[1, 'eu', 'a3'], [3, 'eu', 'x2'], [2, 'eu', 'b2']]);
      assert.deepEqual(await second.commit(state(2)), { inserted: 1, updated: 2, deleted: 0 });
      // An update that changes nothing is still counted as an update (MySQL's affected rows would say 0).
      await second.write([[4, 'eu', 'y'], [1, 'us', 'c']]);
      assert.deepEqual(await second.finish(state(3)), { inserted: 1, updated: 1, deleted: 0 });
      assert.deepEqual(await db.query('SELECT id, region, v FROM m ORDER BY id, region'), [
        { id: 1, region: 'eu', v: 'a3' }, { id: 1, region: 'us', v: 'c' }, { id: 2, region: 'eu', v: 'b2' },
        { id: 3, region: 'eu', v: 'x2' }, { id: 4, region: 'eu', v: 'y' },
      ]);
      // Keys are compared exactly: 'EU' is another key than 'eu'.
      const third = await dest.begin(target('m', 'merge', ['id', 'region']));
      await third.evolve(cols);
      await third.write([[1, 'EU', 'upper']]);
      assert.deepEqual(await third.finish(state(4)), { inserted: 1, updated: 0, deleted: 0 });
      assert.deepEqual(await dest.readState('p', 'm'), state(4));
      await assert.rejects(dest.begin(target('m', 'merge', [])), /write: merge needs a primary_key/);

      // A merge into an existing table without the primary key says what to do, where merging needs that key.
      await db.query('CREATE TABLE nokey (id INTEGER)');
      const nokey = await dest.begin(target('nokey', 'merge', ['id']));
      if (kind.mergeNeedsKey) {
        await assert.rejects(nokey.evolve(schemaOf([['id', 'integer']])), kind.mergeNeedsKey);
        await nokey.abort();
      } else {
        await nokey.evolve(schemaOf([['id', 'integer']]));
        await nokey.write([[1], [1]]);
        assert.deepEqual(await nokey.finish(state(1)), { inserted: 1, updated: 0, deleted: 0 });
        assert.deepEqual(await db.query('SELECT id FROM nokey'), [{ id: 1 }]);
      }
      await dest.close();
    }));

    test('replace swaps the table at finish; readers see the old rows and state until then; a long name fits', () => withDb(kind, async (db) => {
      const dest = await db.open();
      const a = await dest.begin(target('r', 'append'));
      await a.evolve(schemaOf([['id', 'integer'], ['old', 'text']]));
      await a.write([[1, 'x'], [2, 'y']]);
      await a.finish(state(2));

      const r = await dest.begin(target('r', 'replace', ['id']));
      await r.evolve(schemaOf([['id', 'integer'], ['v', 'text']]));
      await r.write([[10, 'new']]);
      await r.commit(state(10));
      await r.write([[11, 'new2']]);
      assert.deepEqual(await db.query('SELECT id FROM r ORDER BY id'), [{ id: 1 }, { id: 2 }]);
      assert.deepEqual(await dest.readState('p', 'r'), state(2));
      assert.deepEqual(await r.finish(state(11)), { inserted: 2, updated: 0, deleted: 0 });
      assert.deepEqual(await db.query('SELECT * FROM r ORDER BY id'), [{ id: 10, v: 'new' }, { id: 11, v: 'new2' }]);
      assert.deepEqual(await dest.readState('p', 'r'), state(11));
      assert.deepEqual((await db.tables()).sort(), ['_sluice_state', 'r'], 'no staging is left behind');

      // A name near the identifier limit still gets a staging table within it.
      const long = 'x'.repeat(dest.capabilities.identifiers.maxLength - 4);
      const l = await dest.begin(target(long, 'replace'));
      await l.evolve(schemaOf([['id', 'integer']]));
      await l.write([[1]]);
      await l.finish(state(1));
      assert.deepEqual(await db.query(`SELECT id FROM ${db.table(long)}`), [{ id: 1 }]);
      await dest.close();
    }));

    test('replacing groups: each commit replaces the staged groups; a marker empties its group, drops what came before it, and is never stored', () => withDb(kind, async (db) => {
      const dest = await db.open();
      const groups = target('c', 'append', [], { replaceGroups: 'g', deleteColumn: 'm' });
      const rows = async () => (await db.query('SELECT g, v FROM c')).map((r) => `${r.g}:${r.v}`).sort();
      const load = await dest.begin(groups);
      // No marker column yet: groups are still replaced, and no row is read as a marker.
      await load.evolve(schemaOf([['g', 'text'], ['v', 'integer']]));
      await load.write([['a', 1], ['a', 2], ['b', 1], [null, 9]]);
      assert.deepEqual(await load.commit(state(1)), { inserted: 4, updated: 0, deleted: 0 });
      await load.write([['a', 3]]);
      // The marker column arrives mid-checkpoint and v widens to text (a second staging layout): write order holds.
      await load.evolve(schemaOf([['g', 'text'], ['v', 'text'], ['m', 'boolean']]));
      await load.write([['a', null, true], ['a', '4', false], ['b', null, true], ['c', '5', null], ['d', '6', false], ['d', null, true], [null, '10', null]]);
      // Deleted: a1, a2, b1 (groups a, b, c, d staged); inserted: a4 (a3 came before a's marker), c5, null10 (no group).
      assert.deepEqual(await load.commit(state(2)), { inserted: 3, updated: 0, deleted: 3 });
      assert.deepEqual(await rows(), ['a:4', 'c:5', 'null:10', 'null:9']);
      // The same rows again (a commit replayed after a crash): the same target.
      await load.write([['a', '4', false], ['c', '5', null]]);
      assert.deepEqual(await load.finish(state(3)), { inserted: 2, updated: 0, deleted: 2 });
      assert.deepEqual(await rows(), ['a:4', 'c:5', 'null:10', 'null:9']);
      assert.deepEqual((await db.columns('c')).map((c) => `${c.name} ${c.type}`), [`g ${kind.textType}`, `v ${kind.textType}`],
        'v widened; neither the marker nor the write sequence is stored');
      // The group index (where the kind keeps one) survives the widening of v.
      assert.deepEqual(await db.indexes('c'), kind.groupIndexes);
      assert.deepEqual(await dest.readState('p', 'c'), state(3));
      await assert.rejects(dest.begin(target('x', 'merge', ['id'], { replaceGroups: 'g' })), /replacing groups is an append; got write: merge/);
      const missing = await dest.begin(target('y', 'append', [], { replaceGroups: 'nope' }));
      // Refused before a row is written.
      await assert.rejects(missing.evolve(schemaOf([['g', 'text']])), /group column "nope" is not in the schema/);
      await missing.abort();
      await dest.close();
    }));

    test('delete markers: scd2 closes a marked key, a staged merge deletes marked keys, replace leaves them out; plain append keeps the column', () => withDb(kind, async (db) => {
      const dest = await db.open();
      const columnsOf = async (table: string) => (await db.columns(table)).map((c) => c.name);
      const marked = (t: LoadTarget): LoadTarget => ({ ...t, deleteColumn: 'gone' });

      const h = await dest.begin(marked(target('h', 'scd2', ['id'])));
      // The stream has not seen its marker column yet.
      await h.evolve(schemaOf([['id', 'integer'], ['v', 'text']]));
      await h.write([[1, 'a'], [2, 'b']]);
      assert.deepEqual(await h.commit(state(1)), { inserted: 2, updated: 0, deleted: 0 });
      await h.evolve(schemaOf([['id', 'integer'], ['v', 'text'], ['gone', 'boolean']]));
      // 1 deleted; 2 changed; 3 new; 4 marked but never loaded.
      await h.write([[1, 'a', true], [2, 'B', false], [3, 'c', null], [4, 'd', true]]);
      assert.deepEqual(await h.finish(state(2)), { inserted: 1, updated: 1, deleted: 1 });
      const history = await db.query(`SELECT id, v, ${flag('is_current')} AS cur, ${flag('valid_to IS NULL')} AS open FROM h ORDER BY id, valid_from`);
      assert.deepEqual(history.map((r) => `${r.id}:${r.v}:${r.cur}:${r.open}`), ['1:a:0:0', '2:b:0:0', '2:B:1:1', '3:c:1:1']);
      assert.deepEqual(await columnsOf('h'), ['id', 'v', 'valid_from', 'valid_to', 'is_current', '_sluice_hash']);

      const m = await dest.begin(target('m', 'merge', ['id']));
      await m.evolve(schemaOf([['id', 'integer'], ['v', 'text']]));
      await m.write([[1, 'one'], [2, 'two'], [3, 'three']]);
      await m.finish(state(1));
      const staged = await dest.begin(marked(target('m', 'merge', ['id'], { staged: true })));
      // A text marker: 'yes' and '1' mark, 'no' and '0' do not; the last row of a key decides.
      await staged.evolve(schemaOf([['id', 'integer'], ['v', 'text'], ['gone', 'text']]));
      await staged.write([[1, null, 'yes'], [2, 'TWO', 'no'], [5, 'x', '1'], [6, 'six', 'YES']]);
      assert.deepEqual(await staged.commit(state(2)), { inserted: 0, updated: 0, deleted: 0 });
      await staged.write([[5, 'five', '0']]);
      assert.deepEqual(await staged.finish(state(3)), { inserted: 1, updated: 1, deleted: 1 });
      assert.deepEqual(await db.query('SELECT id, v FROM m ORDER BY id'), [{ id: 2, v: 'TWO' }, { id: 3, v: 'three' }, { id: 5, v: 'five' }]);
      assert.deepEqual(await columnsOf('m'), ['id', 'v']);

      const r = await dest.begin(marked(target('r', 'replace', ['id'])));
      await r.evolve(schemaOf([['id', 'integer'], ['v', 'text'], ['gone', 'boolean']]));
      await r.write([[1, 'a', false], [2, 'b', true], [3, 'c', null], [3, 'C', true]]);
      await r.finish(state(1));
      assert.deepEqual(await db.query('SELECT id, v FROM r ORDER BY id'), [{ id: 1, v: 'a' }]);
      assert.deepEqual(await columnsOf('r'), ['id', 'v']);

      const a = await dest.begin(marked(target('a', 'append')));
      await a.evolve(schemaOf([['id', 'integer'], ['gone', 'boolean']]));
      await a.write([[1, true]]);
      assert.deepEqual(await a.finish(state(1)), { inserted: 1, updated: 0, deleted: 0 });
      assert.deepEqual((await db.query(`SELECT id, ${flag('gone')} AS gone FROM a`)).map((x) => `${x.id}:${x.gone}`), ['1:1']);
      assert.deepEqual(await columnsOf('a'), ['id', 'gone']);
      await dest.close();
    }));

    test('staged: the target evolves only at finish, with the rows; a blocked replace keeps its staging; readTable, also beside a load', () => withDb(kind, async (db) => {
      const dest = await db.open();
      const columnsOf = async (table: string) => (await db.columns(table)).map((c) => c.name);
      const first = await dest.begin(target('m', 'merge', ['id']));
      await first.evolve(schemaOf([['id', 'integer'], ['v', 'text']]));
      await first.write([[1, 'one']]);
      await first.finish(state(1));

      const staged = target('m', 'merge', ['id'], { staged: true });
      const blocked = await dest.begin(staged);
      await blocked.evolve(schemaOf([['id', 'integer'], ['v', 'text'], ['extra', 'text']]));
      await blocked.write([[1, 'uno', 'e']]);
      assert.deepEqual(await blocked.commit(state(2)), { inserted: 0, updated: 0, deleted: 0 });
      await blocked.write([[2, 'dos', 'e']]);
      assert.deepEqual(await blocked.abort({ keepStaging: true }), { kept: db.table('m__sluice_staged') });
      assert.deepEqual(await columnsOf('m'), ['id', 'v'], 'a blocked load does not evolve the target');
      assert.deepEqual(await db.query('SELECT id, v FROM m'), [{ id: 1, v: 'one' }]);
      assert.deepEqual(await db.query('SELECT id, v FROM m__sluice_staged ORDER BY id'), [{ id: 1, v: 'uno' }, { id: 2, v: 'dos' }],
        'the kept staging holds every blocked row, also those written after its last commit');
      assert.deepEqual(await dest.readState('p', 'm'), state(1));

      const passed = await dest.begin(staged);
      await passed.evolve(schemaOf([['id', 'integer'], ['v', 'text'], ['extra', 'text']]));
      await passed.write([[1, 'uno', 'e'], [2, 'dos', null]]);
      await passed.commit(state(2));
      await passed.write([[1, 'un', 'f']]);
      assert.deepEqual(await passed.finish(state(3)), { inserted: 1, updated: 1, deleted: 0 });
      assert.deepEqual(await db.query('SELECT id, v, extra FROM m ORDER BY id'), [{ id: 1, v: 'un', extra: 'f' }, { id: 2, v: 'dos', extra: null }]);
      assert.deepEqual(await dest.readState('p', 'm'), state(3));
      assert.deepEqual(await columnsOf('m'), ['id', 'v', 'extra']);

      const replace = await dest.begin(target('m', 'replace', ['id'], { staged: true }));
      await replace.evolve(schemaOf([['id', 'integer']]));
      await replace.write([[9]]);
      assert.deepEqual(await replace.abort({ keepStaging: true }), { kept: db.table('m__sluice_replace') });
      assert.deepEqual(await db.query('SELECT id FROM m__sluice_replace'), [{ id: 9 }]);
      assert.equal((await db.query('SELECT id FROM m')).length, 2);

      // readTable keys rows by the names asked for, also where the destination had to spell a name differently.
      const e = await dest.begin(target('emoji', 'append'));
      await e.evolve(schemaOf([['id', 'integer'], ['ok 🎉', 'boolean'], ['at', 'timestamp']]));
      await e.write(Array.from({ length: 6000 }, (_, i) => [i, i % 2 === 0, '2024-01-02T03:04:05.123456Z']));
      await e.finish(state(1));
      const batches = await collect(dest.readTable!('emoji', ['id', 'ok 🎉', 'at']));
      const sizes = Array.from({ length: Math.ceil(6000 / kind.readBatch) }, (_, i) => Math.min(kind.readBatch, 6000 - i * kind.readBatch));
      assert.deepEqual(batches.map((b) => b.length), sizes);
      assert.deepEqual(batches[0][1], { id: 1, 'ok 🎉': kind.readsBack.boolean(false), at: kind.readsBack.timestamp('2024-01-02T03:04:05.123456Z') });
      // A reader that stops early gives its connection up rather than return it mid-result.
      for await (const b of dest.readTable!('emoji', ['id'])) {
        assert.equal(b.length, kind.readBatch);
        break;
      }
      assert.equal(Number((await db.query('SELECT count(*) AS n FROM emoji'))[0].n), 6000);
      // Every column when none is named, and the first `limit` rows (the dashboard's preview).
      const [head] = await collect(dest.readTable!('emoji', [], 3));
      assert.equal(head.length, 3);
      // (named as stored: MySQL spells the emoji its own way)
      const stored = Object.keys(head[0]).filter((k) => !k.startsWith('_sluice'));
      assert.deepEqual([stored.length, stored.includes('id'), stored.includes('at')], [3, true, true], stored.join());
      // A table not created yet has no rows (the first run of a step that reads its own target).
      assert.deepEqual(await collect(dest.readTable!('never_created', ['id'])), []);
      assert.deepEqual(await collect(dest.readTable!('never_created', [], 5)), []);

      // A load goes on while readTable iterates, and the reader sees the table as it was when it began.
      const a = await dest.begin(target('a', 'append'));
      await a.evolve(schemaOf([['id', 'integer']]));
      await a.write(Array.from({ length: 12_000 }, (_, i) => [i]));
      await a.commit(state(1));
      let read = 0;
      for await (const batch of dest.readTable!('a', ['id'])) {
        read += batch.length;
        await a.write([[-1]]);
        await a.commit(state(2));
      }
      await a.finish(state(3));
      assert.equal(read, 12_000, 'the reader sees the table as it was when it began');
      assert.equal(Number((await db.query('SELECT count(*) AS n FROM a'))[0].n), 12_000 + Math.ceil(12_000 / kind.readBatch));
      await dest.close();
    }));
  });
}
