// The at-rest envelope (AES-256-GCM, key ids, rotation, bad keys) and the masking of `pii` values in DLQ payloads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SEALED_PREFIX, UnsealError, isSealed, loadAtRestKeys, seal, unseal } from '../../src/core/at-rest.js';
import { ConfigError } from '../../src/core/errors.js';
import { PII_MASK, PII_WITHHELD, isMaskedPayload, maskPayload, maskQuoted, maskValues, taggedValues } from '../../src/core/pii.js';
import { tempDir } from '../helpers.js';

const hexKey = () => randomBytes(32).toString('hex');

test('a sealed text opens with its key, names the key id, and differs every time', () => {
  const key = hexKey();
  const keys = loadAtRestKeys({ SLUICE_ENCRYPTION_KEY: key })!;
  assert.match(keys.current.id, /^[0-9a-f]{8}$/);
  const a = seal('{"email":"ann@example.com"}', keys);
  const b = seal('{"email":"ann@example.com"}', keys);
  assert.ok(isSealed(a) && a.startsWith(`${SEALED_PREFIX}${keys.current.id}:`));
  assert.notEqual(a, b, 'a random IV per payload');
  assert.ok(!a.includes('ann@example.com'));
  assert.equal(unseal(a, keys), '{"email":"ann@example.com"}');
  assert.equal(unseal('plain text', keys), 'plain text', 'text that is not an envelope passes');
  assert.equal(seal('x', null), 'x', 'no key: unchanged');
});

test('the same key as base64 or in a key file has the same id; a tampered payload is refused', () => {
  const { dir, cleanup } = tempDir();
  try {
    const raw = randomBytes(32);
    const hex = loadAtRestKeys({ SLUICE_ENCRYPTION_KEY: raw.toString('hex') })!;
    const b64 = loadAtRestKeys({ SLUICE_ENCRYPTION_KEY: raw.toString('base64') })!;
    writeFileSync(join(dir, 'key'), raw.toString('base64') + '\n');
    const file = loadAtRestKeys({ SLUICE_ENCRYPTION_KEY_FILE: join(dir, 'key') })!;
    assert.equal(hex.current.id, b64.current.id);
    assert.equal(file.current.id, hex.current.id);
    const sealed = seal('secret payload', hex);
    assert.equal(unseal(sealed, file), 'secret payload');
    const body = Buffer.from(sealed.slice(sealed.lastIndexOf(':') + 1), 'base64');
    body[body.length - 1] ^= 1;
    const tampered = sealed.slice(0, sealed.lastIndexOf(':') + 1) + body.toString('base64');
    assert.throws(() => unseal(tampered, hex), (e: unknown) => e instanceof UnsealError && /damaged or was altered/.test(e.message));
  } finally {
    cleanup();
  }
});

test('rotation: old keys decrypt, the current one encrypts; a missing key is an UnsealError naming its id', () => {
  const k1 = hexKey();
  const k2 = hexKey();
  const first = loadAtRestKeys({ SLUICE_ENCRYPTION_KEY: k1 })!;
  const old = seal('from key one', first);
  const rotated = loadAtRestKeys({ SLUICE_ENCRYPTION_KEY: k2, SLUICE_ENCRYPTION_OLD_KEYS: ` ${k1} ` })!;
  assert.equal(unseal(old, rotated), 'from key one');
  assert.ok(seal('new', rotated).includes(`:${rotated.current.id}:`));
  const without = loadAtRestKeys({ SLUICE_ENCRYPTION_KEY: k2 })!;
  assert.throws(() => unseal(old, without), (e: unknown) => e instanceof UnsealError && e.message.includes(first.current.id) && /cannot decrypt/.test(e.message));
  assert.throws(() => unseal(old, null), UnsealError);
});

test('a bad key is a ConfigError naming the variable, never the value', () => {
  const cases: [NodeJS.ProcessEnv, RegExp][] = [
    [{ SLUICE_ENCRYPTION_KEY: 'not-a-key-at-all' }, /^SLUICE_ENCRYPTION_KEY: not a valid encryption key/],
    [{ SLUICE_ENCRYPTION_KEY: randomBytes(16).toString('hex') }, /^SLUICE_ENCRYPTION_KEY:/],
    [{ SLUICE_ENCRYPTION_KEY: hexKey(), SLUICE_ENCRYPTION_OLD_KEYS: 'short' }, /^SLUICE_ENCRYPTION_OLD_KEYS \(entry 1\)/],
    [{ SLUICE_ENCRYPTION_KEY_FILE: '/nonexistent/key' }, /^SLUICE_ENCRYPTION_KEY_FILE: cannot read/],
    [{ SLUICE_ENCRYPTION_OLD_KEYS: hexKey() }, /without SLUICE_ENCRYPTION_KEY/],
  ];
  for (const [env, message] of cases) {
    assert.throws(() => loadAtRestKeys(env), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, message);
      for (const v of Object.values(env)) if (!v!.startsWith('/')) assert.ok(!e.message.includes(v!), 'the value is not printed');
      return true;
    });
  }
  assert.equal(loadAtRestKeys({}), null);
});

test('pii values: JSON payloads masked by key, other payloads withheld, reasons masked', () => {
  const raw = JSON.stringify({ id: 2, email: 'ann@example.com', phone: null, age: 999 });
  assert.deepEqual(taggedValues(raw, ['email', 'phone']), ['ann@example.com']);
  const masked = maskPayload(raw, ['email', 'phone']);
  assert.deepEqual(JSON.parse(masked), { id: 2, email: PII_MASK, phone: null, age: 999 });
  assert.ok(isMaskedPayload(masked, ['email']));
  assert.ok(!isMaskedPayload(raw, ['email']));
  assert.equal(maskPayload('2,ann@example.com,999,extra', ['email']), PII_WITHHELD);
  assert.equal(maskValues('email "ann@example.com" is not valid', ['ann@example.com']), `email "${PII_MASK}" is not valid`);
  assert.equal(maskQuoted(`Unexpected token 'b', "{bob@x.net" is not valid JSON`), `Unexpected token "${PII_MASK}", "${PII_MASK}" is not valid JSON`);
  const long = 'x'.repeat(100) + '@example.com';
  assert.ok(!maskValues(`value "${long.slice(0, 77)}..." too long`, [long]).includes('xxxxx'), 'the abbreviated form too');
});
