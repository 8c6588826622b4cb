// `hash: { columns: [email], salt: "${PII_SALT}" }`: pseudonymise with HMAC-SHA256 under a secret salt. The same
// value always gives the same hash (joins and distinct counts survive), and without the salt a hash cannot be
// reversed by hashing guesses. The salt is registered as a secret: it never appears in logs or errors.
import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { registerSecret } from '../../core/redact.js';
import { columnList, defineStep, keyText, mapValues, type Columns } from '../step.js';

const options = z.strictObject({
  columns: columnList('hash'),
  salt: z.string().min(8).describe('Secret key of the HMAC (at least 8 characters); use `${ENV_VAR}`. Changing it changes every hash.'),
  encoding: z.enum(['hex', 'base64url']).default('hex').describe('Text form of the 32-byte digest.'),
});

export const hashStep = defineStep<{ columns: Columns; salt: string; encoding: 'hex' | 'base64url' }>({
  kind: 'hash',
  description: 'Replace values with a deterministic salted HMAC-SHA256 (pseudonymisation that keeps joins working).',
  options,
  compile(o) {
    registerSecret(o.salt);
    const owner = {};
    return {
      apply(frame) {
        mapValues(frame, owner, o.columns, (v) => createHmac('sha256', o.salt).update(keyText(v)).digest(o.encoding));
        return frame;
      },
      types(declared) {
        if (o.columns === '*') declared.clear();
        else for (const c of o.columns) declared.delete(c);
      },
    };
  },
});
