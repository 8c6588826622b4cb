// Connection URLs of the SQL connectors (`mysql://user:password@host:3306/db`, `postgres://…`): their parts as
// fields, and the password registered as a secret the moment a config is read, so it is masked in every log line,
// error, ledger entry and `--json` summary that might quote it.
import { registerSecret } from '../../core/redact.js';

export interface UrlParts {
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
  /** Query parameters (`?ssl=true`), for connector-specific options. */
  params: URLSearchParams;
}

/** Parts of a URL; undefined when it does not parse (the driver will say why; redact() still masks it). */
export function parseConnectionUrl(url: string): UrlParts | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  const dec = (s: string): string | undefined => (s ? decodeURIComponent(s) : undefined);
  return {
    host: dec(u.hostname),
    port: u.port ? Number(u.port) : undefined,
    user: dec(u.username),
    password: dec(u.password),
    database: dec(u.pathname.replace(/^\//, '')),
    params: u.searchParams,
  };
}

/** Register the password field and the URL's password as secrets. */
export function registerPasswords(c: { url?: string; password?: string }): void {
  registerSecret(c.password);
  if (c.url) registerSecret(parseConnectionUrl(c.url)?.password);
}
