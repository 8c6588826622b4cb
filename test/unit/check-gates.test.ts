// StreamQuality: severities, thresholds, gates and the metrics behind the score.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CheckConfig } from '../../src/quality/check.js';
import { thresholdSchema } from '../../src/quality/measures.js';
import { runScore, score } from '../../src/quality/metrics.js';
import { StreamQuality } from '../../src/quality/stream-quality.js';
import type { Column } from '../../src/core/types.js';

const columns: Column[] = ['id', 'v'].map((name) => ({ name, type: 'integer', nullable: true }));
const env = { pipeline: 'p', stream: 's', targetTable: 's', targetColumn: (c: string) => c, targetKept: true };

async function run(checks: CheckConfig[], rows: unknown[][]) {
  const q = new StreamQuality(checks, env);
  await q.prepare();
  q.bind(columns);
  const reasons = rows.map((r) => q.row(r));
  const loaded = reasons.filter((r) => r === undefined).length;
  return { q, reasons, report: await q.finish(loaded) };
}

const t = (v: unknown) => thresholdSchema.parse(v);

test('severity error rejects the row with every failing error check; warn and info only count', async () => {
  const { reasons, report, q } = await run([
    { kind: 'not_null', options: ['v'], severity: 'error' },
    { kind: 'range', options: { column: 'v', min: 0, exclusive: false }, severity: 'warn' },
    { kind: 'range', options: { column: 'id', max: 1, exclusive: false }, severity: 'error' },
  ], [[1, 5], [2, null], [1, -1]]);
  assert.equal(reasons[0], undefined);
  assert.match(reasons[1]!, /not_null\(v\).*"v" is null; check range\(id\) failed/);
  assert.equal(reasons[2], undefined, 'a warn failure loads');
  assert.deepEqual(report.checks.map((c) => c.failed), [1, 1, 1]);
  assert.equal(q.gated, false);
  assert.equal(report.blocked, undefined);
  assert.equal(report.validity, 0.333333);
});

test('a threshold makes a gate: above it blocks, at or below it passes', async () => {
  const unique = (threshold: unknown): CheckConfig => ({ kind: 'unique', options: { columns: ['id'], target: false }, severity: 'error', threshold: t(threshold) });
  const rows = [[1, 1], [1, 1], [2, 1], [3, 1]];
  const over = await run([unique('20%')], rows);
  assert.ok(over.q.gated);
  assert.match(over.report.blocked!, /unique\(id\): 1 of 4 rows \(25\.00%\), threshold 20%/);
  assert.equal((await run([unique('25%')], rows)).report.blocked, undefined);
  assert.equal((await run([unique(1)], rows)).report.blocked, undefined);
  assert.match((await run([unique(0)], rows)).report.blocked!, /1 rows, threshold 0/);
  // A warn threshold does not block: it warns.
  const warn = await run([{ ...unique('20%'), severity: 'warn' }], rows);
  assert.equal(warn.q.gated, false);
  assert.equal(warn.report.blocked, undefined);
  assert.match(warn.report.warnings![0], /threshold 20%/);
});

test('dataset checks of severity error gate; of severity warn warn', async () => {
  const err = await run([{ kind: 'row_count', options: { min: 5 }, severity: 'error' }], [[1, 1]]);
  assert.ok(err.q.gated);
  assert.match(err.report.blocked!, /row_count: 1 rows, min 5/);
  const warn = await run([{ kind: 'row_count', options: { min: 5 }, severity: 'warn' }], [[1, 1]]);
  assert.equal(warn.q.gated, false);
  assert.equal(warn.report.blocked, undefined);
  assert.equal(warn.report.warnings?.length, 1);
});

test('thresholds: percentages and counts; anything else is invalid', () => {
  assert.deepEqual(t('1%'), { ratio: 0.01, text: '1%' });
  assert.deepEqual(t('0.5 %'), { ratio: 0.005, text: '0.5%' });
  assert.deepEqual(t(25), { count: 25, text: '25' });
  assert.throws(() => t('1 percent'));
  assert.throws(() => t(-1));
});

test('metrics and score: completeness over checked columns, consistency from unique, the weighted formula', async () => {
  const { report } = await run([
    { kind: 'not_null', options: ['v'], severity: 'warn' },
    { kind: 'unique', options: { columns: ['id'], target: false }, severity: 'warn' },
  ], [[1, 1], [2, null], [1, 3], [3, 4]]);
  assert.equal(report.completeness, 7 / 8);
  assert.equal(report.validity, 0.5);
  assert.equal(report.consistency, 0.75);
  assert.equal(report.timeliness, null);
  // (0.4·0.5 + 0.25·0.875 + 0.2·0.75) / 0.85
  assert.equal(report.score, Math.round(1000 * (0.4 * 0.5 + 0.25 * 0.875 + 0.2 * 0.75) / 0.85) / 10);
  assert.equal(score({ completeness: 1, validity: 1, consistency: 1, timeliness: 1 }), 100);
  assert.equal(score({ completeness: null, validity: null, consistency: null, timeliness: null }), null);
  assert.equal(score({ completeness: null, validity: 0.5, consistency: null, timeliness: null }), 50);
  assert.equal(runScore([80, null, 90]), 85);
  assert.equal(runScore([null]), null);
});

test('checks rebind when the stream gains columns', async () => {
  const q = new StreamQuality([{ kind: 'not_null', options: ['late'], severity: 'error' }], env);
  q.bind(columns);
  assert.match(q.row([1, 1])!, /"late" is null/);
  q.bind([...columns, { name: 'late', type: 'text', nullable: true }]);
  assert.equal(q.row([1, 1, 'x']), undefined);
});

test('a check on a column the stream does not have is reported as a warning', async () => {
  const { report } = await run([
    { kind: 'range', options: { column: 'totl', min: 0, exclusive: false }, severity: 'error' },
    { kind: 'not_null', options: ['id'], severity: 'error' },
  ], [[1, 1]]);
  assert.deepEqual(report.warnings, ['check range(totl): the stream has no column "totl"']);
  const empty = await run([{ kind: 'range', options: { column: 'totl', min: 0, exclusive: false }, severity: 'error' }], []);
  assert.equal(empty.report.warnings, undefined, 'no rows: no columns known yet');
});
