// Bearer tokens for the HTTP API and the dashboard: `SLUICE_TOKEN` (named `env`), `SLUICE_READ_TOKEN` (named
// `env-read`, read-only), or a token file of `name: token` lines — `name: token read-only` for a token that can look
// but not act — or one bare token, named after the file. Tokens are compared in constant time — both sides hashed
// first so neither their content nor their length leaks through timing — and never logged: the audit trail records
// the token's name.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { ConfigError } from '../core/errors.js';

/** `act`: everything; `read`: GET only (a read-only token can look but not act). */
export type Role = 'act' | 'read';

export interface Token {
  name: string;
  digest: Buffer;
  role: Role;
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

export function loadTokens(opts: { env?: NodeJS.ProcessEnv; file?: string }): Token[] {
  const tokens: Token[] = [];
  const env = opts.env ?? process.env;
  if (env.SLUICE_TOKEN) tokens.push({ name: 'env', digest: digest(env.SLUICE_TOKEN.trim()), role: 'act' });
  if (env.SLUICE_READ_TOKEN) tokens.push({ name: 'env-read', digest: digest(env.SLUICE_READ_TOKEN.trim()), role: 'read' });
  if (opts.file) {
    let text: string;
    try {
      text = readFileSync(opts.file, 'utf8');
    } catch {
      throw new ConfigError('cannot read the token file', { file: opts.file, expected: 'a file of `name: token` lines, or one token' });
    }
    const lines = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    for (const line of lines) {
      const m = /^([A-Za-z0-9_.@-]+)\s*:\s*(\S+)(\s+read-only)?$/.exec(line);
      tokens.push(m ? { name: m[1], digest: digest(m[2]), role: m[3] ? 'read' : 'act' } : { name: basename(opts.file), digest: digest(line), role: 'act' });
    }
  }
  for (const t of tokens) {
    if (t.digest.equals(digest(''))) throw new ConfigError('an API token is empty', { expected: 'a token of at least 16 characters' });
  }
  if (tokens.length === 0) {
    throw new ConfigError('the HTTP API needs a token: set SLUICE_TOKEN or pass --token-file', { expected: 'SLUICE_TOKEN (or SLUICE_READ_TOKEN) or --token-file' });
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
