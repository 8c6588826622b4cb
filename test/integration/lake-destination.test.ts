// The files destination as a lake: Hive-style partitions, compression and part sizes on local disk, and the same on
// a real S3-compatible server on loopback — parts staged, copied and listed by a manifest written last; a crash's
// leftovers swept; `replace` swapping the manifest; SIGKILL in the middle of a load and a re-run: every row once.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import type { Destination, LoadTarget } from '../../src/core/connector.js';
import type { StreamState, WriteDisposition } from '../../src/core/types.js';
import { filesDestinationSpec, type FilesConfig } from '../../src/connectors/files/files-spec.js';
import { LakeReader, lakeViewSql } from '../../src/connectors/files/lake-reader.js';
import { S3Store } from '../../src/connectors/s3/s3-store.js';
import { runContext, schemaOf, sluice, sluiceBin, tempDir } from '../helpers.js';
import { s3ServerForSuite } from '../support/s3-server.js';

const target = (table: string, disposition: WriteDisposition, runId: string, partitionBy?: string[]): LoadTarget => ({
  pipeline: 'p', stream: table, table, disposition, primaryKey: [], runId, fullRefresh: false,
  ...(partitionBy ? { partitionBy } : {}),
});
const state = (n: number): StreamState => ({ version: 1, cursor: { column: 'id', value: n } });
const COLS = schemaOf([['id', 'integer'], ['day', 'date'], ['region', 'text'], ['amount', 'double']]);
const rowsFor = (from: number, n: number): unknown[][] => Array.from({ length: n }, (_, k) => {
  const id = from + k;
  return [id, `2026-12-0${1 + (id % 3)}`, id % 5 === 0 ? null : ['eu/west', 'us=east', 'ap south'][id % 3], id * 1.5];
});

async function openDest(dir: string, config: Record<string, unknown>): Promise<Destination> {
  const dest = await filesDestinationSpec.create(filesDestinationSpec.config.parse(config) as FilesConfig);
  await dest.connect(runContext(dir));
  return dest;
}

/** Query the committed tables the way `sluice lake` does. */
async function query(dir: string, config: Record<string, unknown>, sql: string): Promise<Record<string, unknown>[]> {
  const reader = await LakeReader.open(config as Partial<FilesConfig>, dir, join(dir, 'home'));
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    for (const t of await reader.tables()) await conn.run(lakeViewSql(t));
    return (await conn.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    conn.closeSync();
    db.closeSync();
    reader.close();
  }
}

describe('files destination as a lake', () => {
  /** What the server does on each request (the SIGKILL test kills the run mid-upload from here). */
  let onRequest: ((method: string, path: string) => void | Promise<void>) | undefined;
  const s3 = s3ServerForSuite({ buckets: ['lake', 'locked'], readOnly: ['locked'], onRequest: (m, p) => onRequest?.(m, p) });
  const s3Config = (prefix: string, more: Record<string, unknown> = {}) => ({
    path: `s3://lake/${prefix}`, s3: { endpoint: s3().endpoint, path_style: true }, ...more,
  });
  const keys = async (prefix: string): Promise<string[]> => {
    const store = await S3Store.open('lake', { endpoint: s3().endpoint, path_style: true });
    const out: string[] = [];
    for await (const o of store.list(prefix)) out.push(o.key);
    store.close();
    return out.sort();
  };

  it('partitions by column on local disk, Hive-style, with the values escaped and NULL in the default partition', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const config = { path: 'out', format: 'parquet' };
      const dest = await openDest(dir, config);
      const load = await dest.begin(target('sales', 'append', 'r1', ['day', 'region']));
      await load.evolve(COLS);
      await load.write(rowsFor(1, 30));
      await load.finish(state(30));
      await dest.close();
      const m = JSON.parse(readFileSync(join(dir, 'out', 'sales', '_manifest.json'), 'utf8'));
      assert.deepEqual(m.partition_by, ['day', 'region']);
      const paths: string[] = m.files.map((f: { path: string }) => f.path).sort();
      assert.ok(paths.some((p) => /^day=2026-12-01\/region=eu%2Fwest\/part-r1-\d{5}\.parquet$/.test(p)), paths.join('\n'));
      assert.ok(paths.some((p) => p.startsWith('day=2026-12-02/region=us%3Deast/part-r1-')));
      assert.ok(paths.some((p) => p.startsWith('day=2026-12-03/region=ap%20south/')));
      assert.ok(paths.some((p) => p.includes('region=__HIVE_DEFAULT_PARTITION__/')));
      for (const f of m.files) assert.deepEqual(f.columns.map((c: { name: string }) => c.name), ['id', 'amount'], 'partition columns are not inside the files');
      assert.ok(existsSync(join(dir, 'out', 'sales', paths[0])));
      const rows = await query(dir, config, `SELECT count(*)::INT AS n, count(DISTINCT id)::INT AS ids, count(*) FILTER (WHERE region IS NULL)::INT AS nulls,
        min(day)::VARCHAR AS first, typeof(any_value(day)) AS t, sum(amount) AS total FROM sales`);
      assert.deepEqual(rows, [{ n: 30, ids: 30, nulls: 6, first: '2026-12-01', t: 'DATE', total: 697.5 }]);
      const back = await query(dir, config, "SELECT id FROM sales WHERE region = 'eu/west' ORDER BY id LIMIT 2");
      assert.deepEqual(back, [{ id: 3 }, { id: 6 }]);
    } finally {
      cleanup();
    }
  });

  it('gzips CSV parts and starts a new part at target_file_size', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const config = { path: 'out', format: 'csv', compression: 'gzip', target_file_size: 2000 };
      const dest = await openDest(dir, config);
      const load = await dest.begin(target('events', 'append', 'r1'));
      await load.evolve(COLS);
      for (let i = 0; i < 10; i++) await load.write(rowsFor(1 + i * 50, 50));
      await load.finish(state(500));
      await dest.close();
      const m = JSON.parse(readFileSync(join(dir, 'out', 'events', '_manifest.json'), 'utf8'));
      assert.ok(m.files.length >= 3, `several parts (${m.files.length})`);
      assert.ok(m.files.every((f: { path: string }) => f.path.endsWith('.csv.gz')));
      const text = gunzipSync(readFileSync(join(dir, 'out', 'events', m.files[0].path))).toString();
      assert.match(text, /^id,day,region,amount\r\n1,2026-12-02,/);
      assert.deepEqual(await query(dir, config, 'SELECT count(*)::INT AS n FROM events'), [{ n: 500 }]);
      await assert.rejects(openDest(dir, { path: 'out', format: 'csv', compression: 'zstd' }), /csv parts take compression none, gzip/);
    } finally {
      cleanup();
    }
  });

  it('writes partitioned Parquet to S3: staged parts published by the manifest, leftovers swept, replace swapped', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const config = s3Config('warehouse', { target_file_size: '64MB' });
      const dest = await openDest(dir, config);
      const load = await dest.begin(target('sales', 'append', 'r1', ['day']));
      await load.evolve(COLS);
      await load.write(rowsFor(1, 30));
      assert.deepEqual(await load.commit(state(30)), { inserted: 30, updated: 0, deleted: 0 });
      await load.write(rowsFor(31, 30));
      // Written and staged but not committed: invisible to a manifest reader, and only under _staging/.
      const mid = await keys('warehouse/sales/');
      assert.ok(mid.some((k) => k.startsWith('warehouse/sales/_staging/r1/') || !k.includes('_staging')));
      await load.abort();
      await dest.close();
      assert.deepEqual(await query(dir, config, 'SELECT count(*)::INT AS n FROM sales'), [{ n: 30 }]);
      const after1 = await keys('warehouse/sales/');
      assert.ok(after1.includes('warehouse/sales/_manifest.json'));
      assert.ok(after1.filter((k) => k.endsWith('.parquet')).every((k) => /^warehouse\/sales\/day=2026-12-0[123]\/part-r1-\d{5}\.parquet$/.test(k)), after1.join('\n'));
      assert.ok(!after1.some((k) => k.includes('_staging')), 'an aborted load leaves no staging');

      // A crash's leftovers (a copied part the manifest never listed, a staging object): the next load sweeps them.
      const store = await S3Store.open('lake', { endpoint: s3().endpoint, path_style: true });
      const junk = join(dir, 'junk.parquet');
      writeFileSync(junk, 'not a committed part');
      await store.upload('warehouse/sales/day=2026-12-09/part-crashed-00001.parquet', junk);
      await store.upload('warehouse/sales/_staging/crashed/day=2026-12-09/part-crashed-00002.parquet', junk);
      store.close();
      const dest2 = await openDest(dir, config);
      const load2 = await dest2.begin(target('sales', 'replace', 'r2', ['day']));
      await load2.evolve(COLS);
      await load2.write(rowsFor(100, 9));
      await load2.finish(state(109));
      await dest2.close();
      const after2 = await keys('warehouse/sales/');
      assert.ok(!after2.some((k) => k.includes('crashed')), 'leftovers swept');
      assert.ok(after2.filter((k) => k.endsWith('.parquet')).every((k) => k.includes('/part-r2-')), 'replace removed the old parts');
      assert.deepEqual(await query(dir, config, 'SELECT count(*)::INT AS n, min(id) AS lo FROM sales'), [{ n: 9, lo: 100 }]);
      const stateBack = await (await openDest(dir, config)).readState('p', 'sales');
      assert.deepEqual(stateBack, state(109));
    } finally {
      cleanup();
    }
  });

  it('a gated load (staged) shows nothing until it finishes, and nothing at all when it is aborted', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const config = s3Config('gated');
      const dest = await openDest(dir, config);
      const first = await dest.begin(target('t', 'append', 'r1', ['day']));
      await first.evolve(COLS);
      await first.write(rowsFor(1, 10));
      await first.finish(state(10));
      const gated = { ...target('t', 'append', 'r2', ['day']), staged: true };
      const blocked = await dest.begin(gated);
      await blocked.evolve(COLS);
      await blocked.write(rowsFor(11, 10));
      assert.deepEqual(await blocked.commit(state(20)), { inserted: 0, updated: 0, deleted: 0 });
      assert.deepEqual(await query(dir, config, 'SELECT count(*)::INT AS n FROM t'), [{ n: 10 }], 'a checkpoint of a gated load publishes nothing');
      await blocked.abort();
      assert.deepEqual(await query(dir, config, 'SELECT count(*)::INT AS n FROM t'), [{ n: 10 }]);
      const passed = await dest.begin({ ...gated, runId: 'r3' });
      await passed.evolve(COLS);
      await passed.write(rowsFor(21, 10));
      await passed.commit(state(30));
      assert.deepEqual(await passed.finish(state(30)), { inserted: 10, updated: 0, deleted: 0 });
      await dest.close();
      assert.deepEqual(await query(dir, config, 'SELECT count(*)::INT AS n, max(id) AS hi FROM t'), [{ n: 20, hi: 30 }]);
      assert.ok(!(await keys('gated/')).some((k) => k.includes('_staging')));
    } finally {
      cleanup();
    }
  });

  it('refuses merge, a changed partition layout, and says when the bucket denies writes or is missing', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const dest = await openDest(dir, s3Config('refusals'));
      await assert.rejects(dest.begin(target('t', 'merge', 'r1')), /supports write: append and replace, not merge/);
      const first = await dest.begin(target('t', 'append', 'r1', ['day']));
      await first.evolve(COLS);
      await first.write(rowsFor(1, 3));
      await first.finish(state(3));
      await assert.rejects(dest.begin(target('t', 'append', 'r2', ['region'])), /is partitioned by \[day\], and the stream asks for \[region\]/);
      await assert.rejects(dest.begin(target('t', 'append', 'r2')), /is partitioned by \[day\], and the stream asks for no partitions/);
      const missingColumn = await dest.begin(target('u', 'append', 'r2', ['nope']));
      await assert.rejects(missingColumn.evolve(COLS), /partition_by names "nope", which the stream has no column for/);
      await dest.close();
      await assert.rejects(openDest(dir, { path: 's3://absent/x', s3: { endpoint: s3().endpoint, path_style: true } }), /bucket "absent" does not exist/);
      const locked = await openDest(dir, { path: 's3://locked/x', s3: { endpoint: s3().endpoint, path_style: true } });
      const load = await locked.begin(target('t', 'append', 'r1'));
      await load.evolve(COLS);
      await load.write(rowsFor(1, 3));
      await assert.rejects(load.finish(state(3)), /cannot write s3:\/\/locked\/x\/t\/_staging\/r1\/part-r1-00001\.parquet at .*: access denied/);
      await locked.close();
    } finally {
      cleanup();
    }
  });

  // The engine's path commits every 5,000 rows: killed during the third checkpoint's upload. Handed to DuckDB whole, the
  // file is one commit: killed during its first part's upload, nothing committed.
  for (const { path, handOff, commitsFirst } of [
    { path: 'engine', handOff: 'off', commitsFirst: 2 },
    { path: 'hand-off', handOff: 'on', commitsFirst: 0 },
  ]) {
    it(`SIGKILL mid-upload (${path} path), then a re-run: every row in the lake once`, async () => {
      const { dir, cleanup } = tempDir();
      try {
        const total = 40_000;
        const lines = ['id,day,region,amount'];
        for (let i = 1; i <= total; i++) lines.push(`${i},2026-12-${String(1 + (i % 7)).padStart(2, '0')},r${i % 4},${i}.25`);
        writeFileSync(join(dir, 'events.csv'), `${lines.join('\n')}\n`);
        const prefix = `killed-${path}`;
        const file = join(dir, 'pipeline.yaml');
        writeFileSync(file, `pipeline: lake-kill
checkpoint_rows: 5000
sources:
  - name: files
    type: csv
    streams:
      - name: events
        path: events.csv
        columns: { day: date }
        partition_by: [day]
destination:
  type: files
  path: s3://lake/${prefix}
  ${s3().yaml}
`);
        const home = join(dir, 'home');
        const env = { ...process.env, ...s3().env, SLUICE_HOME: home, SLUICE_HANDOFF: handOff, SLUICE_HANDOFF_MIN_BYTES: '0' };
        let out = '';
        const killed = await new Promise<{ signal: NodeJS.Signals | null; manifests: number }>((resolve) => {
          const child = spawn(process.execPath, [sluiceBin, 'run', file], { env, stdio: ['ignore', 'pipe', 'pipe'] });
          let manifests = 0;
          // Once the commits before it are done, the next part upload is held and the run killed while it is in flight.
          onRequest = async (method, key) => {
            if (method === 'PUT' && key.endsWith('/_manifest.json')) manifests++;
            if (manifests >= commitsFirst && method === 'PUT' && key.includes('/_staging/') && child.exitCode === null && child.signalCode === null) {
              child.kill('SIGKILL');
              await new Promise((r) => setTimeout(r, 100));
            }
          };
          child.stdout.on('data', (d: Buffer) => (out += d.toString()));
          child.stderr.on('data', (d: Buffer) => (out += d.toString()));
          child.on('exit', (_code, signal) => resolve({ signal, manifests }));
        });
        onRequest = undefined;
        assert.equal(killed.signal, 'SIGKILL', `the first run was killed mid-upload, not finished:\n${out.slice(-2000)}`);
        assert.equal(killed.manifests, commitsFirst);
        const before = await query(dir, s3Config(prefix), 'SELECT count(*)::INT AS n FROM events').catch(() => [{ n: 0 }]);
        assert.ok((before[0].n as number) >= commitsFirst * 5000 && (before[0].n as number) < total, `a part of the rows was committed (${before[0].n})`);
        const rerun = await sluice(['run', file, '--json'], { home, env: { ...s3().env, SLUICE_HANDOFF: handOff, SLUICE_HANDOFF_MIN_BYTES: '0' } });
        assert.equal(rerun.code, 0, rerun.stderr);
        const rows = await query(dir, s3Config(prefix), `SELECT count(*)::INT AS n, count(DISTINCT id)::INT AS ids, sum(id)::BIGINT::VARCHAR AS s,
          count(DISTINCT day)::INT AS days FROM events`);
        assert.deepEqual(rows, [{ n: total, ids: total, s: String((total * (total + 1)) / 2), days: 7 }]);
        const left = await keys(`${prefix}/`);
        assert.ok(!left.some((k) => k.includes('_staging')), 'no staging left after the re-run');
        const lake = await sluice(['lake', file, 'SELECT day, count(*) AS n FROM events GROUP BY day ORDER BY day LIMIT 2', '--json'], { home, env: s3().env });
        assert.equal(lake.code, 0, lake.stderr);
        const result = JSON.parse(lake.stdout) as { columns: string[]; rows: { day: string; n: number }[] };
        assert.deepEqual(result.columns, ['day', 'n']);
        assert.equal(result.rows[0].day, '2026-12-01');
        // Handed to DuckDB, the file made one part per day; the engine's path, one per day and checkpoint.
        const tables = JSON.parse((await sluice(['lake', file, '--json'], { home, env: s3().env })).stdout) as { rows: { parts: number }[] };
        if (handOff === 'on') assert.equal(tables.rows[0].parts, 7);
        else assert.ok(tables.rows[0].parts > 7 * 4, `parts per checkpoint (${tables.rows[0].parts})`);
      } finally {
        cleanup();
      }
    });
  }
});
