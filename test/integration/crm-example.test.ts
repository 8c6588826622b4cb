// examples/crm-to-warehouse run as its README says, on a copy: day 1, day 2 (SCD2 history), a broken export blocked
// by the gate, then the fixed export.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { duckQuery, repoRoot, sluice, tempDir } from '../helpers.js';

const example = join(repoRoot, 'examples', 'crm-to-warehouse');

test('crm-to-warehouse: scd2 customers, derived orders, a gate that blocks a bad export', async () => {
  const { dir, cleanup } = tempDir('sluice-crm-');
  try {
    cpSync(example, dir, { recursive: true, filter: (src) => !src.includes('.sluice') });
    const home = join(dir, '.sluice');
    const warehouse = join(home, 'warehouse.duckdb');
    const run = async () => {
      const r = await sluice(['run', join(dir, 'pipeline.yaml'), '--json'], { home });
      const s = JSON.parse(r.stdout);
      for (const c of Object.values(s.streams) as { extracted: number; loaded: number; dead_lettered: number; filtered: number }[]) {
        assert.equal(c.extracted, c.loaded + c.dead_lettered + c.filtered, JSON.stringify(c));
      }
      return { code: r.code, s, stderr: r.stderr };
    };
    const copy = (from: string) => {
      for (const f of readdirSync(join(dir, from))) cpSync(join(dir, from, f), join(dir, 'crm', f));
    };

    const day1 = await run();
    assert.equal(day1.code, 3, day1.stderr);
    assert.deepEqual([day1.s.streams.customers.loaded, day1.s.streams.orders.loaded, day1.s.streams.orders.dead_lettered], [6, 8, 1]);
    assert.equal(typeof day1.s.quality.score, 'number');
    const order = (await duckQuery(warehouse, 'SELECT order_total, discount_amount, final_amount, customer_segment FROM orders WHERE order_id = 1004'))[0];
    assert.deepEqual([order.order_total, order.discount_amount, order.final_amount, order.customer_segment], [899, 44.95, 854.05, 'gold']);
    const emailWarn = day1.s.quality.streams.customers.checks.find((c: { check: string }) => c.check === 'regex(email)');
    assert.equal(emailWarn.failed, 1);

    copy('next');
    const day2 = await run();
    assert.equal(day2.code, 0, day2.s.error);
    const alan = await duckQuery(warehouse, 'SELECT country, segment, is_current FROM customers WHERE customer_id = 3 ORDER BY valid_from');
    assert.deepEqual(alan.map((r) => [r.country, r.segment, r.is_current]), [['GB', 'bronze', false], ['US', 'silver', true]]);
    const grace = await duckQuery(warehouse, 'SELECT count(*)::INT AS n FROM customers WHERE customer_id = 2');
    assert.equal(grace[0].n, 1, 'an unchanged customer keeps one version');
    assert.equal((await duckQuery(warehouse, 'SELECT count(*)::INT AS n FROM orders'))[0].n, 11);

    copy('bad');
    const bad = await run();
    assert.equal(bad.code, 1);
    assert.match(bad.s.error, /load blocked by check unique\(order_id\): 3 of 8 rows \(37\.50%\), threshold 1%/);
    assert.match(bad.s.error, /staging kept in .*orders__sluice_staged/);
    assert.equal((await duckQuery(warehouse, 'SELECT count(*)::INT AS n FROM orders'))[0].n, 11, 'nothing of the bad export is visible');

    const file = join(dir, 'crm', 'orders-003.csv');
    writeFileSync(file, [...new Set(readFileSync(file, 'utf8').split('\n'))].join('\n'));
    const fixed = await run();
    assert.equal(fixed.code, 0, fixed.s.error);
    assert.equal((await duckQuery(warehouse, 'SELECT count(*)::INT AS n FROM orders'))[0].n, 16);
  } finally {
    cleanup();
  }
});
