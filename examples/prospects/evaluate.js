// How well the pipeline matched, against truths that do not come from names: after `sluice run
// examples/prospects/pipeline.yaml`, `node examples/prospects/evaluate.js [warehouse.duckdb]` prints precision and
// recall of the crosswalk (prospect_sources) for each pair of sources where something independent can check it:
// - CFR ↔ PFF: exact. PFF is made from CFR by generate-pff.js, which derives each PFF id from its CFR row.
// - CFR ↔ Yahoo: the draft slot. The same draft year and overall pick is the same player (CFR's pick numbers have a
//   few errors of their own, so this truth is slightly too harsh).
// - CFR ↔ NFL: the body. A joined pair whose weight differs by more than 10 lb and height by more than 1.5 in is a
//   false match; an unjoined NFL record with a CFR record of its year of the same weight, height within an inch and a
//   similar name (Jaro–Winkler ≥ 0.85) is a likely miss. Estimates, both ways.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import process from 'node:process';
import { DuckDBInstance } from '@duckdb/node-api';
import { jaroWinkler } from '../../dist/src/transforms/entity/similarity.js';
import { normalizeName } from '../../dist/src/transforms/entity/normalize.js';

const file = process.argv[2] ?? join(process.env.SLUICE_HOME ?? '.sluice', 'warehouse.duckdb');
const db = await DuckDBInstance.create(file, { access_mode: 'READ_ONLY' });
const conn = await db.connect();
const query = async (sql) => (await conn.runAndReadAll(sql)).getRowObjectsJS();
const records = await query(`SELECT source, source_key, prospect_id, full_name, draft_year, draft_pick, school, weight_lb,
  height_in FROM prospect_sources`);
const of = (source) => records.filter((r) => r.source === source);
const cfrByEntity = new Map(of('cfr').map((r) => [r.prospect_id, r]));
const line = (pair, truth, tp, fp, fn) =>
  process.stdout.write(`${pair.padEnd(13)} ${truth.padEnd(22)} pairs ${String(tp + fn).padStart(5)}  matched ${String(tp).padStart(5)}  `
    + `wrong ${String(fp).padStart(3)}  missed ${String(fn - fp).padStart(3)}  precision ${(tp / (tp + fp)).toFixed(4)}  recall ${(tp / (tp + fn)).toFixed(4)}\n`);

// CFR ↔ PFF
const cfrOfPff = new Map();
for (const r of await query('SELECT source_key, full_name, draft_year, school, position FROM cfr_staging')) {
  cfrOfPff.set(`PFF${createHash('sha256').update(`${r.full_name}:${r.draft_year}:${r.school}:${r.position}`).digest('hex').slice(0, 8)}`, r.source_key);
}
const cfrEntity = new Map(of('cfr').map((r) => [r.source_key, r.prospect_id]));
let [tp, fp, fn] = [0, 0, 0];
for (const p of of('pff')) {
  if (cfrEntity.get(cfrOfPff.get(p.source_key)) === p.prospect_id) tp++;
  else {
    fn++;
    if (cfrByEntity.has(p.prospect_id)) fp++;
  }
}
line('CFR ↔ PFF', 'exact (generated)', tp, fp, fn);

// CFR ↔ Yahoo
const yahooBySlot = new Map(of('yahoo').map((r) => [`${r.draft_year}|${r.draft_pick}`, r]));
[tp, fp, fn] = [0, 0, 0];
for (const c of of('cfr')) {
  const y = c.draft_pick == null ? undefined : yahooBySlot.get(`${c.draft_year}|${c.draft_pick}`);
  if (!y) continue;
  if (y.prospect_id === c.prospect_id) tp++;
  else {
    fn++;
    if (cfrByEntity.has(y.prospect_id)) fp++;
  }
}
line('CFR ↔ Yahoo', 'draft slot', tp, fp, fn);

// CFR ↔ NFL
const cfrByYear = new Map();
for (const c of of('cfr')) cfrByYear.set(c.draft_year, [...(cfrByYear.get(c.draft_year) ?? []), c]);
const measured = (a, b) => a.weight_lb != null && b.weight_lb != null && a.height_in != null && b.height_in != null;
[tp, fp, fn] = [0, 0, 0];
for (const n of of('nfl')) {
  const c = cfrByEntity.get(n.prospect_id);
  if (c) {
    if (measured(c, n) && Math.abs(c.weight_lb - n.weight_lb) > 10 && Math.abs(c.height_in - n.height_in) > 1.5) fp++;
    else tp++;
  } else if ((cfrByYear.get(n.draft_year) ?? []).some((x) => measured(x, n) && Number(x.weight_lb) === Number(n.weight_lb)
    && Math.abs(x.height_in - n.height_in) <= 1 && jaroWinkler(normalizeName(x.full_name), normalizeName(n.full_name)) >= 0.85)) fn++;
}
line('CFR ↔ NFL', 'body (estimate)', tp, fp, fn + fp);
const [{ n }] = await query('SELECT count(*) AS n FROM prospect_core');
process.stdout.write(`${records.length} records, ${n} players\n`);
conn.closeSync();
db.closeSync();
