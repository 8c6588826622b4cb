// The exact JSON parser (src/core/values/json-parse.ts) against JSON.parse, on generated documents: numbers of every
// size and form, escapes, surrogate pairs, deep nesting, duplicate and prototype keys. Where JSON.parse keeps every
// digit the two must agree exactly; where it cannot, the exact parser must keep the number as written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JsonNumber, plainDecimal } from '../../src/core/values/json-number.js';
import { exactNumber, mayHoldLongNumber, parseJson } from '../../src/core/values/json-parse.js';
import { jsonText } from '../../src/core/values/array-text.js';
import { coercerFor } from '../../src/core/values/coerce.js';
import { typeOfValue, widen } from '../../src/core/values/infer.js';
import { random } from '../support/random.js';

function numberText(r: () => number): string {
  const digits = (n: number, first = true) => Array.from({ length: n }, (_, i) => (i === 0 && first ? 1 + Math.floor(r() * 9) : Math.floor(r() * 10))).join('');
  const sign = r() < 0.3 ? '-' : '';
  const whole = r() < 0.15 ? '0' : digits(1 + Math.floor(r() * 24));
  const fraction = r() < 0.5 ? `.${digits(1 + Math.floor(r() * 24), false)}` : '';
  const exponent = r() < 0.2 ? `${r() < 0.5 ? 'e' : 'E'}${['', '+', '-'][Math.floor(r() * 3)]}${Math.floor(r() * 400)}` : '';
  return `${sign}${whole}${fraction}${exponent}`;
}

const STRINGS = ['', 'plain', 'quote " and backslash \\', 'tab\tnew\nline', '\u0000\u001f', 'é ✓ 😀', '\ud83d', '\udc00 lone', '/slash/', '12345678901234567890'];

function document(r: () => number, depth: number, numbers: string[]): string {
  const pick = r();
  if (depth > 6 || pick < 0.35) {
    const kind = r();
    if (kind < 0.5) {
      const t = numberText(r);
      numbers.push(t);
      return t;
    }
    if (kind < 0.8) return JSON.stringify(STRINGS[Math.floor(r() * STRINGS.length)]);
    return ['true', 'false', 'null'][Math.floor(r() * 3)];
  }
  const ws = () => [' ', '', '\n', '\t', '\r\n'][Math.floor(r() * 5)];
  const n = Math.floor(r() * 5);
  if (pick < 0.65) return `[${ws()}${Array.from({ length: n }, () => document(r, depth + 1, numbers)).join(`,${ws()}`)}${ws()}]`;
  const keys = ['a', 'b', '__proto__', 'constructor', 'toString', 'é', 'a'];
  return `{${ws()}${Array.from({ length: n }, () => `${JSON.stringify(keys[Math.floor(r() * keys.length)])}${ws()}:${ws()}${document(r, depth + 1, numbers)}`).join(',')}${ws()}}`;
}

/**
 * The reference: JSON.parse of the same document with every number token turned into a tagged string first (so
 * JSON.parse decides structure, escapes and duplicate keys), each tag then read by exactNumber.
 */
function expected(text: string): unknown {
  const tagged = text.replace(/"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g, (m) => (m.startsWith('"') ? m : `"\\u0001N${m}"`));
  const untag = (v: unknown): unknown => {
    if (typeof v === 'string') return v.startsWith('\u0001N') ? exactNumber(v.slice(2)) : v;
    if (Array.isArray(v)) return v.map(untag);
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(v)) Object.defineProperty(out, key, { value: untag((v as Record<string, unknown>)[key]), enumerable: true, writable: true, configurable: true });
      return out;
    }
    return v;
  };
  return untag(JSON.parse(tagged));
}

test('exact parsing agrees with JSON.parse on 3,000 generated documents, numbers kept as written', () => {
  const r = random(20261206);
  let long = 0;
  for (let d = 0; d < 3000; d++) {
    const numbers: string[] = [];
    const text = document(r, 0, numbers);
    const got = parseJson(text);
    if (mayHoldLongNumber(text)) {
      long++;
      assert.deepEqual(got, expected(text), text);
      // The exact path gives JSON.parse's own tree wherever a double holds every number.
      if (!numbers.some((t) => exactNumber(t) instanceof JsonNumber || typeof exactNumber(t) === 'bigint')) assert.deepEqual(got, JSON.parse(text), text);
    } else {
      // No run of 16 digits: every number has at most 15 digits, which a double holds (a short token whose
      // exponent leaves a double's range, like 1e400, is JSON.parse's ±Infinity or 0: the documented limit).
      assert.deepEqual(got, JSON.parse(text), text);
      for (const t of numbers) if (Math.abs(Number(t)) < 1e300 && Math.abs(Number(t)) > 1e-300) assert.equal(typeof exactNumber(t), 'number', t);
    }
  }
  assert.ok(long > 500, `only ${long} documents took the exact path`);
});

test('numbers: integers beyond 2^53 are bigints, long decimals JsonNumbers, the rest plain numbers', () => {
  const cases: [string, unknown][] = [
    ['9223372036854775807', 9223372036854775807n],
    ['12345678901234567890', 12345678901234567890n],
    ['-9007199254740993', -9007199254740993n],
    ['9007199254740991', 9007199254740991],
    ['1234567890123456', 1234567890123456],
    ['0.1', 0.1],
    ['0.000000000000000000001', 1e-21],
    ['1.5e300', 1.5e300],
  ];
  for (const [text, want] of cases) assert.deepEqual(parseJson(`{"v": ${text}}`), { v: want }, text);
  const decimal = parseJson('{"v": 123456789012345678.123456789}') as { v: JsonNumber };
  assert.ok(decimal.v instanceof JsonNumber);
  assert.equal(decimal.v.text, '123456789012345678.123456789');
  const tiny = parseJson('[0.1000000000000000055511151231257827, 1e400, 1e-400, -2.5E-3]') as JsonNumber[];
  assert.deepEqual(tiny.map((n) => (n instanceof JsonNumber ? n.text : n)), ['0.1000000000000000055511151231257827', '1e400', '1e-400', -0.0025]);
  // Without a long number in the document, a short token beyond a double's range is JSON.parse's (documented).
  assert.deepEqual(parseJson('[1e400, 1e-400]'), [Infinity, 0]);
  assert.equal(plainDecimal('-2.50E-3'), '-0.0025');
  assert.equal(plainDecimal('1.5e3'), '1500');
  assert.equal(plainDecimal('-0.0e5'), '0');
  assert.equal(plainDecimal('1e999999'), undefined, 'past any decimal type');
});

test('coercion and inference keep every digit: decimal, text and json as written, bigint exact, double nearest', () => {
  const doc = parseJson('{"id": 12345678901234567890, "amount": 123456789012345678.123456789, "nested": {"x": 9223372036854775807, "y": 0.10000000000000000001}}') as Record<string, unknown>;
  assert.equal(typeOfValue(doc.id), 'bigint');
  assert.equal(typeOfValue(doc.amount), 'decimal');
  assert.equal(widen('double', 'decimal'), 'decimal', 'a column mixing ordinary floats with long decimals keeps every digit');
  assert.equal(coercerFor('decimal')(doc.amount), '123456789012345678.123456789');
  assert.equal(coercerFor('decimal')(doc.id), '12345678901234567890');
  assert.equal(coercerFor('text')(doc.amount), '123456789012345678.123456789');
  assert.equal(coercerFor('double')(doc.amount), Number('123456789012345678.123456789'), 'the nearest double');
  assert.equal(coercerFor('json')(doc.nested), '{"x":9223372036854775807,"y":0.10000000000000000001}');
  assert.equal(jsonText(doc), '{"id":12345678901234567890,"amount":123456789012345678.123456789,"nested":{"x":9223372036854775807,"y":0.10000000000000000001}}');
  assert.equal(coercerFor('bigint')(parseJson('9223372036854775807')), 9223372036854775807n);
  // Outside jsonText, a record holding one serialises its digits as a string (dead-letter payloads, hashes).
  assert.equal(JSON.stringify({ a: doc.amount }), '{"a":"123456789012345678.123456789"}');
});

test('invalid documents fail with JSON.parse\'s own message, on both paths', () => {
  for (const bad of ['{"a": 12345678901234567890,}', '[1234567890123456789', '{"a": 01234567890123456789}', '"\u0001 1234567890123456789"']) {
    assert.throws(() => parseJson(bad), (e: Error) => {
      assert.ok(e instanceof SyntaxError);
      let message = '';
      try {
        JSON.parse(bad);
      } catch (x) {
        message = (x as Error).message;
      }
      assert.equal(e.message, message);
      return true;
    }, bad);
  }
});
