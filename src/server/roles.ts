// Refusing a request for want of a role, and recording that it was refused: who tried (the token's name), what
// (method and path — never the query or body, which may carry the very values an erasure request is about) and which
// role it needed. Only authenticated requests are recorded: a 401 has no actor, and anyone on the network could fill
// the hash-chained trail with them.
import type { Context } from 'hono';
import type { ControlStore } from '../control/control-store.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { redact } from '../core/redact.js';
import { isSafe, refusal, type Refusal, type Session } from './session.js';
import type { Role } from './tokens.js';

export type Deny = (c: Context, session: Session, r: Refusal) => Promise<Response>;

export type ApiEnv = { Variables: { actor: string; session: Session; deny: Deny } };

/**
 * What destroys data for good, and so needs admin. Decided before the route runs, so that a read-only token is told
 * the role it really lacks (admin, not operator).
 */
const ADMIN_ROUTES: [method: string, path: RegExp][] = [
  ['DELETE', /^\/api\/dlq\/?$/],
  ['POST', /^\/api\/pipelines\/[^/]+\/erase\/?$/],
];

/** The role a request needs: any token to look, an operator's to change anything, an admin's for ADMIN_ROUTES. */
export function neededFor(c: Context): Role {
  if (isSafe(c.req.method)) return 'read-only';
  return ADMIN_ROUTES.some(([m, p]) => m === c.req.method && p.test(c.req.path)) ? 'admin' : 'operator';
}

/** The pipeline a request is about, when its path or `?pipeline=` says so: the trail is read per pipeline. */
function pipelineOf(c: Context): string | undefined {
  const m = /^\/api\/(?:pipelines|syncs)\/([^/]+)/.exec(c.req.path);
  const name = m ? decodeURIComponent(m[1]) : c.req.query('pipeline');
  return name && /^[A-Za-z0-9_.-]{1,200}$/.test(name) ? name : undefined;
}

export function denier(store: ControlStore, logger: Logger): Deny {
  return async (c, session, r) => {
    try {
      const pipeline = pipelineOf(c);
      await store.appendAudit({
        actor: `token:${session.token.name}`, action: 'access.denied', ...(pipeline ? { pipeline } : {}),
        detail: { method: c.req.method, path: c.req.path, role: session.token.role, needed: r.needed, reason: r.reason },
      });
    } catch (e) {
      // The refusal stands whether or not it could be written down: a store outage must not turn a 403 into a 500.
      logger.error({ err: redact(errorMessage(e)), path: c.req.path }, 'could not audit a refused request');
    }
    return c.json({ error: r.error }, 403);
  };
}

/**
 * For a route that needs more than its method implies: the 403 to return, audited, or undefined when the session's
 * role suffices. ADMIN_ROUTES already refuses before the route runs; calling this in the route as well keeps it safe
 * should the route's path and the table ever drift apart:
 * `const denied = await needsRole(c, c.get('session'), 'admin'); if (denied) return denied;`
 */
export async function needsRole(c: Context<ApiEnv>, session: Session, role: Role): Promise<Response | undefined> {
  const r = refusal(c, session, role);
  return r ? c.get('deny')(c, session, r) : undefined;
}
