import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileExpr, objectResolver, arrayResolver } from '../../src/expr/compile.js';
import { ExprError } from '../../src/expr/tokenize.js';

const ev = (text: string, row: Record<string, unknown> = {}): unknown => compileExpr(text).bind(objectResolver)(row);

test('expr: arithmetic, comparison and logic follow the documented precedence', () => {
  assert.equal(ev('1 + 2 * 3'), 7);
  assert.equal(ev('(1 + 2) * 3'), 9);
  assert.equal(ev('10 - 4 - 3'), 3, 'left-associative');
  assert.equal(ev('-2 * 3 + 10 % 4'), -4);
  assert.equal(ev('true or false and false'), true, 'and binds tighter than or');
  assert.equal(ev('not 1 = 2 and 2 = 2'), true, 'not binds looser than comparison');
  assert.equal(ev("'a' || 'b' = 'ab'"), true, '|| binds tighter than =');
  assert.equal(ev('2 + 3 > 4 and 1 < 2'), true);
  assert.equal(ev('x in (1, 2, 3)', { x: '2' }), true, 'numeric text compares as a number');
  assert.equal(ev("x not in ('a', 'b')", { x: 'c' }), true);
  assert.equal(ev('x is null', {}), true);
  assert.equal(ev('x is not null', { x: 0 }), true);
  assert.equal(ev("'it''s' || ' ok'"), "it's ok");
  assert.equal(ev('1.5e2 / 3'), 50);
});

test('expr: nulls propagate SQL-style; text numbers take part in arithmetic', () => {
  assert.equal(ev('total * 1.2', { total: '100' }), 120);
  assert.equal(ev('total * 2', { total: null }), null);
  assert.equal(ev('a > 1', { a: null }), null);
  assert.equal(ev('a > 1 or true', { a: null }), true);
  assert.equal(ev('a > 1 and false', { a: null }), false);
  assert.equal(ev("status != 'x'", { status: null }), null);
  assert.equal(ev("'10' = 10"), true);
  assert.equal(ev("'abc' = 10"), false);
});

test('expr: functions, lazy if and coalesce', () => {
  assert.equal(ev('round(1.005, 2)'), 1.01);
  assert.equal(ev('round(-2.5)'), -3);
  assert.equal(ev('round(-1.005, 2)'), -1.01);
  assert.equal(ev('round(2.675, 2)'), 2.68);
  assert.equal(ev('round(123.456, 1)'), 123.5);
  assert.equal(ev('round(0.1 + 0.2, 2)'), 0.3);
  assert.equal(ev('round(-0.001, 2)'), 0);
  assert.equal(ev("upper(trim('  hi '))"), 'HI');
  assert.equal(ev("substr('abcdef', 2, 3)"), 'bcd');
  assert.equal(ev("replace('a-b-c', '-', '+')"), 'a+b+c');
  assert.equal(ev("length('héllo')"), 5);
  assert.equal(ev("concat('a', null, 1)"), 'a1');
  assert.equal(ev('coalesce(a, b, 3)', { b: 2 }), 2);
  assert.equal(ev('if(x > 0, 1 / x, 0)', { x: 0 }), 0, 'the branch not taken is not evaluated');
  assert.equal(ev("if(total > 1000, 'gold', 'std')", { total: '1500' }), 'gold');
  assert.equal(ev('abs(-3) + greatest(1, 5, null) - least(2, 4)'), 6);
  assert.deepEqual(ev("date_trunc('month', '2024-03-17T10:20:00Z')"), new Date('2024-03-01T00:00:00Z'));
  assert.equal(ev("year('2024-03-17') * 100 + month('2024-03-17')"), 202403);
  assert.ok(ev('now()') instanceof Date);
});

test('expr: quoted, backticked and nested column names', () => {
  const row = { 'Release Date': '2020', party: { short_name: { en: 'NDP' } }, items: [{ sku: 'A1' }], json: '{"k":{"v":7}}' };
  assert.equal(ev('"Release Date"', row), '2020');
  assert.equal(ev('`Release Date` = 2020', row), true);
  assert.equal(ev('party.short_name.en', row), 'NDP');
  assert.equal(ev('items.0.sku', row), 'A1');
  assert.equal(ev('json.k.v + 1', row), 8, 'JSON text is navigable');
  assert.equal(ev('party.missing.x', row), null);
});

test('expr: array rows resolve columns by index', () => {
  const f = compileExpr('b * 2 + a').bind(arrayResolver(new Map([['a', 0], ['b', 1]])));
  assert.equal(f([1, '3']), 7);
  assert.equal(compileExpr('zzz is null').bind(arrayResolver(new Map()))([1]), true);
});

test('expr: no access to globals or prototypes', () => {
  const row = { a: 1 };
  for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'process', 'globalThis']) {
    assert.equal(ev(`${name} is null`, row), true, name);
    assert.equal(ev(`"${name}"`, row), null, name);
  }
  assert.equal(ev('a.constructor', row), null);
  assert.equal(ev('o.__proto__', { o: {} }), null);
  assert.equal(ev('o.constructor.name', { o: {} }), null);
  // A real column of that name is a column like any other.
  assert.equal(ev('"__proto__"', JSON.parse('{"__proto__": 5}')), 5);
  assert.throws(() => compileExpr('constructor(1)'), /unknown function "constructor"/);
  assert.throws(() => compileExpr("eval('1')"), /unknown function "eval"/);
});

test('expr: syntax errors name the column of the bad token', () => {
  const err = (text: string): ExprError => {
    try {
      compileExpr(text);
    } catch (e) {
      assert.ok(e instanceof ExprError, String(e));
      return e;
    }
    assert.fail(`no error for ${text}`);
  };
  assert.equal(err('total * * 2').col, 9);
  assert.match(err('total * * 2').message, /unexpected "\*".*at column 9/);
  assert.equal(err('lower(name').col, 11);
  assert.match(err('lower(name').message, /end of expression/);
  assert.equal(err('a = 1 b').col, 7);
  assert.equal(err("'open").col, 1);
  assert.match(err("'open").message, /unterminated string/);
  assert.equal(err('a ; b').col, 3);
  assert.match(err('nope(1)').message, /unknown function "nope".*column 1/);
  assert.match(err('round()').message, /round\(\) takes 1 to 2 arguments, got 0/);
  assert.match(err('a < b < c').message, /no second comparison/);
  assert.match(err('x is 3').message, /"null" after "is"/);
  assert.match(err('x in 1').message, /"\(" to start the list/);
});

test('expr: row errors are ExprErrors with a reason', () => {
  assert.throws(() => ev('total * 2', { total: 'abc' }), /^ExprError: operator "\*" expected a number, got 'abc' at column 7$/);
  assert.throws(() => ev('abs(x)', { x: 'abc' }), /^ExprError: abs\(\): expected a number, got 'abc' at column 1$/);
  assert.throws(() => ev('a / b', { a: 1, b: 0 }), /division by zero at column 3/);
  assert.throws(() => ev("a > 'x'", { a: 1 }), /cannot compare 1 with 'x'/);
  assert.throws(() => ev("a and true", { a: 'yes' }), /expected true or false/);
});

test('expr: the language never hands config text to eval or new Function', async () => {
  const { readdirSync, readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { repoRoot } = await import('../helpers.js');
  const dir = join(repoRoot, 'src', 'transforms');
  const files = readdirSync(dir, { recursive: true }).map(String).filter((f) => f.endsWith('.ts'));
  assert.ok(files.length > 10);
  for (const f of files) {
    // Code only: comments may name what the code never does.
    const code = readFileSync(join(dir, f), 'utf8').split('\n').filter((l) => !/^\s*(\/\/|\*|\/\*)/.test(l)).join('\n');
    assert.doesNotMatch(code, /\beval\s*\(|new\s+Function\b|\bFunction\s*\(/, f);
  }
});

test('expr: run_id() is the run the expression is compiled for, the same on every row; null outside a run', () => {
  const tagged = compileExpr("concat(run_id(), '/', id)", { run_id: '20261207T120000Z-abcd1234' }).bind(objectResolver);
  assert.equal(tagged({ id: 1 }), '20261207T120000Z-abcd1234/1');
  assert.equal(tagged({ id: 2 }), '20261207T120000Z-abcd1234/2');
  assert.equal(compileExpr('run_id()').bind(objectResolver)({}), null);
  assert.throws(() => compileExpr('run_id(1)'), /run_id\(\) takes 0 arguments, got 1/);
});
