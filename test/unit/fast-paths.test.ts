// The fast paths of transforms and checks (numbers tested inline in compiled operators, checks scanning a batch,
// columnar steps) against the general semantics they stand in for, on random and hostile values: nulls, bigints,
// decimals as text, NaN, infinities, -0, unicode, empty and blank strings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileExpr, objectResolver } from '../../src/expr/compile.js';
import { compareValues, plainNumber, show, toNumber } from '../../src/expr/values.js';
import { ExprError } from '../../src/expr/tokenize.js';
import type { CheckEnv } from '../../src/quality/check.js';
import { getCheckSpec } from '../../src/quality/registry.js';
import { TransformChain, type StepConfig } from '../../src/transforms/chain.js';
import { getStepSpec } from '../../src/transforms/registry.js';
import { batchLength, emptyCounts, rowAt, type Batch, type RejectedRow } from '../../src/core/types.js';

/** A small deterministic generator, so a failure reproduces. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s / 4294967296;
  };
}

const HOSTILE: unknown[] = [
  null, undefined, 0, -0, 1, -1, 0.1, 1e21, -2.5, NaN, Infinity, -Infinity, 2 ** 31, 2 ** 53 + 2,
  7n, -(2n ** 70n), '', ' ', '12', ' 12 ', '0012', '1.50', '-0.0', '1e3', '0x10', 'abc', 'é', '😀', 'NaN', 'Infinity',
  true, false, '2024-01-01', '2024-01-01T00:00:00.000000Z', new Date(0), { k: 1 }, [1, 2],
];

function pick<T>(rand: () => number, list: readonly T[]): T {
  return list[Math.floor(rand() * list.length)];
}

/** A value of the hostile list, or a random number or numeric text. */
function value(rand: () => number): unknown {
  const r = rand();
  if (r < 0.5) return pick(rand, HOSTILE);
  const n = Math.round((rand() - 0.5) * 2000) / (rand() < 0.5 ? 1 : 100);
  return r < 0.75 ? n : String(n);
}

/** What an operator gives, or the error it throws, as comparable text. */
function outcome(f: () => unknown): string {
  try {
    const v = f();
    return `ok ${typeof v} ${Object.is(v, -0) ? '-0' : String(v)}`;
  } catch (e) {
    return `error ${e instanceof ExprError ? e.message : String(e)}`;
  }
}

/** Arithmetic as the language defines it: both sides as numbers (left first), null in null out, no division by zero. */
function arithmetic(op: string, x: unknown, y: unknown): unknown {
  const num = (v: unknown): number | null => {
    try {
      return toNumber(v);
    } catch (e) {
      throw new ExprError(`operator "${op}" ${(e as Error).message}`);
    }
  };
  const a = num(x);
  const b = num(y);
  if (a === null || b === null) return null;
  if ((op === '/' || op === '%') && b === 0) throw new ExprError('division by zero');
  return op === '+' ? a + b : op === '-' ? a - b : op === '*' ? a * b : op === '/' ? a / b : a % b;
}

/** Comparisons as the language defines them: null when a side is null, else the sign of compareValues. */
function comparing(op: string, x: unknown, y: unknown): unknown {
  if (x === null || x === undefined || y === null || y === undefined) return null;
  const c = compareValues(x, y);
  if (c === undefined) throw new ExprError(`cannot compare ${show(x)} with ${show(y)}`);
  return op === '<' ? c < 0 : op === '<=' ? c <= 0 : op === '>' ? c > 0 : c >= 0;
}

test('compiled operators: inline number paths give what the general semantics give, errors included', () => {
  const rand = random(17);
  const ops = ['+', '-', '*', '/', '%', '<', '<=', '>', '>='];
  const compiled = new Map(ops.map((op) => [op, compileExpr(`x ${op} y`).bind(objectResolver)]));
  // A literal on one side goes through the same operators: the bench's `amount >= 0` and `amount * 100`.
  const literal = new Map(ops.map((op) => [op, compileExpr(`x ${op} 3`).bind(objectResolver)]));
  for (let n = 0; n < 20000; n++) {
    const x = value(rand);
    const y = value(rand);
    const op = pick(rand, ops);
    const reference = op.length === 1 && !'<>'.includes(op) ? arithmetic : comparing;
    const row = { x, y };
    // Row errors name the operator's column; the reference has none, so that part is left out.
    const got = outcome(() => compiled.get(op)!(row)).replace(/ at column \d+$/, '');
    assert.equal(got, outcome(() => reference(op, x ?? null, y ?? null)), `${show(x)} ${op} ${show(y)}`);
    const lit = outcome(() => literal.get(op)!(row)).replace(/ at column \d+$/, '');
    assert.equal(lit, outcome(() => reference(op, x ?? null, 3)), `${show(x)} ${op} 3`);
  }
});

test('plainNumber: decimal text read digit by digit is exactly what Number() reads', () => {
  const rand = random(23);
  const digits = (n: number) => Array.from({ length: n }, () => Math.floor(rand() * 10)).join('');
  const cases = ['0', '-0', '+0', '0.0', '-0.0', '.5', '-.5', '+.5', '007', '00.10', '1.', '1..2', '1.2.3', '-', '+', '.', '',
    '0x1f', '1e3', '1e-7', ' 1', '1 ', '123456789012345', '1234567890123456', '0.1234567890123456', '9007199254740993',
    '999999999999999.9', '-99999999999999.99', '1/2', '1,5', '١٢', '１２'];
  for (let n = 0; n < 100000; n++) {
    const sign = pick(rand, ['', '', '-', '+']);
    const whole = digits(Math.floor(rand() * 10));
    const fraction = rand() < 0.7 ? `.${digits(Math.floor(rand() * 9))}` : '';
    cases.push(sign + whole + fraction);
  }
  for (const text of cases) {
    const expected = /^[+-]?[0-9.]*[0-9]$/.test(text) && !Number.isNaN(Number(text)) ? Number(text) : undefined;
    const got = plainNumber(text);
    assert.ok(Object.is(got, expected) || (/^[+-]?\d/.test(text) && /[eExXbBoO]/.test(text) && Object.is(got, Number(text))), `${JSON.stringify(text)}: ${got} against ${expected}`);
  }
});

const COLUMNS = ['a', 'b', 'c'];
const resolve = (name: string): number => COLUMNS.indexOf(name);
const env: CheckEnv = {
  pipeline: 'p', stream: 's', targetTable: 's', targetColumn: (c) => c, targetKept: true,
  async *readStream() {
    yield [{ k: '1' }, { k: 2 }, { k: 'é' }, { k: '' }];
  },
};

const CHECKS: [string, unknown][] = [
  ['not_null', ['a', 'b']],
  ['not_null', ['a', 'nope', 'b']],
  ['unique', ['a']],
  ['unique', ['a', 'b']],
  ['range', { column: 'a', min: 0, max: 100 }],
  ['range', { column: 'a', min: '2024-01-01', exclusive: true }],
  ['accepted_values', { column: 'b', values: ['1', 2, true, 'é'] }],
  ['regex', { column: 'b', pattern: '^\\d+$' }],
  ['type', { column: 'a', type: 'integer' }],
  ['type', { column: 'b', type: 'decimal' }],
  ['relationships', { column: 'a', to: { stream: 'keys', column: 'k' } }],
  ['expression', 'a * 2 >= b or c is null'],
  ['range', { column: 'nope', min: 0 }],
];

test('checks: a batch scan fails the same rows with the same reasons as row() one row at a time', async () => {
  const rand = random(5);
  // Few distinct values, so unique meets duplicates.
  const pool = Array.from({ length: 40 }, () => value(rand));
  const rows = Array.from({ length: 3000 }, () => COLUMNS.map(() => (rand() < 0.1 ? null : pick(rand, pool))));
  for (const [kind, options] of CHECKS) {
    const spec = getCheckSpec(kind)!;
    const compile = async () => {
      const c = spec.compile(spec.options.parse(options), env);
      await c.prepare?.();
      return c;
    };
    const one = (await compile()).row!(resolve);
    const expected = rows.map((r) => one(r));
    const scan = (await compile()).scan!(resolve);
    const got = new Array<string | undefined>(rows.length).fill(undefined);
    // In two batches: a check's state (unique's keys) carries from one to the next.
    const half = rows.length >> 1;
    scan(rows.slice(0, half), (i, why) => {
      assert.equal(got[i], undefined, `${kind}: row ${i} failed twice`);
      got[i] = why;
    });
    scan(rows.slice(half), (i, why) => {
      assert.equal(got[half + i], undefined, `${kind}: row ${half + i} failed twice`);
      got[half + i] = why;
    });
    assert.deepEqual(got, expected, `${kind} ${JSON.stringify(options)}`);
    if (kind === 'relationships') {
      // Integers are looked up as numbers: the same answer as their text in the keys' texts.
      const keys = new Set(['1', '2', 'é', '']);
      const text = (v: unknown) => (typeof v === 'string' ? v : v instanceof Date ? v.toISOString() : typeof v === 'object' ? JSON.stringify(v) : String(v));
      assert.deepEqual(got.map((why) => why === undefined), rows.map((r) => r[0] === null || keys.has(text(r[0]))));
    }
    assert.ok(expected.some((e) => e !== undefined) || kind === 'range' && JSON.stringify(options).includes('nope'), `${kind}: the data fails it somewhere`);
  }
});

/** The bench's chain (bench/transform.ts), plus a reordering select, which cannot project rows in place. */
const CHAIN: StepConfig[] = [
  { rename: { note: 'comment' } },
  { nullify: { columns: ['comment'] } },
  { trim: ['name', 'comment'] },
  { case: { upper: ['name'], title: ['comment'] } },
  { cast: { amount: 'double' } },
  { derive: { amount_cents: 'round(amount * 100)', tier: "if(amount >= 500, 'high', 'low')" } },
  { filter: 'amount >= 0' },
  { mask: { columns: ['comment'], keep_last: 6 } },
  { map: { attr_k: 'attrs.k' } },
  { drop: ['attrs'] },
];

async function through(steps: StepConfig[], batch: Batch) {
  const parsed = steps.map((s) => {
    const [kind] = Object.keys(s);
    return { [kind]: getStepSpec(kind)!.options.parse(s[kind]) };
  });
  const chain = new TransformChain(parsed, { stream: 's', primaryKey: [] });
  const counts = emptyCounts();
  const rejected: RejectedRow[] = [];
  const out = await chain.apply(batch, counts, { add: async (r) => (rejected.push(...r), r.length) });
  const rows = Array.from({ length: batchLength(out!) }, (_, i) => rowAt(out!, i));
  return { rows, counts, rejected: rejected.map((r) => [r.reason, r.raw]) };
}

test('chain: rows read with a header (layouts, in-place projection) come out as the same rows as objects do', async () => {
  const rand = random(11);
  const columns = ['id', 'name', 'amount', 'attrs', 'note'];
  const text = (): unknown => pick(rand, [' name 1 ', 'NAME', 'é ü', '😀x', '', '  ', 'N/A', 'a-b c', '\u00a0x\u00a0', 'x'.repeat(40)]);
  const json = (): unknown => pick(rand, ['{"k":1}', '{"k":"2"}', '[1]', '{', '', '{"k":{"j":3}}', { k: 4 }, [{ k: 5 }]]);
  for (const steps of [CHAIN, [...CHAIN, { select: ['tier', 'id', 'amount_cents', 'name', 'nope'] }]]) {
    // Sources give null for no value (an undefined would be a missing key in an object row, a null in an array row).
    const values = Array.from({ length: 400 }, (_, i) => [
      rand() < 0.1 ? null : i, rand() < 0.5 ? text() : value(rand), value(rand), rand() < 0.7 ? json() : value(rand), rand() < 0.5 ? text() : value(rand),
    ].map((v) => v ?? null));
    const asRows = await through(steps, { rows: [], columns, values });
    const asObjects = await through(steps, { rows: values.map((v) => Object.fromEntries(columns.map((c, k) => [c, v[k]]))) });
    assert.deepEqual(asRows, asObjects);
    assert.ok(asRows.rows.length > 50 && asRows.counts.filtered > 0 && asRows.rejected.length > 0, 'the data is kept, filtered and rejected');
  }
});
