import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TransformChain, type StepConfig } from '../../src/transforms/chain.js';
import { getStepSpec } from '../../src/transforms/registry.js';
import type { StepEnv } from '../../src/transforms/step.js';
import { batchLength, emptyCounts, rowAt, type Batch, type RejectedRow, type Row } from '../../src/core/types.js';
import { redact } from '../../src/core/redact.js';

/** Validate steps like the config does (defaults applied), compile and run them over batches. */
function chainOf(steps: StepConfig[], env: Partial<StepEnv> = {}): TransformChain {
  const parsed = steps.map((s) => {
    const [kind] = Object.keys(s);
    return { [kind]: getStepSpec(kind)!.options.parse(s[kind]) };
  });
  return new TransformChain(parsed, { stream: 'orders', primaryKey: ['id'], ...env });
}

async function run(steps: StepConfig[] | TransformChain, batches: Batch[], env: Partial<StepEnv> = {}) {
  const chain = steps instanceof TransformChain ? steps : chainOf(steps, env);
  const counts = emptyCounts();
  const rejected: RejectedRow[] = [];
  const dlq = { add: async (rows: RejectedRow[]) => (rejected.push(...rows), rows.length) };
  const out: Batch[] = [];
  for (const b of batches) {
    counts.extracted += batchLength(b);
    const r = await chain.apply(b, counts, dlq);
    if (r) out.push(r);
  }
  for (let tail = await chain.apply(undefined, counts, dlq); tail; tail = await chain.apply(undefined, counts, dlq)) out.push(tail);
  const rows = out.flatMap((b) => Array.from({ length: batchLength(b) }, (_, i) => rowAt(b, i)));
  return { rows, rejected, counts, out, chain };
}

const objects = (rows: Row[], extra: Partial<Batch> = {}): Batch => ({ rows, ...extra });
/** The same rows in the columnar form a CSV source produces. */
const columnar = (columns: string[], values: unknown[][], extra: Partial<Batch> = {}): Batch => ({ rows: [], columns, values, ...extra });

test('select, drop and rename rewrite only the layout of columnar rows; objects give the same result', async () => {
  const steps = [{ rename: { 'Release Date': 'release_date', Title: 'title' } }, { drop: ['junk'] }, { select: ['title', 'release_date', 'missing'] }];
  const cols = await run(steps, [columnar(['Title', 'junk', 'Release Date'], [['A', 1, '2020'], ['B', 2, '2021']])]);
  assert.deepEqual(cols.rows, [{ title: 'A', release_date: '2020', missing: null }, { title: 'B', release_date: '2021', missing: null }]);
  assert.deepEqual(cols.out[0].columns, ['title', 'release_date', 'missing']);
  assert.deepEqual(cols.out[0].values, [['A', '2020', null], ['B', '2021', null]]);
  const objs = await run(steps, [objects([{ Title: 'A', junk: 1, 'Release Date': '2020' }, { Title: 'B', junk: 2, 'Release Date': '2021' }])]);
  assert.deepEqual(objs.rows, cols.rows);
});

test('rename onto an existing name replaces that column; swaps work', async () => {
  const steps = [{ rename: { a: 'b', b: 'c' } }];
  const expected = [{ b: 1, c: 2, d: 3 }];
  assert.deepEqual((await run(steps, [columnar(['a', 'b', 'd'], [[1, 2, 3]])])).rows, expected);
  assert.deepEqual((await run(steps, [objects([{ a: 1, b: 2, d: 3 }])])).rows, expected);
  const over = [{ rename: { a: 'd' } }];
  assert.deepEqual((await run(over, [columnar(['d', 'a'], [[9, 1]])])).out[0].columns, ['d']);
  assert.deepEqual((await run(over, [objects([{ d: 9, a: 1 }])])).rows, [{ d: 1 }]);
});

test('the layout plan is computed once per distinct column set', async () => {
  const chain = chainOf([{ rename: { a: 'x' } }, { trim: ['x'] }]);
  const columns = ['a', 'b'];
  const r = await run(chain, [columnar(columns, [[' 1 ', 2]]), columnar(columns, [[' 3', 4]])]);
  assert.equal(r.out[0].columns, r.out[1].columns, 'the same columns array comes out for the same layout');
  assert.deepEqual(r.rows, [{ x: '1', b: 2 }, { x: '3', b: 4 }]);
});

test('map reads nested paths (objects, arrays by index, JSON text) into flat columns', async () => {
  const r = await run([{ map: { party: 'current_party.short_name.en', riding: 'current_riding.name.en', first: 'tags.0', sku: 'doc.items.1.sku' } }, { drop: ['current_party', 'current_riding', 'tags', 'doc'] }], [objects([
    { id: 1, current_party: { short_name: { en: 'NDP' } }, current_riding: { name: { en: 'Ottawa' } }, tags: ['x', 'y'], doc: '{"items":[{"sku":"a"},{"sku":"b"}]}' },
    { id: 2, current_party: null, current_riding: { name: {} }, tags: [], doc: null },
  ])]);
  assert.deepEqual(r.rows, [
    { id: 1, party: 'NDP', riding: 'Ottawa', first: 'x', sku: 'b' },
    { id: 2, party: null, riding: null, first: null, sku: null },
  ]);
});

test('cast: numbers with separators, booleans, dates in formats and zones; declared types', async () => {
  const r = await run([{
    cast: {
      total: { type: 'decimal', thousands: ',' },
      eu: { type: 'double', thousands: '.', decimal: ',' },
      qty: 'integer',
      paid: 'boolean',
      ordered_at: { type: 'timestamp', format: 'dd/MM/yyyy HH:mm', zone: 'Europe/Paris' },
      day: { type: 'date', format: ['MMM d, yyyy', 'dd.MM.yyyy'] },
      iso: 'timestamp',
      price: { type: 'decimal', currency: true, thousands: ',' },
    },
  }], [columnar(['total', 'eu', 'qty', 'paid', 'ordered_at', 'day', 'iso', 'price'], [
    ['1,234.50', '1.234,5', '12', 'yes', '15/07/2024 14:30', 'Mar 5, 2024', '2024-01-02T03:04:05+02:00', '$1,200.00'],
    ['-7', '0,25', ' 3 ', 'off', '15/01/2024 09:00', '05.03.2024', '2024-01-02 03:04', '€ 3'],
  ])]);
  assert.deepEqual(r.rejected, []);
  assert.deepEqual(r.rows[0], {
    total: '1234.50', eu: 1234.5, qty: 12, paid: true, ordered_at: '2024-07-15T12:30:00.000000Z', day: '2024-03-05',
    iso: '2024-01-02T01:04:05.000000Z', price: '1200.00',
  });
  assert.deepEqual(r.rows[1], {
    total: '-7', eu: 0.25, qty: 3, paid: false, ordered_at: '2024-01-15T08:00:00.000000Z', day: '2024-03-05',
    iso: '2024-01-02T03:04:00.000000Z', price: '3',
  });
  assert.deepEqual(r.chain.types({ untouched: 'uuid' }), {
    untouched: 'uuid', total: 'decimal', eu: 'double', qty: 'integer', paid: 'boolean', ordered_at: 'timestamp', day: 'date', iso: 'timestamp', price: 'decimal',
  });
});

test('cast: DST gaps, 12-hour clocks, epochs and RFC 2822', async () => {
  const r = await run([{
    cast: {
      a: { type: 'timestamp', format: 'yyyy-MM-dd HH:mm', zone: 'America/New_York' },
      b: { type: 'timestamp', format: 'M/d/yyyy h:mm a' },
      c: { type: 'timestamp', unit: 'seconds' },
      d: 'timestamp',
    },
  }], [objects([
    { a: '2024-03-10 01:30', b: '3/10/2024 12:05 AM', c: 1700000000, d: 'Tue, 14 Nov 2023 22:13:20 +0000' },
    { a: '2024-07-01 12:00', b: '3/10/2024 1:05 pm', c: '1700000000', d: '14 Nov 2023' },
  ])]);
  assert.deepEqual(r.rejected, []);
  // Canonical timestamps: UTC, six fraction digits. 01:30 on 10 March in New York is still EST (the gap is 02:00-03:00).
  assert.deepEqual(r.rows.map((x) => x.a), ['2024-03-10T06:30:00.000000Z', '2024-07-01T16:00:00.000000Z']);
  assert.deepEqual(r.rows.map((x) => x.b), ['2024-03-10T00:05:00.000000Z', '2024-03-10T13:05:00.000000Z']);
  assert.deepEqual(r.rows.map((x) => x.c), ['2023-11-14T22:13:20.000000Z', '2023-11-14T22:13:20.000000Z']);
  assert.deepEqual(r.rows.map((x) => x.d), ['2023-11-14T22:13:20.000000Z', '2023-11-14T00:00:00.000000Z']);
  const gap = await run([{ cast: { t: { type: 'timestamp', format: 'yyyy-MM-dd HH:mm', zone: 'America/New_York' } } }],
    [objects([{ t: '2024-03-10 02:30' }, { t: '2024-11-03 01:30' }, { t: '2024-01-01 00:00:00' }])]);
  assert.deepEqual(gap.rows.map((x) => x.t), ['2024-03-10T07:30:00.000000Z', '2024-11-03T05:30:00.000000Z']);
  assert.match(gap.rejected[0].reason, /'2024-01-01 00:00:00' is not a valid timestamp/, 'an explicit format is strict');
  const paris = await run([{ cast: { t: { type: 'timestamp', format: 'yyyy-MM-dd HH:mm', zone: 'Europe/Paris' } } }],
    [objects([{ t: '2024-10-27 02:30' }, { t: '2024-03-31 02:30' }])]);
  assert.deepEqual(paris.rows.map((x) => x.t), ['2024-10-27T00:30:00.000000Z', '2024-03-31T01:30:00.000000Z'], 'overlap: the earlier instant; gap: moved forward');
  const micro = await run([{ cast: { t: 'timestamp' } }], [objects([{ t: '2024-01-02T03:04:05.123456Z' }])]);
  assert.equal(micro.rows[0].t, '2024-01-02T03:04:05.123456Z', 'microseconds survive');
});

test('cast: a value that does not fit sends its row to the DLQ with the reason and the row as read', async () => {
  const positions = [{ file: 'o.csv', line: 2 }, { file: 'o.csv', line: 3 }, { file: 'o.csv', line: 4 }];
  const r = await run([{ trim: '*' }, { cast: { total: { type: 'decimal', thousands: ',' }, at: { type: 'date', format: 'dd/MM/yyyy' } } }],
    [columnar(['id', 'total', 'at'], [['1', ' 1,000 ', '01/02/2024'], ['2', '12,34', '01/02/2024'], ['3', '5', '31/02/2024']], {
      positionOf: (i) => positions[i], checkpoint: { version: 1, connector: { n: 3 } },
    })]);
  assert.deepEqual(r.rows, [{ id: '1', total: '1000', at: '2024-02-01' }]);
  assert.equal(r.rejected.length, 2);
  assert.deepEqual(r.rejected[0], {
    stage: 'transform', reason: "cast total: '12,34' is not a valid decimal", raw: '{"id":"2","total":"12,34","at":"01/02/2024"}', position: { file: 'o.csv', line: 3 },
  });
  assert.match(r.rejected[1].reason, /cast at: '31\/02\/2024' is not a valid date \(format "dd\/MM\/yyyy"\)/);
  assert.deepEqual(r.rejected[1].position, { file: 'o.csv', line: 4 });
  assert.equal(r.rejected[0].raw.includes(' 1,000 '), false);
  assert.equal(r.counts.dead_lettered, 2);
  assert.deepEqual(r.out[0].checkpoint, { version: 1, connector: { n: 3 } }, 'the batch keeps its checkpoint');
  assert.deepEqual(r.out[0].positionOf!(0), { file: 'o.csv', line: 2 });

  const lenient = await run([{ cast: { total: { type: 'integer', on_error: 'set_null' } } }], [objects([{ total: 'x' }, { total: '2.0' }])]);
  assert.deepEqual(lenient.rows, [{ total: null }, { total: 2 }]);
});

test('trim, case, collapse and nullify', async () => {
  const steps = [
    { nullify: { values: ['', 'N/A', 'NULL'] } }, { trim: ['a'] }, { collapse: ['b'] },
    { case: { lower: ['email'], upper: ['cc'], title: ['name'] } },
  ];
  const rows = [
    { a: '  x ', b: ' many   spaced\t\nwords ', email: 'Ann@Example.COM', cc: 'fr', name: "o'neil-SMITH jr", n: ' N/A ' },
    { a: 'NULL', b: '', email: null, cc: 7, name: 'élodie dupont', n: 'ok' },
  ];
  const expected = [
    { a: 'x', b: 'many spaced words', email: 'ann@example.com', cc: 'FR', name: "O'Neil-Smith Jr", n: null },
    { a: null, b: null, email: null, cc: 7, name: 'Élodie Dupont', n: 'ok' },
  ];
  assert.deepEqual((await run(steps, [objects(rows.map((r) => ({ ...r })))])).rows, expected);
  const cols = Object.keys(rows[0]);
  assert.deepEqual((await run(steps, [columnar(cols, rows.map((r) => cols.map((c) => (r as Row)[c])))])).rows, expected);
});

test('derive and filter: expressions per row, failures to the DLQ, drops counted as filtered', async () => {
  const r = await run([
    { derive: { total_with_tax: 'round(total * 1.2, 2)', segment: "if(total > 1000, 'gold', 'std')", label: "segment || '-' || id" } },
    { filter: "status != 'cancelled'" },
  ], [columnar(['id', 'total', 'status'], [['1', '1500', 'paid'], ['2', '10', 'cancelled'], ['3', 'abc', 'paid'], ['4', '20', null]])]);
  assert.deepEqual(r.rows, [{ id: '1', total: '1500', status: 'paid', total_with_tax: 1800, segment: 'gold', label: 'gold-1' }]);
  assert.equal(r.counts.filtered, 2, 'cancelled and null status are filtered');
  assert.equal(r.rejected.length, 1);
  assert.match(r.rejected[0].reason, /^derive total_with_tax: operator "\*" expected a number, got 'abc' at column 13$/);
  assert.equal(r.counts.extracted, r.rows.length + r.counts.filtered + r.counts.dead_lettered);
});

test('dedupe: first streams, last and latest hold rows to the end, hash drops identical rows', async () => {
  const batches = () => [
    objects([{ id: 1, v: 'a', at: '2024-01-02' }, { id: 2, v: 'b', at: '2024-01-01' }, { id: 1, v: 'c', at: '2024-01-01' }], { checkpoint: { version: 1, connector: { p: 1 } } }),
    objects([{ id: 2, v: 'd', at: '2024-01-03' }, { id: null, v: 'e', at: null }, { id: 1, v: 'f', at: '2023-12-31' }], { checkpoint: { version: 1, connector: { p: 2 } } }),
  ];
  const first = await run([{ dedupe: { key: ['id'] } }], batches());
  assert.deepEqual(first.rows.map((x) => x.v), ['a', 'b', 'e']);
  assert.equal(first.counts.filtered, 3);
  assert.deepEqual(first.out.map((b) => b.checkpoint?.connector), [{ p: 1 }, { p: 2 }]);

  const last = await run([{ dedupe: { key: ['id'], keep: 'last' } }], batches());
  assert.deepEqual(last.rows.map((x) => x.v).sort(), ['d', 'e', 'f']);
  assert.equal(last.counts.filtered, 3);
  // Rows are held: no batch before the end may commit a checkpoint; the end carries the last one.
  assert.deepEqual(last.out.map((b) => b.checkpoint?.connector), [undefined, undefined, { p: 2 }]);

  const latest = await run([{ dedupe: { key: ['id'], keep: { latest: { by: 'at' } } } }], batches());
  assert.deepEqual(latest.rows.map((x) => x.v).sort(), ['a', 'd', 'e']);
  assert.equal(latest.counts.extracted, latest.rows.length + latest.counts.filtered);

  // Integer ids are kept as numbers: `7` and 7 are one key, `007` and `7.0` are other keys.
  const ids = await run([{ dedupe: { key: ['id'] } }], [objects([{ id: '7' }, { id: 7 }, { id: '007' }, { id: '7.0' }, { id: -3 }, { id: '-3' }, { id: 2 ** 53 }, { id: 'x' }, { id: 'x' }])]);
  assert.deepEqual(ids.rows.map((x) => x.id), ['7', '007', '7.0', -3, 2 ** 53, 'x']);
  const many = await run([{ dedupe: { key: ['id'] } }], [columnar(['id'], Array.from({ length: 30000 }, (_, i) => [String(i % 10000)]))]);
  assert.equal(many.rows.length, 10000, 'the integer set grows and keeps every key');
  assert.equal(many.counts.filtered, 20000);

  const hashed = await run([{ dedupe: { hash: true } }], [columnar(['a', 'b'], [[1, 'x'], [1, 'x'], [1, 'y'], [1, 'x']])]);
  assert.deepEqual(hashed.rows, [{ a: 1, b: 'x' }, { a: 1, b: 'y' }]);
  assert.throws(() => getStepSpec('dedupe')!.options.parse({ key: ['a'], hash: true }), /either `key/);
});

test('lookup: enrich from another stream (loaded once) and from a table; missing keys null, rejected or dropped', async () => {
  let reads = 0;
  const env: Partial<StepEnv> = {
    readStream: async function* (name) {
      assert.equal(name, 'customers');
      reads++;
      yield [{ id: '1', name: 'Ann', tier: 'gold' }, { id: '2', name: 'Bob', tier: 'std' }];
    },
    readTable: async function* (table, columns) {
      assert.equal(table, 'dim_region');
      assert.deepEqual(columns.sort(), ['code', 'region']);
      yield [{ code: 'FR', region: 'EU' }];
    },
  };
  const chain = chainOf([
    { lookup: { stream: 'customers', on: { customer_id: 'id' }, columns: { customer_name: 'name', tier: 'tier' } } },
    { lookup: { table: 'dim_region', on: { country: 'code' }, columns: ['region'], on_missing: 'reject' } },
  ], env);
  const r = await run(chain, [
    columnar(['order_id', 'customer_id', 'country'], [[10, 1, 'FR'], [11, 3, 'FR'], [12, 2, 'US']]),
    objects([{ order_id: 13, customer_id: 2, country: 'FR' }]),
  ]);
  assert.equal(reads, 1, 'the lookup side is read once per run');
  assert.deepEqual(r.rows, [
    { order_id: 10, customer_id: 1, country: 'FR', customer_name: 'Ann', tier: 'gold', region: 'EU' },
    { order_id: 11, customer_id: 3, country: 'FR', customer_name: null, tier: null, region: 'EU' },
    { order_id: 13, customer_id: 2, country: 'FR', customer_name: 'Bob', tier: 'std', region: 'EU' },
  ]);
  assert.equal(r.rejected.length, 1);
  assert.match(r.rejected[0].reason, /lookup: no row in table "dim_region" matches country/);

  const dropped = await run([{ lookup: { stream: 'customers', on: { customer_id: 'id' }, columns: ['name'], on_missing: 'drop' } }],
    [objects([{ customer_id: 9 }, { customer_id: 1 }])], env);
  assert.deepEqual(dropped.rows, [{ customer_id: 1, name: 'Ann' }]);
  assert.equal(dropped.counts.filtered, 1);
});

test('aggregate: group by with count, sum, avg, min, max, count_distinct at the end of the stream', async () => {
  const r = await run([{ aggregate: { group_by: ['c'], metrics: { n: 'count', total: { sum: 'v' }, mean: { avg: 'v' }, lo: { min: 'v' }, hi: { max: 'd' }, kinds: { count_distinct: 'k' }, nv: { count: 'v' } } } }], [
    columnar(['c', 'v', 'd', 'k'], [['x', '1', '2024-01-01', 'a'], ['y', '10', '2024-02-01', 'a'], ['x', '3', '2024-03-01', 'b']], { checkpoint: { version: 1, connector: { p: 1 } } }),
    objects([{ c: 'x', v: null, d: '2023-01-01', k: 'a' }, { c: 'y', v: 'bad', d: null, k: null }], { checkpoint: { version: 1, connector: { p: 2 } } }),
  ]);
  assert.deepEqual(r.rows, [
    { c: 'x', n: 3, total: 4, mean: 2, lo: '1', hi: '2024-03-01', kinds: 2, nv: 2 },
    { c: 'y', n: 1, total: 10, mean: 10, lo: '10', hi: '2024-02-01', kinds: 1, nv: 1 },
  ]);
  assert.equal(r.rejected.length, 1);
  assert.match(r.rejected[0].reason, /aggregate total: expected a number, got 'bad'/);
  assert.equal(r.counts.extracted, 5);
  assert.equal(r.counts.extracted, r.rows.length + r.counts.filtered + r.counts.dead_lettered);
  assert.deepEqual(r.out.at(-1)!.checkpoint, { version: 1, connector: { p: 2 } });
  assert.equal(r.out.slice(0, -1).some((b) => b.checkpoint), false);
});

test('flatten: a nested array becomes child rows with _parent_key and _idx', async () => {
  const r = await run([{ flatten: { column: 'items' } }], [objects([
    { id: 1, items: [{ sku: 'a', qty: 1 }, { sku: 'b', qty: 2 }] },
    { id: 2, items: '[3, 4]' },
    { id: 3, items: null },
    { id: 4, items: 'oops' },
  ])]);
  assert.deepEqual(r.rows, [{ id: 1 }, { id: 2 }, { id: 3 }]);
  assert.deepEqual(r.chain.takeChildren().get('orders__items'), [
    { sku: 'a', qty: 1, _parent_key: '1', _idx: 0 }, { sku: 'b', qty: 2, _parent_key: '1', _idx: 1 },
    { value: 3, _parent_key: '2', _idx: 0 }, { value: 4, _parent_key: '2', _idx: 1 },
  ]);
  assert.match(r.rejected[0].reason, /flatten items: not a JSON array/);
  assert.throws(() => chainOf([{ flatten: { column: 'items' } }], { primaryKey: [] }), /no primary_key/);
});

test('hash, mask and redact: deterministic salted HMAC, masking, fixed text; the salt is a secret', async () => {
  const salt = 'pepper-0f9e8d7c';
  const steps = [{ hash: { columns: ['email'], salt } }, { mask: { columns: ['card'], keep_last: 4 } }, { redact: ['ssn'] }];
  const r = await run(steps, [objects([{ email: 'a@x.io', card: '4111111111111111', ssn: '123-45-6789' }, { email: 'a@x.io', card: '12', ssn: null }])]);
  assert.match(r.rows[0].email as string, /^[0-9a-f]{64}$/);
  assert.equal(r.rows[0].email, r.rows[1].email, 'the same value hashes the same: joins survive');
  const other = await run([{ hash: { columns: ['email'], salt: 'another-salt-123' } }], [objects([{ email: 'a@x.io' }])]);
  assert.notEqual(other.rows[0].email, r.rows[0].email, 'the salt changes the hash');
  assert.equal(r.rows[0].card, '************1111');
  assert.equal(r.rows[1].card, '**');
  assert.equal(r.rows[0].ssn, '[REDACTED]');
  assert.equal(r.rows[1].ssn, null);
  assert.equal(redact(`salt is ${salt}`), 'salt is ***');
  const custom = await run([{ redact: { columns: '*', with: 'x' } }], [objects([{ a: 1, b: null }])]);
  assert.deepEqual(custom.rows, [{ a: 'x', b: null }]);
});

test('user functions: per row (drop, expand, throw) and per batch', async () => {
  const fn = (row: Row) => {
    if (row.id === 2) return null;
    if (row.id === 3) throw new Error('no threes');
    if (row.id === 4) return [{ ...row, part: 1 }, { ...row, part: 2 }];
    return { ...row, doubled: (row.id as number) * 2 };
  };
  const r = await run([{ fn }, { batch: async (rows: Row[]) => rows.map((x) => ({ ...x, tagged: true })) }], [
    columnar(['id'], [[1], [2], [3], [4]], { positionOf: (i) => ({ line: i + 2 }) }),
  ]);
  assert.deepEqual(r.rows, [
    { id: 1, doubled: 2, tagged: true }, { id: 4, part: 1, tagged: true }, { id: 4, part: 2, tagged: true },
  ]);
  assert.equal(r.counts.filtered, 1);
  assert.deepEqual(r.rejected, [{ stage: 'transform', reason: 'fn: no threes', raw: '{"id":3}', position: { line: 4 } }]);
  assert.deepEqual(r.out[0].positionOf!(2), { line: 5 }, 'expanded rows keep the position of their source row');
});

test('resolve emits what it held in several batches, the checkpoint on the last; a blocking step after it sees them all', async () => {
  // Two sources describing the same 6,000 players (more than one emitted frame), the second with names misspelt
  // now and then; rows without a key go to the DLQ at once, columnar and object rows alike.
  let seed = 7;
  const word = () => Array.from({ length: 7 }, () => String.fromCharCode(97 + ((seed = (seed * 48271) % 2147483647) % 26))).join('');
  const players = Array.from({ length: 6_000 }, (_, i) => ({ key: `k${i}`, name: `${word()} ${word()}`, year: 2000 + (i % 7) }));
  const resolve = { resolve: { id: 'pid', source: 'src', key: ['key'], name: 'name', block: ['year'], priority: ['a', 'b'] } };
  const steps = [resolve, { golden: { by: 'pid', source: 'src', priority: ['a', 'b'], keep: ['name'], drop: ['key', 'match_score', 'match_rule'] } }];
  const batches = [
    columnar(['src', 'key', 'name', 'year'], players.map((p) => ['a', p.key, p.name, p.year]), { checkpoint: { version: 1, connector: { p: 1 } } }),
    objects([...players.map((p, i) => ({ src: 'b', key: p.key, name: i % 50 === 0 ? `${p.name}x` : p.name, year: p.year })), { src: 'b', key: null, name: 'x', year: 2000 }],
      { checkpoint: { version: 1, connector: { p: 2 } } }),
  ];
  const crosswalk = await run([resolve], batches);
  assert.ok(crosswalk.out.length > 2, `${crosswalk.out.length} batches`);
  assert.deepEqual(crosswalk.out.at(-1)!.checkpoint, { version: 1, connector: { p: 2 } });
  assert.equal(crosswalk.out.slice(0, -1).some((b) => b.checkpoint), false);
  assert.equal(crosswalk.rows.length, 12_000);
  assert.equal(crosswalk.rejected.length, 1);
  assert.equal(crosswalk.counts.extracted, crosswalk.rows.length + crosswalk.counts.filtered + crosswalk.counts.dead_lettered);
  const ids = new Map<string, Set<unknown>>();
  for (const r of crosswalk.rows) (ids.get(String(r.key)) ?? ids.set(String(r.key), new Set()).get(String(r.key))!).add(r.pid);
  assert.equal([...ids.values()].filter((s) => s.size === 1).length, 6_000, 'both records of each player have one id');
  assert.equal(new Set(crosswalk.rows.map((r) => r.pid)).size, 6_000);

  const golden = await run(steps, batches);
  assert.equal(golden.rows.length, 6_000);
  assert.equal(golden.counts.extracted, golden.rows.length + golden.counts.filtered + golden.counts.dead_lettered);
  const first = players[0].name;
  assert.deepEqual(golden.rows.find((r) => r.name === first), { pid: crosswalk.rows[0].pid, name: first, year: 2000, name_a: first, name_b: `${first}x`, sources: 'a,b' });
});

test('the chain counts each step: rows in, out, failed, filtered and its time, blocking steps included', async () => {
  const r = await run([
    { cast: { v: 'integer' } },
    { flatten: { column: 'items' } },
    { dedupe: { key: ['id'], keep: 'last' } },
    { aggregate: { metrics: { n: 'count' } } },
  ], [
    columnar(['id', 'g', 'v', 'items'], [[1, 'a', '1', '[1,2]'], [2, 'a', 'x', '[3]'], [1, 'b', '3', '[]']]),
    objects([{ id: 3, g: 'b', v: '4', items: 'nope' }, { id: 4, g: 'a', v: '5', items: null }]),
  ]);
  const steps = r.chain.stepCounts();
  assert.deepEqual(steps.map(({ duration_ms: _, ...s }) => s), [
    { step: 0, name: 'cast', records_in: 5, records_out: 4, failed: 1, filtered: 0 },
    // Flatten passes its parent rows on (its child rows go to the child table) and rejects the one that is no array.
    { step: 1, name: 'flatten', records_in: 4, records_out: 3, failed: 1, filtered: 0 },
    // Keep-last holds rows until the end: the replaced row of id 1 is filtered, the rest come out at the end.
    { step: 2, name: 'dedupe', records_in: 3, records_out: 2, failed: 0, filtered: 1 },
    // The aggregate folds both rows into one: the other is filtered.
    { step: 3, name: 'aggregate', records_in: 2, records_out: 1, failed: 0, filtered: 1 },
  ]);
  for (const s of steps) assert.ok(typeof s.duration_ms === 'number' && s.duration_ms >= 0, `${s.name}: ${s.duration_ms}`);
  // The steps' counts add up to the stream's.
  assert.equal(steps[0].records_in, r.counts.extracted);
  assert.equal(steps.at(-1)!.records_out, r.rows.length);
  assert.equal(steps.reduce((n, s) => n + s.failed, 0), r.rejected.length);
  assert.equal(steps.reduce((n, s) => n + s.filtered, 0), r.counts.filtered);

  // A chain read again from a commit goes on from the counts it had there.
  const again = chainOf([{ cast: { v: 'integer' } }, { flatten: { column: 'items' } }, { dedupe: { key: ['id'], keep: 'last' } }, { aggregate: { metrics: { n: 'count' } } }]);
  again.resumeFrom(steps);
  assert.deepEqual(again.stepCounts(), steps);
});
