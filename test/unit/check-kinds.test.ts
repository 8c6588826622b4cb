// Each check kind passing and failing on coerced rows (arrays aligned with the stream's columns), compiled from the
// same validated options a pipeline file gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CheckEnv, CompiledCheck } from '../../src/quality/check.js';
import { getCheckSpec } from '../../src/quality/registry.js';

const COLUMNS = ['order_id', 'customer_id', 'total', 'status', 'email', 'updated_at', 'code'];
const resolve = (name: string): number => COLUMNS.indexOf(name);

function env(over: Partial<CheckEnv> = {}): CheckEnv {
  return { pipeline: 'p', stream: 'orders', targetTable: 'orders', targetColumn: (c) => c, targetKept: true, ...over };
}

async function compile(kind: string, options: unknown, over: Partial<CheckEnv> = {}): Promise<CompiledCheck> {
  const spec = getCheckSpec(kind);
  assert.ok(spec, kind);
  const check = spec.compile(spec.options.parse(options), env(over));
  await check.prepare?.();
  return check;
}

/** Reasons of each row (undefined: passes). */
async function reasons(kind: string, options: unknown, rows: unknown[][], over: Partial<CheckEnv> = {}): Promise<(string | undefined)[]> {
  const fn = (await compile(kind, options, over)).row!(resolve);
  return rows.map((r) => fn(r));
}

const row = (o: Partial<Record<(typeof COLUMNS)[number], unknown>>): unknown[] => COLUMNS.map((c) => o[c] ?? null);

async function* batches<T>(...b: T[][]): AsyncIterable<T[]> {
  for (const x of b) yield x;
}

test('not_null: a null in any listed column fails and names the column', async () => {
  const r = await reasons('not_null', ['order_id', 'customer_id'], [row({ order_id: 1, customer_id: 2 }), row({ order_id: 1 })]);
  assert.equal(r[0], undefined);
  assert.match(r[1]!, /column "customer_id" is null/);
  const missing = await reasons('not_null', 'nope', [row({ order_id: 1 })]);
  assert.match(missing[0]!, /"nope" is null/);
});

test('range: bounds, exclusivity, decimal text, timestamps; nulls pass', async () => {
  const r = await reasons('range', { column: 'total', min: 0, max: 10 }, [
    row({ total: 0 }), row({ total: '10.00' }), row({ total: -0.01 }), row({ total: 11n }), row({ total: 'abc' }), row({}),
  ]);
  assert.deepEqual(r.map((x) => x === undefined), [true, true, false, false, false, true]);
  assert.match(r[2]!, /-0\.01 is not >= 0 and <= 10/);
  const ex = await reasons('range', { column: 'total', min: 0, exclusive: true }, [row({ total: 0 }), row({ total: 1 })]);
  assert.deepEqual(ex.map((x) => x === undefined), [false, true]);
  const ts = await reasons('range', { column: 'updated_at', min: '2026-01-01' }, [row({ updated_at: '2025-12-31T00:00:00Z' }), row({ updated_at: '2026-02-01T00:00:00Z' })]);
  assert.deepEqual(ts.map((x) => x === undefined), [false, true]);
});

test('accepted_values: compared as text; others fail with the list', async () => {
  const r = await reasons('accepted_values', { column: 'status', values: ['new', 'paid', 1] }, [row({ status: 'paid' }), row({ status: '1' }), row({ status: 'lost' }), row({})]);
  assert.deepEqual(r.map((x) => x === undefined), [true, true, false, true]);
  assert.match(r[2]!, /"lost" is not one of new, paid, 1/);
});

test('regex: formats email, url, uuid, iso_date, and a pattern', async () => {
  const cases: [unknown, unknown, unknown][] = [
    [{ format: 'email' }, 'a@b.co', 'a@b'],
    [{ format: 'url' }, 'https://x.org/a?b=1', 'ftp:/x'],
    [{ format: 'uuid' }, '123e4567-e89b-12d3-a456-426614174000', '123e4567-e89b-12d3-a456'],
    [{ format: 'iso_date' }, '2026-11-23', '23/11/2026'],
    [{ pattern: '^[A-Z]{3}$' }, 'ABC', 'ABCD'],
  ];
  for (const [opt, good, bad] of cases) {
    const r = await reasons('regex', { column: 'code', ...(opt as object) }, [row({ code: good }), row({ code: bad })]);
    assert.equal(r[0], undefined, JSON.stringify(opt));
    assert.match(r[1]!, /column "code"/, JSON.stringify(opt));
  }
  assert.throws(() => getCheckSpec('regex')!.options.parse({ column: 'c', pattern: 'a', format: 'email' }));
  assert.throws(() => getCheckSpec('regex')!.options.parse({ column: 'c', pattern: '(' }));
});

test('type: values that do not read as the type fail', async () => {
  const r = await reasons('type', { column: 'code', type: 'integer' }, [row({ code: '12' }), row({ code: '1.5' }), row({ code: 'x' })]);
  assert.deepEqual(r.map((x) => x === undefined), [true, false, false]);
});

test('unique within the run: later occurrences fail, null keys pass, composite keys', async () => {
  const r = await reasons('unique', ['order_id'], [row({ order_id: 1n }), row({ order_id: 2n }), row({ order_id: 1n }), row({}), row({})]);
  assert.deepEqual(r.map((x) => x === undefined), [true, true, false, true, true]);
  assert.match(r[2]!, /duplicated in this run/);
  const c = await reasons('unique', ['order_id', 'customer_id'], [row({ order_id: 1, customer_id: 1 }), row({ order_id: 1, customer_id: 2 }), row({ order_id: 1, customer_id: 1 })]);
  assert.deepEqual(c.map((x) => x === undefined), [true, true, false]);
});

test('unique against the target: keys already there fail; a replaced target does not count', async () => {
  const readTable = (table: string, cols: string[]) => {
    assert.equal(table, 'orders');
    assert.deepEqual(cols, ['order_id']);
    return batches([{ order_id: 1 }, { order_id: 2 }], [{ order_id: 3n }]);
  };
  const r = await reasons('unique', { columns: ['order_id'], target: true }, [row({ order_id: 3n }), row({ order_id: 4n })], { readTable });
  assert.match(r[0]!, /already in the target/);
  assert.equal(r[1], undefined);
  const replaced = await reasons('unique', { columns: ['order_id'], target: true }, [row({ order_id: 3 })], { readTable, targetKept: false });
  assert.equal(replaced[0], undefined);
  // No target table yet (a first run): nothing clashes.
  const first = await reasons('unique', { columns: ['order_id'], target: true }, [row({ order_id: 3 })], {
    readTable: () => ({ [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error('Catalog Error: Table with name orders does not exist!')) }) }),
  });
  assert.equal(first[0], undefined);
  assert.equal((await compile('unique', { columns: ['order_id'], target: true }, { readTable })).gate, true);
  assert.ok(!(await compile('unique', ['order_id'])).gate);
});

test('relationships: to another stream and to a table', async () => {
  const readStream = (name: string) => {
    assert.equal(name, 'customers');
    return batches([{ id: '10' }, { id: '11' }]);
  };
  const s = await reasons('relationships', { column: 'customer_id', to: { stream: 'customers', column: 'id' } }, [row({ customer_id: 10 }), row({ customer_id: 12 }), row({})], { readStream });
  assert.deepEqual(s.map((x) => x === undefined), [true, false, true]);
  assert.match(s[1]!, /12 is not in customers\.id/);
  const readTable = () => batches([{ id: 12 }]);
  const t = await reasons('relationships', { column: 'customer_id', to: { table: 'dim_customers', column: 'id' } }, [row({ customer_id: 10 }), row({ customer_id: 12 })], { readTable });
  assert.deepEqual(t.map((x) => x === undefined), [false, true]);
});

test('expression: false fails, null passes, an evaluation error fails with its message', async () => {
  const r = await reasons('expression', "total >= 0 or status = 'refund'", [
    row({ total: 5 }), row({ total: -5, status: 'refund' }), row({ total: -5, status: 'paid' }), row({}),
  ]);
  assert.deepEqual(r.map((x) => x === undefined), [true, true, false, true]);
  assert.match(r[2]!, /is false/);
  const div = await reasons('expression', 'total / customer_id > 1', [row({ total: 1, customer_id: 0 })]);
  assert.match(div[0]!, /division by zero/);
  assert.throws(() => getCheckSpec('expression')!.options.parse('total >>= 1'));
});

test('freshness: the newest value against max_age; no values fails', async () => {
  const now = new Date('2026-11-23T12:00:00Z');
  const check = await compile('freshness', { column: 'updated_at', max_age: '2d' });
  const observe = check.observe!(resolve);
  observe(row({ updated_at: '2026-11-20T00:00:00.000000Z' }));
  observe(row({ updated_at: '2026-11-22T00:00:00.000000Z' }));
  const fresh = await check.verdict!({ rows: 2, now });
  assert.equal(fresh.ok, true);
  assert.equal(fresh.timeliness, 1);
  const stale = await check.verdict!({ rows: 2, now: new Date('2026-11-26T12:00:00Z') });
  assert.equal(stale.ok, false);
  assert.match(stale.measured, /age 4d 12h/);
  assert.ok(stale.timeliness! > 0.4 && stale.timeliness! < 0.5);
  const none = await (await compile('freshness', { column: 'updated_at', max_age: '1h' })).verdict!({ rows: 0, now });
  assert.equal(none.ok, false);
  assert.throws(() => getCheckSpec('freshness')!.options.parse({ column: 'x', max_age: '2 days' }));
  // Without a column: the stream's cursor; without a cursor either, the stream cannot run the check.
  const byCursor = await compile('freshness', { max_age: '1h' }, { cursor: 'updated_at' });
  assert.deepEqual(byCursor.columns, ['updated_at']);
  await assert.rejects(compile('freshness', { max_age: '1h' }), /has no cursor; give the check a `column`/);
});

test('row_count: min and max bounds on loaded rows', async () => {
  const check = await compile('row_count', { min: 1, max: 3 });
  assert.equal((await check.verdict!({ rows: 0, now: new Date() })).ok, false);
  assert.equal((await check.verdict!({ rows: 3, now: new Date() })).ok, true);
  assert.equal((await check.verdict!({ rows: 4, now: new Date() })).ok, false);
  assert.throws(() => getCheckSpec('row_count')!.options.parse({}));
});

test('volume: change against the mean of previous runs; no history passes', async () => {
  const history = async (limit: number) => {
    assert.equal(limit, 10);
    return [100, 120, 80];
  };
  const check = await compile('volume', { max_change: '50%' }, { history });
  assert.equal((await check.verdict!({ rows: 140, now: new Date() })).ok, true);
  const spike = await check.verdict!({ rows: 151, now: new Date() });
  assert.equal(spike.ok, false);
  assert.match(spike.measured, /\+51\.0% vs mean 100\.0 of 3 runs/);
  assert.equal((await check.verdict!({ rows: 49, now: new Date() })).ok, false);
  const first = await compile('volume', { max_change: '10%' }, { history: async () => [] });
  assert.equal((await first.verdict!({ rows: 5, now: new Date() })).ok, true);
});

test('KeySet: integers in the flat table, everything else beside it, same answers as a Set', async () => {
  const { KeySet } = await import('../../src/quality/checks/int-set.js');
  const s = new KeySet();
  const ref = new Set<string | number>();
  let seed = 7;
  for (let i = 0; i < 50_000; i++) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    const k = (seed % 40_000) - 20_000;
    assert.equal(s.add(k), !ref.has(k));
    ref.add(k);
  }
  for (const k of [-2147483648, 1.5, 'x', 2 ** 40, '7']) {
    assert.equal(s.add(k), true);
    assert.equal(s.add(k), false);
    assert.equal(s.has(k), true);
  }
  assert.equal(s.size, ref.size + 5);
  assert.equal(s.has(123_456), false);
});
