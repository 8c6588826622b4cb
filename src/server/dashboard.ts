// The web dashboard's own routes: its page and bundled assets (dist/dashboard, built by scripts/build-dashboard.js;
// nothing loads from elsewhere), and the login that turns a token into the session cookie (./session.ts). The page
// itself holds no data: it asks the API, which answers 401 without a token — the page then shows its login form.
import { readFileSync } from 'node:fs';
import type { Context, Hono } from 'hono';
import { endSession, sameOrigin, startSession } from './session.js';
import { findToken, type Token } from './tokens.js';

/** Next to dist/src/server/ and dist/bundle/cli/ alike (both two levels under dist/). */
const DIR = new URL('../../dashboard/', import.meta.url);

const ASSETS: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};

/** The page runs only its own script and style: an injected `<script>` in data could not run even if it were markup. */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/** A failed login answers after this long, whatever the reason: guessing tokens over HTTP is slow. */
const FAILED_LOGIN_MS = 300;

function loadAssets(): Map<string, Buffer> | undefined {
  try {
    return new Map(Object.keys(ASSETS).map((name) => [name, readFileSync(new URL(name, DIR))]));
  } catch {
    return undefined;
  }
}

async function presentedToken(c: Context): Promise<string | undefined> {
  const type = c.req.header('content-type') ?? '';
  if (type.includes('application/json')) {
    const body = await c.req.json().catch(() => undefined) as { token?: unknown } | undefined;
    return typeof body?.token === 'string' ? body.token.trim() : undefined;
  }
  const form = await c.req.parseBody().catch(() => undefined);
  return typeof form?.token === 'string' ? form.token.trim() : undefined;
}

export function mountDashboard(app: Hono<any>, tokens: Token[]): void {
  const assets = loadAssets();
  const send = (c: Context, name: string) => {
    const body = assets?.get(name);
    if (!body) return c.text('The dashboard is not built: run `npm run build`.', 503);
    return c.body(new Uint8Array(body), 200, {
      'content-type': ASSETS[name],
      'cache-control': name === 'index.html' ? 'no-cache' : 'public, max-age=300',
      ...(name === 'index.html' ? { 'content-security-policy': CSP } : {}),
    });
  };
  app.use('*', async (c, next) => {
    await next();
    c.header('x-content-type-options', 'nosniff');
    c.header('x-frame-options', 'DENY');
    c.header('referrer-policy', 'no-referrer');
    if (c.req.path.startsWith('/api/')) c.header('cache-control', 'no-store');
  });
  app.get('/', (c) => send(c, 'index.html'));
  app.get('/assets/:name', (c) => {
    const name = c.req.param('name');
    return name === 'index.html' || !Object.hasOwn(ASSETS, name) ? c.notFound() : send(c, name);
  });
  app.post('/login', async (c) => {
    if (!sameOrigin(c)) return c.json({ error: 'forbidden: the request comes from another origin' }, 403);
    const presented = await presentedToken(c);
    const token = presented ? findToken(presented, tokens) : undefined;
    if (!token || !presented) {
      await new Promise((r) => setTimeout(r, FAILED_LOGIN_MS));
      return c.json({ error: 'unauthorized: that token is not valid' }, 401);
    }
    startSession(c, presented);
    return c.body(null, 204);
  });
  app.post('/logout', (c) => {
    endSession(c);
    return c.body(null, 204);
  });
}
