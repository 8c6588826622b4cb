// Encryption at rest of what the control store keeps of rows: dead-letter payloads and their reasons.
//
// Personal data (draft, first slice of "privacy by design"). A stream may tag source columns as personal data
// (`pii: [email, phone]`). What is protected today:
// - with a key (SLUICE_ENCRYPTION_KEY, or SLUICE_ENCRYPTION_KEY_FILE), every dead-letter payload and reason is stored
//   encrypted (AES-256-GCM) in the control store, SQLite or PostgreSQL, and decrypted only when read (`sluice dlq`,
//   replay, the HTTP API). Keys rotate: SLUICE_ENCRYPTION_OLD_KEYS lists keys still tried for decryption; new entries
//   use the current key. An entry whose key is gone is listed as undecryptable, never replayed;
// - without a key, the tagged values of a rejected row are masked in its DLQ entry (core/pii.ts), and a payload in
//   which they cannot be located (a CSV line that did not parse) is withheld, with the quoted parts of its reason;
//   child tables of `flatten` mask keys named like the parent's tags;
// - tagged values of rejected rows are registered with the redactor (core/redact.ts), so later log lines, error
//   messages, alerts and run records that quote them print `***` instead.
// Not yet: a tagged value of a row that was never rejected and that an error message quotes (a destination's
// refusal) is not known to the redactor, nor is a value shorter than 4 characters; tags name source columns, so a
// tagged column renamed by a transform is not masked in entries of later stages unless it keeps its name; entries
// stored before a key was set stay plain, and rotation re-encrypts nothing (no re-key command yet); the DLQ's
// de-duplication key is a SHA-1 of the plain payload (so dedupe survives rotation); the destination holds the data in
// clear. Erasure (forget a subject), retention periods and roles allowed to read personal data are later slices.
//
// Envelope: `sluice:enc:v1:<keyId>:<base64(iv | tag | ciphertext)>`, keyId = the first 8 hex digits of sha256(key),
// a 12-byte random IV, a 16-byte GCM tag.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from './errors.js';
import { registerSecret } from './redact.js';

export const SEALED_PREFIX = 'sluice:enc:v1:';
const KEY_FORMS = '32 bytes as 64 hex digits or as base64';

export interface AtRestKey { id: string; key: Buffer }
export interface AtRestKeys {
  /** Encrypts new payloads. */
  current: AtRestKey;
  /** Every key that may decrypt, by id: the current one and the old ones. */
  byId: Map<string, AtRestKey>;
}

const keyId = (key: Buffer): string => createHash('sha256').update(key).digest('hex').slice(0, 8);

/** A key from its text (64 hex digits, or base64 of 32 bytes); the message names `variable`, never the value. */
export function parseKey(text: string, variable: string): AtRestKey {
  const t = text.trim();
  let key: Buffer | undefined;
  if (/^[0-9a-f]{64}$/i.test(t)) key = Buffer.from(t, 'hex');
  else if (/^[A-Za-z0-9+/]+={0,2}$/.test(t) || /^[A-Za-z0-9_-]+={0,2}$/.test(t)) {
    const b = Buffer.from(t, t.includes('-') || t.includes('_') ? 'base64url' : 'base64');
    if (b.length === 32) key = b;
  }
  if (!key) throw new ConfigError(`${variable}: not a valid encryption key; expected ${KEY_FORMS}`, { expected: KEY_FORMS });
  registerSecret(t);
  registerSecret(key.toString('hex'));
  registerSecret(key.toString('base64'));
  return { id: keyId(key), key };
}

/** The keys configured in `env`, or null when none is; throws ConfigError (exit 2) on a bad value or file. */
export function loadAtRestKeys(env: NodeJS.ProcessEnv = process.env): AtRestKeys | null {
  const inline = env.SLUICE_ENCRYPTION_KEY?.trim();
  const file = env.SLUICE_ENCRYPTION_KEY_FILE?.trim();
  const old = (env.SLUICE_ENCRYPTION_OLD_KEYS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (inline && file) throw new ConfigError('SLUICE_ENCRYPTION_KEY and SLUICE_ENCRYPTION_KEY_FILE are both set: set one');
  let current: AtRestKey | undefined;
  if (inline) current = parseKey(inline, 'SLUICE_ENCRYPTION_KEY');
  else if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new ConfigError(`SLUICE_ENCRYPTION_KEY_FILE: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    current = parseKey(text, `SLUICE_ENCRYPTION_KEY_FILE (${file})`);
  }
  const olds = old.map((o, i) => parseKey(o, `SLUICE_ENCRYPTION_OLD_KEYS (entry ${i + 1})`));
  if (!current) {
    if (olds.length) throw new ConfigError('SLUICE_ENCRYPTION_OLD_KEYS is set without SLUICE_ENCRYPTION_KEY: old keys only decrypt, set the current key too');
    return null;
  }
  const byId = new Map<string, AtRestKey>();
  for (const k of [current, ...olds]) if (!byId.has(k.id)) byId.set(k.id, k);
  return { current, byId };
}

let cached: { keys: AtRestKeys | null } | undefined;

/** This process's keys, read from the environment once. */
export function atRestKeys(): AtRestKeys | null {
  cached ??= { keys: loadAtRestKeys() };
  return cached.keys;
}

/** Forget the keys read (tests that change the environment). */
export const resetAtRestKeys = (): void => {
  cached = undefined;
};

export const isSealed = (text: string): boolean => text.startsWith(SEALED_PREFIX);

/** `text` encrypted with the current key; unchanged when no key is configured. */
export function seal(text: string, keys: AtRestKeys | null = atRestKeys()): string {
  if (!keys) return text;
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keys.current.key, iv);
  const body = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
  return `${SEALED_PREFIX}${keys.current.id}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
}

/** Why a sealed text could not be opened. */
export class UnsealError extends Error {
  override name = 'UnsealError';
}

/** `text` decrypted; text that is not an envelope is returned as is. Throws UnsealError without the key or on tampering. */
export function unseal(text: string, keys: AtRestKeys | null = atRestKeys()): string {
  if (!isSealed(text)) return text;
  const rest = text.slice(SEALED_PREFIX.length);
  const colon = rest.indexOf(':');
  const id = rest.slice(0, colon);
  const key = keys?.byId.get(id);
  if (colon < 0 || !key) {
    throw new UnsealError(`encrypted with key ${id || '?'}, which is not configured: cannot decrypt ` +
      '(set SLUICE_ENCRYPTION_KEY, or list the old key in SLUICE_ENCRYPTION_OLD_KEYS)');
  }
  const bytes = Buffer.from(rest.slice(colon + 1), 'base64');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.key, bytes.subarray(0, 12));
    decipher.setAuthTag(bytes.subarray(12, 28));
    return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString('utf8');
  } catch {
    throw new UnsealError(`encrypted with key ${id}: cannot decrypt (the payload is damaged or was altered)`);
  }
}
