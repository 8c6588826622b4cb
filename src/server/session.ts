// Who is asking: a bearer token in the `Authorization` header (scripts), or the dashboard's cookie — the token itself,
// `HttpOnly` (no script on the page can read it) and `SameSite=Strict` (no other site's page sends it). A request that
// changes something on the strength of the cookie must also carry the session's CSRF token in `x-csrf-token` and, when
// the browser says where it comes from (`Origin`), come from this server's own origin: a page elsewhere can make the
// browser send the cookie, but can neither read the CSRF token nor forge its origin.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { allows, authenticate, findToken, type Role, type Token } from './tokens.js';

const COOKIE = 'sluice_token';
/** How long a dashboard login lasts. */
const SESSION_S = 12 * 3600;

export interface Session {
  token: Token;
  via: 'header' | 'cookie';
  /** What the page sends back in `x-csrf-token` (derived from the token: no server-side state, any serve process). */
  csrf: string;
}

/** A value only the token's holder can compute: its digest, hashed again under a label of its own. */
const csrfFor = (t: Token): string => createHash('sha256').update('sluice-csrf\0').update(t.digest).digest('base64url');

export function sessionOf(c: Context, tokens: Token[]): Session | undefined {
  const header = c.req.header('authorization');
  if (header) {
    const token = authenticate(header, tokens);
    return token ? { token, via: 'header', csrf: csrfFor(token) } : undefined;
  }
  const cookie = getCookie(c, COOKIE);
  const token = cookie ? findToken(cookie, tokens) : undefined;
  return token ? { token, via: 'cookie', csrf: csrfFor(token) } : undefined;
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

export const isSafe = (method: string): boolean => SAFE.has(method);

export interface Refusal {
  error: string;
  /** For the audit trail: the role was too low, or a cookie request lacked its CSRF token or came from elsewhere. */
  reason: 'role' | 'csrf' | 'origin';
  needed: Role;
}

const roleError = (c: Context, t: Token, needed: Role): string =>
  `forbidden: token "${t.name}" has the ${t.role} role; ${c.req.method} ${c.req.path} needs ${needed}`;

/** Why a request may not do what it asks (role, CSRF, origin), or undefined when it may. */
export function refusal(c: Context, s: Session, needed: Role): Refusal | undefined {
  if (!allows(s.token.role, needed)) return { error: roleError(c, s.token, needed), reason: 'role', needed };
  if (SAFE.has(c.req.method) || s.via === 'header') return undefined;
  if (!sameOrigin(c)) return { error: 'forbidden: the request comes from another origin', reason: 'origin', needed };
  const sent = Buffer.from(c.req.header('x-csrf-token') ?? '');
  const expected = Buffer.from(s.csrf);
  if (sent.length !== expected.length || !timingSafeEqual(sent, expected)) {
    return { error: 'forbidden: missing or wrong x-csrf-token (reload the page)', reason: 'csrf', needed };
  }
  return undefined;
}

/** No `Origin` (not a browser's cross-site request) or the one this request was addressed to. */
export function sameOrigin(c: Context): boolean {
  const origin = c.req.header('origin');
  if (!origin) return true;
  try {
    return new URL(origin).host === c.req.header('host');
  } catch {
    return false;
  }
}

export function startSession(c: Context, presented: string): void {
  setCookie(c, COOKIE, presented, {
    httpOnly: true, sameSite: 'Strict', path: '/', maxAge: SESSION_S,
    // Behind a TLS-terminating proxy the cookie is for https only.
    secure: c.req.header('x-forwarded-proto') === 'https' || new URL(c.req.url).protocol === 'https:',
  });
}

export const endSession = (c: Context): void => { deleteCookie(c, COOKIE, { path: '/' }); };
