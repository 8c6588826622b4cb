// Bearer tokens for the HTTP API: `SLUICE_TOKEN` (named `env`) or a token file of `name: token` lines (or one bare
// token, named after the file). Tokens are compared in constant time — both sides hashed first so neither their
// content nor their length leaks through timing — and never logged: the audit trail records the token's name.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { ConfigError } from '../core/errors.js';

export interface Token {
  name: string;
  digest: Buffer;
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

export function loadTokens(opts: { env?: NodeJS.ProcessEnv; file?: string }): Token[] {
  const tokens: Token[] = [];
  const fromEnv = (opts.env ?? process.env).SLUICE_TOKEN;
  if (fromEnv) tokens.push({ name: 'env', digest: digest(fromEnv.trim()) });
  if (opts.file) {
    let text: string;
    try {
      text = readFileSync(opts.file, 'utf8');
    } catch {
      throw new ConfigError('cannot read the token file', { file: opts.file, expected: 'a file of `name: token` lines, or one token' });
    }
    const lines = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    for (const line of lines) {
      const m = /^([A-Za-z0-9_.@-]+)\s*:\s*(\S+)$/.exec(line);
      tokens.push(m ? { name: m[1], digest: digest(m[2]) } : { name: basename(opts.file), digest: digest(line) });
    }
  }
  for (const t of tokens) {
    if (t.digest.equals(digest(''))) throw new ConfigError('an API token is empty', { expected: 'a token of at least 16 characters' });
  }
  if (tokens.length === 0) {
    throw new ConfigError('the HTTP API needs a token: set SLUICE_TOKEN or pass --token-file', { expected: 'SLUICE_TOKEN or --token-file' });
  }
  return tokens;
}

/** The name of the token presented in an `Authorization: Bearer …` header, or undefined. Checks every token, always. */
export function authenticate(header: string | undefined, tokens: Token[]): string | undefined {
  const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  const presented = digest(m?.[1] ?? '');
  let found: string | undefined;
  for (const t of tokens) if (timingSafeEqual(presented, t.digest) && m) found ??= t.name;
  return found;
}
