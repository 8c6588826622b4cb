// The draft-prospects example as a user runs it, on the real files: four providers resolved into one record per
// player in the embedded DuckDB. Named cases from the data: the two Kevin Whites of 2015 (a WR from West Virginia, a
// CB from TCU) stay two, each joined by its own NFL, PFF and Yahoo records; D'Brickashaw Ferguson, spelled
// "DBrickashaw" by the NFL file, is one player in all four; no player holds two records of one source; and a second
// run gives every record the id it had.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
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

    const doubled = await q(`SELECT prospect_id, source, count(*) AS n FROM prospect_sources GROUP BY prospect_id, source HAVING count(*) > 1`);
    assert.deepEqual(doubled, [], 'no player holds two records of one source');

    const second = await sluice(['run', file, '--json'], { home });
    assert.equal(second.code, 0, second.stderr);
    const after = await ids();
    assert.equal(after.size, before.size);
    let moved = 0;
    for (const [k, id] of before) if (after.get(k) !== id) moved++;
    assert.equal(moved, 0, 'every record keeps its id');
  } finally {
    cleanup();
  }
});
