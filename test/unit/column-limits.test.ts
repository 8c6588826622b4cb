// The fast answers of a column's limits (src/connectors/sql/column-limits.ts: decimal text that fits, a safe integer
// in range) against the general check they skip: on random values, the same refusal with the same reason, or none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { INT_RANGES, limitRefusal } from '../../src/connectors/sql/column-limits.js';
import { decimalMisfit } from '../../src/core/values/decimal-text.js';
import { plainDecimal } from '../../src/core/values/json-number.js';
import { random } from '../support/random.js';

const SEED = Number(process.env.SLUICE_TEST_SEED ?? Date.now() % 1_000_000);
const WHERE = 'PostgreSQL column "c" (numeric(6,2))';

/** The general check alone, as it was before the fast answers: whether and why the column refuses `v`. */
function before(v: unknown, precision: number, scale: number, range: readonly [bigint, bigint]): string | undefined {
  const text = typeof v === 'bigint' ? v.toString() : typeof v === 'number' ? (Number.isFinite(v) ? plainDecimal(String(v)) : undefined)
    : typeof v === 'string' && /^[+-]?(\d+\.?\d*|\.\d+)$/.test(v) ? v : undefined;
  if (text === undefined) return undefined;
  const shown = String(v);
  const why = decimalMisfit(text, precision, scale);
  if (why) return `${WHERE} cannot hold ${shown} exactly (${why}); declare the column \`text\`, or a \`decimal(p,s)\` that holds it`;
  if (!/^[+-]?\d+(\.0*)?$/.test(text)) return undefined;
  const n = BigInt(text.replace(/\.0*$/, '').replace(/^\+/, ''));
  return n < range[0] || n > range[1] ? `${WHERE} holds ${range[0]} to ${range[1]}, not ${shown}` : undefined;
}

test(`a column's limits answer random values as the general check does (seed ${SEED})`, () => {
  const r = random(SEED);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const digits = (n: number): string => Array.from({ length: n }, () => String(Math.floor(r() * 10))).join('');
  const range = INT_RANGES.smallint;
  const refuse = limitRefusal(WHERE, { decimal: { precision: 6, scale: 2 }, range })!;
  let refused = 0;
  for (let k = 0; k < 100_000; k++) {
    const v: unknown = r() < 0.6
      ? `${pick(['', '', '-', '+', '0', '00'])}${digits(Math.floor(r() * 7))}${pick(['', '.', '.', 'e', 'x'])}${digits(Math.floor(r() * 5))}${pick(['', '', '0', '00', '.1'])}`
      : pick([Math.floor(r() * 200_000) - 100_000, (r() - 0.5) * 1e5, -0, 2 ** 53, -(2 ** 60), NaN, Infinity, 32767, -32768, 32768, 1e21, 12345678901234567890n]);
    const want = before(v, 6, 2, range);
    assert.equal(refuse(v), want, `${typeof v} ${String(v)} (seed ${SEED})`);
    if (want !== undefined) refused++;
  }
  assert.ok(refused > 1000 && refused < 99_000, `refused ${refused}`);
});
