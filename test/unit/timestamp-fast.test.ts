// The fast paths of timestamp and date text (src/core/values/timestamp-text.ts) against the general path they stand in
// for: on random text built from valid and hostile parts, a value's canonical form (or its refusal) must be exactly
// what it was before the fast paths existed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FAIL, coercerFor, generalDate, generalTimestamp, normalizeTimestamp } from '../../src/core/values/coerce.js';
import { fastDate, fastTimestamp, fastUtc } from '../../src/core/values/timestamp-text.js';
import { yearZeroRefusal } from '../../src/core/values/refusals.js';
import { random } from '../support/random.js';

const SEED = Number(process.env.SLUICE_TEST_SEED ?? Date.now() % 1_000_000);

function textGenerator(rnd: () => number) {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const num = (n: number, width: number): string => String(Math.floor(rnd() * n)).padStart(width, '0');
  const often = (p: number): boolean => rnd() < p;
  const year = () => (often(0.5) ? pick(['0000', '0001', '0004', '0050', '0099', '0100', '0999', '1000', '1582', '1900', '1970',
    '2000', '2024', '2100', '9998', '9999', '12024', '-2024', '+2024', '202']) : num(10_000, 4));
  const month = () => (often(0.8) ? num(12, 2).replace(/^(\d\d)$/, (m) => String(Number(m) + 1).padStart(2, '0')) : pick(['00', '13', '1', '99']));
  const day = () => (often(0.7) ? String(1 + Math.floor(rnd() * 28)).padStart(2, '0') : pick(['00', '29', '30', '31', '32', '1']));
  const hour = () => (often(0.85) ? num(24, 2) : pick(['24', '25', '99', '1']));
  const minute = () => (often(0.9) ? num(60, 2) : pick(['60', '61', '5']));
  const fraction = () => pick(['.', ',']) + num(1e9, 9).slice(0, pick([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9])) + (often(0.05) ? num(100, 2) : '');
  const zone = () => pick(['', 'Z', 'z', '+00', '+00:00', '-00:00', '+0000', '+02:00', '-05:00', '+05:30', '+05:45', '-00:30', '+14:00',
    '-12:00', '+99:99', '-23:59', '+0545', '+05', '-11', '+5', '+05:3', '+05:300', 'UTC', ' BC', 'ZZ', '+05:30Z', '±05:00']);
  const date = () => `${year()}-${month()}-${day()}`;
  return (): string => {
    if (often(0.15)) return date();
    let s = `${date()}${pick(['T', 'T', ' ', 't', '_'])}${hour()}:${minute()}`;
    if (often(0.9)) s += `:${often(0.95) ? num(60, 2) : pick(['60', '61', '5'])}`;
    if (often(0.5)) s += fraction();
    if (often(0.2)) s += pick([' ', ' ', '\t', '\u00a0', '  ']);
    s += zone();
    if (often(0.02)) s = pick([' ', 'x']) + s;
    if (often(0.02)) s += pick([' ', 'x', '0']);
    return s;
  };
}

/** The canonical form as it was before the fast paths: the UTC check first, then the general path. */
const before = (s: string): string | typeof FAIL => fastUtc(s) ?? generalTimestamp(s);
const refusal = yearZeroRefusal('PostgreSQL')('timestamp')!;
const shown = (v: unknown): string => (v === FAIL ? 'FAIL' : String(v));

test(`timestamp text: the fast path gives what the general path gives, value for value (seed ${SEED})`, () => {
  const next = textGenerator(random(SEED));
  let fast = 0;
  for (let k = 0; k < 200_000; k++) {
    const s = next();
    const want = before(s);
    const got = normalizeTimestamp(s);
    if (got !== want) assert.fail(`${JSON.stringify(s)}: ${shown(got)}, before ${shown(want)} (seed ${SEED})`);
    if (got !== FAIL) assert.equal(refusal(got), refusal(want));
    if (fastTimestamp(s) !== undefined) fast++;
  }
  // The comparison means something only if the fast path answered for a good share of it.
  assert.ok(fast > 20_000, `the fast path answered ${fast} times`);
});

test(`date text: the fast path gives what the general path gives (seed ${SEED})`, () => {
  const next = textGenerator(random(SEED + 1));
  const coerce = coercerFor('date');
  let fast = 0;
  for (let k = 0; k < 100_000; k++) {
    const s = next().slice(0, 10);
    const want = generalDate(s);
    const got = coerce(s);
    if (got !== want) assert.fail(`${JSON.stringify(s)}: ${shown(got)}, before ${shown(want)} (seed ${SEED})`);
    if (fastDate(s) !== undefined) fast++;
  }
  assert.ok(fast > 10_000, `the fast path answered ${fast} times`);
});

test('the common spellings take the fast path, and are shifted to UTC', () => {
  const cases: [string, string][] = [
    ['2024-01-01T00:00:00+02:00', '2023-12-31T22:00:00.000000Z'],
    ['2024-01-01 00:00:00+00', '2024-01-01T00:00:00.000000Z'],
    ['2024-03-01 00:10:00.123+00:30', '2024-02-29T23:40:00.123000Z'],
    ['2023-03-01T00:10:00,5-00:30', '2023-03-01T00:40:00.500000Z'],
    ['2024-06-30T23:59:59.123456789-05:45', '2024-07-01T05:44:59.123456Z'],
    ['2024-12-31T20:00+0545', '2024-12-31T14:15:00.000000Z'],
    ['9998-12-31T23:00:00-02:00', '9999-01-01T01:00:00.000000Z'],
    ['1000-01-01 00:00:00 +01', '0999-12-31T23:00:00.000000Z'],
    ['2024-02-29', '2024-02-29T00:00:00.000000Z'],
    ['2024-01-01T12:00:00', '2024-01-01T12:00:00.000000Z'],
  ];
  for (const [s, want] of cases) {
    assert.equal(fastTimestamp(s), want, s);
    assert.equal(generalTimestamp(s), want, s);
  }
  // Left to the general path: years Date.UTC reads as 19xx, a year past 9999 after the shift, text the fast path
  // does not know; their forms (or refusals) stay the general path's.
  for (const s of ['0050-01-01T00:00:00+01:00', '9999-12-31T23:00:00-02:00', '2024-01-01 00:00:00 BC', '2023-02-29 00:00:00+00', '2024-01-01T10:00:00 ']) {
    assert.equal(fastTimestamp(s), undefined, s);
  }
  assert.equal(normalizeTimestamp('2023-02-29 00:00:00+00'), FAIL);
  assert.equal(normalizeTimestamp('0050-01-01T00:00:00+01:00'), '1949-12-31T23:00:00.000000Z');
});
