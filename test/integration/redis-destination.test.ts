// The Redis destination against the real server on 127.0.0.1:6379 (no mocks; a server that is down fails these tests):
// pipelines through the engine in both formats, incremental re-runs, merge deletes, replace, TTL, an aborted or cut
// transaction, hostile keys and values, secrets in errors, readTable and validation. Each test writes under a random
// key prefix and deletes its keys at the end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { LoadTarget } from '../../src/core/connector.js';
import type { StreamState } from '../../src/core/types.js';
import { parsePipeline } from '../../src/config/load.js';
import { runPipeline } from '../../src/engine/runner.js';
import type { RedisDestination } from '../../src/connectors/redis/redis-destination.js';
import { type RedisConfig, redisDestinationSpec } from '../../src/connectors/redis/redis-spec.js';
import { collect, runContext, schemaOf, tempDir } from '../helpers.js';

const URL = 'redis://127.0.0.1:6379/0';

/** A test's own prefix, a client to look with, and the cleanup of both. */
async function withRedis(use: (r: { redis: Redis; prefix: string; dir: string }) => Promise<void>): Promise<void> {
  const prefix = `sluice-test-${randomBytes(6).toString('hex')}:`;
  const redis = new Redis(URL);
  const { dir, cleanup } = tempDir();
  try {
    await use({ redis, prefix, dir });
  } finally {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.unlink(...keys);
    redis.disconnect();
    cleanup();
  }
}

const keysOf = async (redis: Redis, prefix: string): Promise<string[]> => (await redis.keys(`${prefix}*`)).sort();

function pipelineYaml(prefix: string, o: { format?: string; write?: string; extra?: string; ttl?: string; pk?: string } = {}): string {
  return `pipeline: redis-test
sources:
  - name: files
    type: csv
    streams:
      - name: people
        path: data/people*.csv
${o.pk ?? '        primary_key: [id]'}
        write: ${o.write ?? 'merge'}
        columns: { id: integer, balance: decimal, born: date, active: boolean }
${o.extra ?? ''}
destination:
  type: redis
  url: ${URL}
  key_prefix: "${prefix}"
  format: ${o.format ?? 'hash'}
${o.ttl ? `  ttl: ${o.ttl}\n` : ''}`;
}

async function run(dir: string, yaml: string, opts: { fullRefresh?: boolean } = {}) {
  return runPipeline(parsePipeline(yaml, { baseDir: dir }), { home: join(dir, 'home'), ...opts });
}

function writeCsv(dir: string, name: string, text: string): void {
  mkdirSync(join(dir, 'data'), { recursive: true });
  writeFileSync(join(dir, 'data', name), text);
}

const PEOPLE = 'id,name,balance,born,active,note\n1,Ada,10.50,1815-12-10,true,\n2,Grace,0.1,1906-12-09,false,x\n3,Linus,-3,1969-12-28,true,"a:b"\n';

async function open(prefix: string, extra: Record<string, unknown> = {}): Promise<RedisDestination> {
  const config = redisDestinationSpec.config.parse({ url: URL, key_prefix: prefix, ...extra }) as RedisConfig;
  const dest = await redisDestinationSpec.create(config) as RedisDestination;
  await dest.connect(runContext('/tmp'));
  return dest;
}

test('a CSV pipeline loads hashes; a second run loads nothing and duplicates nothing; readTable reads them back', async () => {
  await withRedis(async ({ redis, prefix, dir }) => {
    writeCsv(dir, 'people-1.csv', PEOPLE);
    const first = await run(dir, pipelineYaml(prefix));
    assert.equal(first.status, 'success', first.error);
    assert.equal(first.streams.people.loaded, 3);
    assert.deepEqual(await redis.hgetall(`${prefix}people:1`), { id: '1', name: 'Ada', balance: '10.50', born: '1815-12-10', active: 'true' });
    // NULL columns are absent fields; the empty CSV field is NULL here.
    assert.deepEqual(await redis.hgetall(`${prefix}people:2`), { id: '2', name: 'Grace', balance: '0.1', born: '1906-12-09', active: 'false', note: 'x' });
    const before = await keysOf(redis, prefix);
    assert.deepEqual(before, [`${prefix}:_sluice_state:redis-test:people`, `${prefix}people:1`, `${prefix}people:2`, `${prefix}people:3`]);

    const second = await run(dir, pipelineYaml(prefix));
    assert.equal(second.status, 'success', second.error);
    assert.equal(second.streams.people.extracted, 0);
    assert.equal(second.streams.people.loaded, 0);
    assert.deepEqual(await keysOf(redis, prefix), before);

    const dest = await open(prefix);
    try {
      const state = await dest.readState('redis-test', 'people');
      assert.equal(Object.values(state?.files ?? {})[0]?.records, 3);
      const rows = (await collect(dest.readTable('people', []))).flat().sort((a, b) => Number(a.id) - Number(b.id));
      assert.deepEqual(rows.map((r) => r.name), ['Ada', 'Grace', 'Linus']);
      assert.equal(rows[2].note, 'a:b');
      const some = (await collect(dest.readTable('people', ['id', 'note'], 2))).flat();
      assert.equal(some.length, 2);
      assert.deepEqual(Object.keys(some[0]).sort(), ['id', 'note']);
    } finally {
      await dest.close();
    }
  });
});

test('the json format stores each row as one JSON document', async () => {
  await withRedis(async ({ redis, prefix, dir }) => {
    writeCsv(dir, 'people-1.csv', PEOPLE);
    const summary = await run(dir, pipelineYaml(prefix, { format: 'json' }));
    assert.equal(summary.status, 'success', summary.error);
    assert.equal(await redis.type(`${prefix}people:1`), 'string');
    assert.deepEqual(JSON.parse((await redis.get(`${prefix}people:1`))!), {
      id: 1, name: 'Ada', balance: '10.50', born: '1815-12-10', active: true, note: null,
    });
    const dest = await open(prefix, { format: 'json' });
    try {
      const rows = (await collect(dest.readTable('people', ['id', 'active']))).flat();
      assert.deepEqual(rows.sort((a, b) => Number(a.id) - Number(b.id)), [{ id: 1, active: true }, { id: 2, active: false }, { id: 3, active: true }]);
    } finally {
      await dest.close();
    }
  });
});

test('merge replaces a row whole and deletes keys whose delete_column is true', async () => {
  await withRedis(async ({ redis, prefix, dir }) => {
    const yaml = pipelineYaml(prefix, { extra: '        delete_column: gone' });
    writeCsv(dir, 'people-1.csv', 'id,name,note,gone\n1,Ada,first,false\n2,Grace,,false\n3,Linus,x,false\n');
    assert.equal((await run(dir, yaml)).status, 'success');
    assert.deepEqual(await redis.hgetall(`${prefix}people:1`), { id: '1', name: 'Ada', note: 'first' });
    writeCsv(dir, 'people-2.csv', 'id,name,note,gone\n1,Ada L.,,false\n3,,,true\n4,Alan,new,false\n');
    const second = await run(dir, yaml);
    assert.equal(second.status, 'success', second.error);
    assert.deepEqual({ ...second.streams.people, extracted: undefined, filtered: undefined, dead_lettered: undefined, loaded: undefined },
      { ...second.streams.people, extracted: undefined, filtered: undefined, dead_lettered: undefined, loaded: undefined, inserted: 1, updated: 1, deleted: 1 });
    // The note is gone from row 1: DEL then HSET, and the marker column is never stored.
    assert.deepEqual(await redis.hgetall(`${prefix}people:1`), { id: '1', name: 'Ada L.' });
    assert.equal(await redis.exists(`${prefix}people:3`), 0);
    assert.deepEqual(await redis.hgetall(`${prefix}people:4`), { id: '4', name: 'Alan', note: 'new' });
    assert.equal(await redis.exists(`${prefix}people:2`), 1);
  });
});

test('replace (a full refresh) removes the keys of rows the source no longer has', async () => {
  await withRedis(async ({ redis, prefix, dir }) => {
    writeCsv(dir, 'people-1.csv', PEOPLE);
    assert.equal((await run(dir, pipelineYaml(prefix))).status, 'success');
    writeCsv(dir, 'people-1.csv', 'id,name\n1,Ada\n3,Linus T.\n5,Barbara\n');
    const second = await run(dir, pipelineYaml(prefix), { fullRefresh: true });
    assert.equal(second.status, 'success', second.error);
    const rows = (await keysOf(redis, prefix)).filter((k) => !k.includes('_sluice_'));
    assert.deepEqual(rows, [`${prefix}people:1`, `${prefix}people:3`, `${prefix}people:5`]);
    assert.deepEqual(await redis.hgetall(`${prefix}people:3`), { id: '3', name: 'Linus T.' });
    // No staging key is left behind.
    assert.deepEqual((await keysOf(redis, prefix)).filter((k) => k.includes('_sluice_stage')), []);

    // write: replace itself, with a row marked deleted left out.
    writeCsv(dir, 'people-1.csv', 'id,name\n7,Edsger\n');
    const third = await run(dir, pipelineYaml(prefix, { write: 'replace' }), { fullRefresh: true });
    assert.equal(third.status, 'success', third.error);
    assert.deepEqual((await keysOf(redis, prefix)).filter((k) => !k.includes('_sluice_')), [`${prefix}people:7`]);
  });
});

test('ttl: keys expire, renewed on every write; the state key does not', async () => {
  await withRedis(async ({ redis, prefix, dir }) => {
    writeCsv(dir, 'people-1.csv', PEOPLE);
    const summary = await run(dir, pipelineYaml(prefix, { ttl: '1h' }));
    assert.equal(summary.status, 'success', summary.error);
    const pttl = await redis.pttl(`${prefix}people:2`);
    assert.ok(pttl > 3_500_000 && pttl <= 3_600_000, `pttl ${pttl}`);
    assert.equal(await redis.pttl(`${prefix}:_sluice_state:redis-test:people`), -1);
    // A replace moves staged rows in and gives them the ttl too.
    const refresh = await run(dir, pipelineYaml(prefix, { ttl: '2h' }), { fullRefresh: true });
    assert.equal(refresh.status, 'success', refresh.error);
    assert.ok(await redis.pttl(`${prefix}people:2`) > 3_600_000);
  });
});

const target = (over: Partial<LoadTarget> = {}): LoadTarget => ({
  pipeline: 'p', stream: 's', table: 't', disposition: 'merge', primaryKey: ['k'], runId: 'run-1', fullRefresh: false, ...over,
});
const state = (n: number): StreamState => ({ version: 1, cursor: { column: 'k', value: n } });

test('a load aborted, or cut off, before its commit leaves no rows and no state', async () => {
  await withRedis(async ({ redis, prefix }) => {
    const dest = await open(prefix);
    try {
      const load = await dest.begin(target());
      await load.evolve(schemaOf([['k', 'integer'], ['v', 'text']]));
      await load.write([[1, 'a'], [2, 'b']]);
      await load.abort();
      assert.deepEqual(await keysOf(redis, prefix), []);

      // The connection dies mid-transaction (a crash): the server discards the queued MULTI.
      const cut = await dest.begin(target());
      await cut.evolve(schemaOf([['k', 'integer'], ['v', 'text']]));
      await cut.write([[3, 'c']]);
      const clients = (await redis.client('LIST')) as string;
      const ids = clients.split('\n').filter((l) => l.includes('flags=x')).map((l) => /id=(\d+)/.exec(l)![1]);
      assert.ok(ids.length >= 1, 'a client in MULTI');
      for (const id of ids) await redis.client('KILL', 'ID', id);
      await assert.rejects(cut.commit(state(3)));
      await cut.abort();
      assert.deepEqual(await keysOf(redis, prefix), []);
      assert.equal(await dest.readState('p', 's'), undefined);

      // A commit applies rows and state together; a second one carries on from it.
      const ok = await dest.begin(target());
      await ok.evolve(schemaOf([['k', 'integer'], ['v', 'text']]));
      await ok.write([[1, 'a']]);
      assert.deepEqual(await ok.commit(state(1)), { inserted: 1, updated: 0, deleted: 0 });
      await ok.write([[1, 'b'], [2, 'c']]);
      assert.deepEqual(await ok.finish(state(2)), { inserted: 1, updated: 1, deleted: 0 });
      assert.deepEqual((await dest.readState('p', 's'))?.cursor, { column: 'k', value: 2 });
    } finally {
      await dest.close();
    }
  });
});

test('a second writer of the same stream fails at EXEC instead of interleaving', async () => {
  await withRedis(async ({ redis, prefix }) => {
    const dest = await open(prefix);
    try {
      const a = await dest.begin(target());
      await a.evolve(schemaOf([['k', 'integer']]));
      await a.write([[1]]);
      // Someone else commits the stream's state while `a` has its transaction open.
      await redis.set(`${prefix}:_sluice_state:p:s`, JSON.stringify({ version: 9, run_id: 'other', committed_at: '', state: state(9) }));
      await assert.rejects(a.commit(state(1)), /changed while this run was loading it/);
      await a.abort();
      assert.equal(await redis.exists(`${prefix}t:1`), 0);
    } finally {
      await dest.close();
    }
  });
});

test('hostile keys and values round-trip, and keys with `:` do not collide', async () => {
  await withRedis(async ({ redis, prefix }) => {
    const hostile = ['a:b', '*', 'line\nbreak', 'ünïcødé ✓ 🚀', 'nul\0byte', '%3A', '[x]?\\'];
    for (const format of ['hash', 'json'] as const) {
      const table = `tab:${format}`;
      const dest = await open(prefix, { format });
      try {
        const load = await dest.begin(target({ table, primaryKey: ['a', 'b'] }));
        await load.evolve(schemaOf([['a', 'text'], ['b', 'text'], ['v', 'text'], ['j', 'json']]));
        const rows = [
          ...hostile.map((h, i) => [h, String(i), `${h}!`, JSON.stringify({ h })]),
          ['x:y', 'z', 'first', null], ['x', 'y:z', 'second', null],
        ];
        await load.write(rows);
        await load.finish(state(1));
        const back = (await collect(dest.readTable(table, ['a', 'b', 'v']))).flat();
        const sort = (r: Record<string, unknown>[]) => r.map((x) => JSON.stringify([x.a, x.b, x.v])).sort();
        assert.deepEqual(sort(back), sort(rows.map(([a, b, v]) => ({ a, b, v }))));
        assert.equal(await redis.exists(`${prefix}tab%3A${format}:x%3Ay:z`), 1);
        assert.equal(await redis.exists(`${prefix}tab%3A${format}:x:y%3Az`), 1);
        assert.equal(await redis.exists(`${prefix}tab%3A${format}:nul\0byte:4`), 1);
      } finally {
        await dest.close();
      }
    }
  });
});

test('a password never appears in errors', async () => {
  await withRedis(async ({ prefix, dir }) => {
    const secret = 'hunter2-Sup3rSecret';
    const dest = await redisDestinationSpec.create(redisDestinationSpec.config.parse({ url: `redis://app:${secret}@127.0.0.1:6390/0`, key_prefix: prefix }) as RedisConfig);
    const err = await dest.connect(runContext(dir)).then(() => undefined, (e: unknown) => e as Error);
    assert.ok(err, 'connecting to a closed port fails');
    assert.match(err.message, /cannot connect to Redis at redis:\/\/app:\*\*\*@127\.0\.0\.1:6390/);
    assert.ok(!err.message.includes(secret), err.message);
    assert.ok(!String(err.stack).includes(secret));

    writeCsv(dir, 'people-1.csv', PEOPLE);
    const yaml = pipelineYaml(prefix).replace(`url: ${URL}`, `url: redis://app:${secret}@127.0.0.1:6390/0`);
    const summary = await run(dir, yaml);
    assert.equal(summary.status, 'failed');
    assert.ok(!JSON.stringify(summary).includes(secret), summary.error);
  });
});

test('validation: every stream needs a primary_key, and scd2 is refused', async () => {
  await withRedis(async ({ prefix, dir }) => {
    assert.throws(() => parsePipeline(pipelineYaml(prefix, { pk: '', write: 'append' }), { baseDir: dir, file: join(dir, 'p.yaml') }),
      (e: Error) => /p\.yaml:6:\d+ sources\[0\]\.streams\[0\]\.name destination `redis` stores each row under its key: stream `people` needs a `primary_key`/.test(String(e)));
    assert.throws(() => parsePipeline(pipelineYaml(prefix, { write: 'scd2' }), { baseDir: dir }),
      /destination `redis` does not support `write: scd2` \(supported: append, replace, merge\)/);
  });
});
