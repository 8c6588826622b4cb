// examples/lake from a fresh clone's point of view: a local S3-compatible server, the events written into a
// day-partitioned Parquet lake, `sluice lake` over it, and the lake read back into the embedded warehouse.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoRoot, sluice, tempDir } from '../helpers.js';
import { startS3Server, type S3Server } from '../support/s3-server.js';

describe('examples/lake', () => {
  let server: S3Server;
  before(async () => {
    server = await startS3Server({ buckets: ['lake'] });
  });
  after(() => server.close());

  it('writes the partitioned lake, queries it, and reads it back', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const home = join(dir, 'home');
      const env = { ...server.env, SLUICE_S3_ENDPOINT: server.endpoint, LAKE_PREFIX: 'test-web' };
      const write = await sluice(['run', join(repoRoot, 'examples', 'lake', 'pipeline.yaml'), '--json'], { home, env });
      assert.equal(write.code, 0, write.stderr);
      assert.equal(JSON.parse(write.stdout).streams.events.loaded, 1200);

      const summary = await sluice(['lake', join(repoRoot, 'examples', 'lake', 'pipeline.yaml'), '--json'], { home, env });
      assert.equal(summary.code, 0, summary.stderr);
      const tables = JSON.parse(summary.stdout) as { rows: { table: string; rows: number; parts: number; partition_by: string }[] };
      assert.deepEqual(tables.rows.map((t) => [t.table, t.rows, t.parts, t.partition_by]), [['events', 1200, 9, 'event_date']]);
      const days = await sluice(['lake', join(repoRoot, 'examples', 'lake', 'pipeline.yaml'),
        'SELECT event_date::VARCHAR AS d, count(*)::INT AS n, typeof(any_value(amount)) AS t FROM events GROUP BY 1 ORDER BY 1', '--json'], { home, env });
      const byDay = JSON.parse(days.stdout) as { rows: { d: string; n: number; t: string }[] };
      assert.equal(byDay.rows.length, 9);
      assert.deepEqual(byDay.rows[0], { d: '2026-11-24', n: 136, t: 'DECIMAL(10,2)' });

      const back = await sluice(['run', join(repoRoot, 'examples', 'lake', 'read-back.yaml'), '--json'], { home, env });
      assert.equal(back.code, 0, back.stderr);
      assert.equal(JSON.parse(back.stdout).streams.events_from_lake.loaded, 1200);
      const again = await sluice(['run', join(repoRoot, 'examples', 'lake', 'read-back.yaml'), '--json'], { home, env });
      assert.equal(JSON.parse(again.stdout).streams.events_from_lake.extracted, 0, 'unchanged objects are not read again');

      const { DuckDBInstance } = await import('@duckdb/node-api');
      const db = await DuckDBInstance.create(join(home, 'warehouse.duckdb'));
      const conn = await db.connect();
      try {
        const r = await conn.runAndReadAll(`SELECT count(*)::INT AS n, count(DISTINCT event_id)::INT AS ids, typeof(any_value(event_date)) AS t,
          min(event_date)::VARCHAR AS first, count(*) FILTER (WHERE event_date = DATE '2026-12-02')::INT AS last_day FROM events_from_lake`);
        assert.deepEqual(r.getRowObjectsJson(), [{ n: 1200, ids: 1200, t: 'DATE', first: '2026-11-24', last_day: 84 }]);
      } finally {
        conn.closeSync();
        db.closeSync();
      }
    } finally {
      cleanup();
    }
  });
});
