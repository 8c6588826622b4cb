import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isJsonText } from '../../src/core/values/json-check.js';
import { coercerFor, FAIL } from '../../src/core/values/coerce.js';

const parses = (s: string): boolean => {
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
};

test('isJsonText agrees with JSON.parse on valid and invalid documents', () => {
  const valid = [
    '{}', '[]', '{"k":1}', ' { "a" : [ 1 , -2.5e+3 , 0 , 0.0 , 1E5 , true , false , null , "x" ] } ', '"\\u00e9\\n\\"\\\\\\/"',
    '[[[[[]]]]]', '{"a":{"b":{"c":[{}]}}}', '0', '-0', '123', 'true', 'null', '"é 🎉 \u2028"', '\t\r\n[1]\n', '{"":""}',
    '[1e-7,-0.5,10E+2]', '{"dup":1,"dup":2}',
  ];
  const invalid = [
    '', ' ', '{', '}', '[', ']', '{"k":1', '{"k":1}}', '[1,]', '[,1]', '{"k":1,}', '{k:1}', "{'k':1}", '{"k" 1}', '{"k":}',
    '[01]', '[1.]', '[.5]', '[+1]', '[1e]', '[1e+]', '[-]', '[--1]', '[0x10]', '[NaN]', '[Infinity]', '[tru]', '[nul]',
    '[true false]', '"\\x41"', '"\\u12G4"', '"\\u123"', '"a\nb"', '"a\tb"', '"unterminated', '[1] [2]', '{"a":1}x',
    '\u00a0{}', '{}\u00a0', '[1,2', '{"a":[1,{"b":2]}', '[}', '{]', '{"a" "b"}', '{"a":1 "b":2}',
  ];
  for (const s of [...valid, ...invalid]) assert.equal(isJsonText(s), parses(s), JSON.stringify(s));
});

test('isJsonText agrees with JSON.parse on random mutations of JSON text', () => {
  const seeds = ['{"a":[1,2.5,-3e2,{"b":null,"c":"x\\"y"}],"d":true}', '[{"k":"v"},[],{},[0,false]]'];
  const alphabet = '{}[]",:.-+eE0123456789 \\untrfalse\n\t';
  let seed = 42;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  for (let k = 0; k < 20000; k++) {
    let s = seeds[k % seeds.length];
    for (let m = 1 + rand(3); m > 0; m--) {
      const at = rand(s.length + 1);
      const op = rand(3);
      const ch = alphabet[rand(alphabet.length)];
      s = op === 0 ? s.slice(0, at) + ch + s.slice(at) : op === 1 ? s.slice(0, at) + s.slice(at + 1) : s.slice(0, at) + ch + s.slice(at + 1);
    }
    assert.equal(isJsonText(s), parses(s), JSON.stringify(s));
  }
});

test('json coercion: JSON text is kept as written, broken JSON fails, other text becomes a JSON string', () => {
  const json = coercerFor('json');
  assert.equal(json('{"k":1}'), '{"k":1}');
  assert.equal(json(' [1, 2]'), ' [1, 2]');
  assert.equal(json('{"k":'), FAIL);
  assert.equal(json('\u00a0{"k":'), FAIL);
  assert.equal(json('plain'), '"plain"');
  assert.equal(json(null), null);
});
