// The draft-prospects example as a user runs it, on the real files: four providers resolved into one record per
// player in the embedded DuckDB. Named cases from the data: the two Kevin Whites of 2015 (a WR from West Virginia, a
// CB from TCU) stay two, each joined by its own NFL, PFF and Yahoo records; D'Brickashaw Ferguson, spelled
// "DBrickashaw" by the NFL file, is one player in all four; no player holds two records of one source; every staged
// record carries the run that extracted it; data_lineage names, for each golden value, the source record it came
// from; a second run gives every record the id it had; and publish.yaml puts each golden record in Redis.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { duckQuery, repoRoot, sluice, tempDir } from '../helpers.js';

test('examples/prospects: four providers into one golden record per player, with stable ids', async () => {
  const { dir, cleanup } = tempDir();
  const home = join(dir, '.sluice');
  const file = join(repoRoot, 'examples', 'prospects', 'pipeline.yaml');
  const q = (sql: string) => duckQuery(join(home, 'warehouse.duckdb'), sql);
  try {
    const first = await sluice(['run', file, '--json'], { home });
    assert.equal(first.code, 0, first.stderr);
    const s = JSON.parse(first.stdout).streams;
    for (const [name, c] of Object.entries(s) as [string, { extracted: number; loaded: number; dead_lettered: number; filtered: number }][]) {
      assert.equal(c.extracted, c.loaded + c.dead_lettered + c.filtered, `${name}: counts add up`);
    }
    assert.equal(s.yahoo_staging.loaded, 5609, 'each pick once');
    const staged = s.cfr_staging.loaded + s.nfl_staging.loaded + s.yahoo_staging.loaded + s.pff_staging.loaded;
    assert.equal(s.prospect_sources.extracted, staged, 'every staged record is resolved');

    const core = (await q("SELECT column_name FROM information_schema.columns WHERE table_name = 'prospect_core'")).map((r) => r.column_name);
    for (const c of ['prospect_id', 'full_name', 'position', 'school', 'draft_year', 'draft_round', 'draft_pick', 'forty_s', 'forty_s_cfr', 'forty_s_nfl', 'grade_pff', 'sources']) {
      assert.ok(core.includes(c), `prospect_core.${c}`);
    }
    assert.deepEqual((await q('SELECT DISTINCT source FROM prospect_sources ORDER BY source')).map((r) => r.source), ['cfr', 'nfl', 'pff', 'yahoo']);
    // Measurements per source and golden; grades from PFF.
    const players = Number((await q('SELECT count(*) AS n FROM prospect_core'))[0].n);
    assert.equal(s.prospect_measurements.loaded, players + s.cfr_staging.loaded + s.nfl_staging.loaded);
    assert.deepEqual((await q('SELECT DISTINCT source FROM prospect_measurements ORDER BY source')).map((r) => r.source), ['cfr', 'golden', 'nfl']);
    assert.equal(s.prospect_grades.loaded, Number((await q("SELECT count(DISTINCT prospect_id) AS n FROM prospect_sources WHERE source = 'pff'"))[0].n));
    const ids = async () => new Map((await q('SELECT source, source_key, prospect_id FROM prospect_sources'))
      .map((r) => [`${r.source}:${r.source_key}`, String(r.prospect_id)]));
    const before = await ids();

    const whites = await q(`SELECT source, school, position, prospect_id FROM prospect_sources
      WHERE full_name = 'Kevin White' AND draft_year = 2015 ORDER BY source, position`);
    const wr = whites.filter((r) => ['WR'].includes(String(r.position)));
    const cb = whites.filter((r) => ['CB'].includes(String(r.position)));
    assert.deepEqual(new Set(wr.map((r) => r.prospect_id)).size, 1, JSON.stringify(wr));
    assert.deepEqual(new Set(cb.map((r) => r.prospect_id)).size, 1, JSON.stringify(cb));
    assert.notEqual(wr[0].prospect_id, cb[0].prospect_id, 'two players of one name and year stay two');
    assert.deepEqual(wr.map((r) => r.source), ['cfr', 'nfl', 'yahoo']);
    assert.deepEqual(cb.map((r) => r.source), ['cfr', 'nfl', 'pff'], 'TCU, written Texas Christian by two sources');

    const ferguson = await q("SELECT source, full_name, prospect_id FROM prospect_sources WHERE full_name ILIKE '%brickashaw%' ORDER BY source");
    assert.deepEqual(ferguson.map((r) => r.source), ['cfr', 'nfl', 'pff', 'yahoo']);
    assert.ok(ferguson.some((r) => r.full_name === 'DBrickashaw Ferguson'));
    assert.equal(new Set(ferguson.map((r) => r.prospect_id)).size, 1, 'one player, however it is spelled');
    const golden = (await q(`SELECT full_name, school, draft_round, draft_pick, sources FROM prospect_core WHERE prospect_id = '${ferguson[0].prospect_id}'`))[0];
    assert.deepEqual([golden.full_name, golden.school, golden.draft_round, golden.draft_pick, golden.sources], ["D'Brickashaw Ferguson", 'Virginia', 1, 4, 'cfr,nfl,pff,yahoo']);

    // Extraction ids: every staged record is tagged with this run's id, and so is the lineage.
    const runId = JSON.parse(first.stdout).run_id as string;
    for (const t of ['cfr_staging', 'nfl_staging', 'yahoo_staging', 'pff_staging', 'prospect_sources', 'data_lineage']) {
      assert.deepEqual((await q(`SELECT DISTINCT extraction_id FROM ${t}`)).map((r) => r.extraction_id), [runId], t);
    }
    // Lineage: a golden forty time is the NFL's record's when it has one (the declared priority), else CFR's; a draft
    // pick is Yahoo's. One lineage row per golden value that is not null.
    const lineage = async (id: unknown, column: string) => (await q(`SELECT source, source_key, rule FROM data_lineage
      WHERE prospect_id = '${String(id)}' AND "column" = '${column}'`))[0];
    const both = await q(`SELECT n.prospect_id, n.source_key AS nfl_key, n.forty_s AS nfl_forty, c.source_key AS cfr_key
      FROM prospect_sources n JOIN prospect_sources c ON c.prospect_id = n.prospect_id AND c.source = 'cfr'
      WHERE n.source = 'nfl' AND c.forty_s IS NOT NULL ORDER BY n.forty_s IS NULL, n.prospect_id`);
    const withNfl = both.find((r) => r.nfl_forty !== null)!;
    const cfrOnly = both.find((r) => r.nfl_forty === null)!;
    assert.ok(withNfl && cfrOnly, 'the data has both cases');
    assert.deepEqual(await lineage(withNfl.prospect_id, 'forty_s'), { source: 'nfl', source_key: withNfl.nfl_key, rule: 'priority: nfl, cfr' });
    assert.deepEqual(await lineage(cfrOnly.prospect_id, 'forty_s'), { source: 'cfr', source_key: cfrOnly.cfr_key, rule: 'priority: nfl, cfr' });
    assert.equal((await lineage(ferguson[0].prospect_id, 'draft_pick')).source, 'yahoo');
    assert.equal((await lineage(ferguson[0].prospect_id, 'full_name')).source, 'cfr');
    const traced = Number((await q('SELECT count(*) AS n FROM data_lineage'))[0].n);
    const goldenValues = Number((await q(`SELECT sum((draft_year IS NOT NULL)::INT + (full_name IS NOT NULL)::INT + (forty_s IS NOT NULL)::INT
      + (school IS NOT NULL)::INT) AS n FROM prospect_core`))[0].n);
    assert.ok(traced > goldenValues, `${traced} lineage rows for at least ${goldenValues} values`);
    assert.equal(Number((await q(`SELECT count(*) AS n FROM prospect_core c
      WHERE c.forty_s IS NOT NULL AND NOT EXISTS (SELECT 1 FROM data_lineage l WHERE l.prospect_id = c.prospect_id AND l."column" = 'forty_s')`))[0].n), 0);

    const doubled = await q(`SELECT prospect_id, source, count(*) AS n FROM prospect_sources GROUP BY prospect_id, source HAVING count(*) > 1`);
    assert.deepEqual(doubled, [], 'no player holds two records of one source');

    const second = await sluice(['run', file, '--json'], { home });
    assert.equal(second.code, 0, second.stderr);
    const after = await ids();
    assert.equal(after.size, before.size);
    let moved = 0;
    for (const [k, id] of before) if (after.get(k) !== id) moved++;
    assert.equal(moved, 0, 'every record keeps its id');
    assert.equal(Number((await q('SELECT count(*) AS n FROM data_lineage'))[0].n), traced, 'the lineage is replaced with its records, not added to');

    // Publish: each golden record a Redis hash under a prefix of this test's own; twice, the same keys.
    const prefix = `prospects_t_${randomBytes(4).toString('hex')}:`;
    const redis = new Redis(6379, '127.0.0.1');
    try {
      for (let i = 0; i < 2; i++) {
        const pub = await sluice(['run', join(repoRoot, 'examples', 'prospects', 'publish.yaml'), '--json'], { home, env: { PROSPECTS_REDIS_PREFIX: prefix } });
        assert.equal(pub.code, 0, pub.stderr);
        assert.equal((await redis.keys(`${prefix}prospect_core:*`)).length, players, `run ${i + 1}: one key per player`);
      }
      const hash = await redis.hgetall(`${prefix}prospect_core:${ferguson[0].prospect_id}`);
      assert.deepEqual([hash.full_name, hash.school, hash.draft_pick, hash.sources], ["D'Brickashaw Ferguson", 'Virginia', '4', 'cfr,nfl,pff,yahoo']);
    } finally {
      const mine = await redis.keys(`${prefix}*`);
      if (mine.length) await redis.del(...mine);
      redis.disconnect();
    }
  } finally {
    cleanup();
  }
});
