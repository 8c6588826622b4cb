// Bearer tokens for the HTTP API and the dashboard: `SLUICE_TOKEN` (named `env`, admin), `SLUICE_OPERATOR_TOKEN`
// (named `env-operator`), `SLUICE_READ_TOKEN` (named `env-read`, read-only), or a token file of `name: token [role]`
// lines — no role means admin, so the token files written before roles existed keep every right they had — or one
// bare token, named after the file. Tokens are compared in constant time — both sides hashed first so neither their
// content nor their length leaks through timing — and never logged: the audit trail records the token's name.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { ConfigError } from '../core/errors.js';

/**
 * `read-only`: GET only. `operator`: also everything that runs pipelines (run, rerun, pause/resume, backfill, DLQ
 * replay). `admin`: also what destroys data for good (DLQ purge, erasure) — kept apart because an operator's mistake
 * can be undone by running again, an admin's cannot.
 */
export const ROLES = ['read-only', 'operator', 'admin'] as const;
export type Role = typeof ROLES[number];

/** Whether `role` may do what `needed` may: each role can do all the ones before it. */
export const allows = (role: Role, needed: Role): boolean => ROLES.indexOf(role) >= ROLES.indexOf(needed);

export interface Token {
  name: string;
  digest: Buffer;
  role: Role;
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

const LINE = /^([A-Za-z0-9_.@-]+)\s*:\s*(\S+)(?:\s+(\S+))?$/;

export function loadTokens(opts: { env?: NodeJS.ProcessEnv; file?: string }): Token[] {
  const tokens: Token[] = [];
  const env = opts.env ?? process.env;
  if (env.SLUICE_TOKEN) tokens.push({ name: 'env', digest: digest(env.SLUICE_TOKEN.trim()), role: 'admin' });
  if (env.SLUICE_OPERATOR_TOKEN) tokens.push({ name: 'env-operator', digest: digest(env.SLUICE_OPERATOR_TOKEN.trim()), role: 'operator' });
  if (env.SLUICE_READ_TOKEN) tokens.push({ name: 'env-read', digest: digest(env.SLUICE_READ_TOKEN.trim()), role: 'read-only' });
  if (opts.file) {
    let text: string;
    try {
      text = readFileSync(opts.file, 'utf8');
    } catch {
      throw new ConfigError('cannot read the token file', { file: opts.file, expected: 'a file of `name: token [role]` lines, or one token' });
    }
    for (const [i, raw] of text.split('\n').entries()) {
      const line = raw.trim();
      if (!line || line.startsWith('#')) continue;
      const m = LINE.exec(line);
      if (!m) {
        tokens.push({ name: basename(opts.file), digest: digest(line), role: 'admin' });
        continue;
      }
      const role = m[3] ?? 'admin';
      // A typo in a role must not fall back to admin (or anything else): refuse to start.
      if (!(ROLES as readonly string[]).includes(role)) {
        throw new ConfigError(`token "${m[1]}" has an unknown role "${role}"`, { file: opts.file, line: i + 1, expected: ROLES.join(', ') });
      }
      tokens.push({ name: m[1], digest: digest(m[2]), role: role as Role });
    }
  }
  for (const t of tokens) {
    if (t.digest.equals(digest(''))) throw new ConfigError('an API token is empty', { expected: 'a token of at least 16 characters' });
  }
  if (tokens.length === 0) {
    throw new ConfigError('the HTTP API needs a token: set SLUICE_TOKEN or pass --token-file', {
      expected: 'SLUICE_TOKEN (or SLUICE_OPERATOR_TOKEN, SLUICE_READ_TOKEN) or --token-file',
    });
  }
  return tokens;
}

/** The token presented in an `Authorization: Bearer …` header, or undefined. Checks every token, always. */
export function authenticate(header: string | undefined, tokens: Token[]): Token | undefined {
  const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return m ? findToken(m[1], tokens) : undefined;
}

/** The token whose value is `presented` (the dashboard's cookie, its login form), or undefined. */
export function findToken(presented: string, tokens: Token[]): Token | undefined {
  const d = digest(presented);
  let found: Token | undefined;
  for (const t of tokens) if (timingSafeEqual(d, t.digest) && presented) found ??= t;
  return found;
}
